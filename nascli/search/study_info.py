"""What a nascli study tells Optuna's own tools (optuna-dashboard, ``optuna.visualization``).

* study user attributes: nascli version, space, algorithm, budgets, proxy settings, seed;
* metric names: the proxy's name, then each further objective (``latency@cpu``, ``macs``);
* every trial's architecture as Optuna params *with distributions*, also for the evolution,
  whose candidates come from mutation rather than ``trial.suggest_*``: the values are
  replayed against the space's own ``suggest`` distributions, so importance and
  parallel-coordinate plots cover every algorithm alike;
* flat trial user attributes (``macs``, ``n_params``, ``latency_ms@cpu``, ``score.zico``...)
  beside the one structured ``nascli`` attribute the driver reads back.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from nascli.arch import Arch

ATTR = "nascli"  # one user attribute per trial holds everything nascli records

_FLAT_RENAMES = {"arch": "arch", "macs": "macs", "params": "n_params", "layers": "layers",
                 "origin": "origin", "cached": "cached", "proxy_seconds": "proxy_seconds",
                 "error": "error", "rejected": "rejected_before"}  # fmt: skip


def describe_study(study: optuna.Study, driver: Any) -> None:
    """Study attributes and metric names (idempotent: a resumed run writes the same values)."""
    from nascli import __version__

    config = driver.config
    attrs: dict[str, Any] = {
        "nascli_version": __version__,
        "space": config.space,
        "algo": config.algo,
        "budgets": list(config.budgets),
        "proxy": config.proxy,
        "proxy_components": list(driver.proxy_names),
        "proxy_resolution": driver.resolution,
        "proxy_batch_size": config.batch_size,
        "proxy_batches": config.batches,
        "proxy_data": driver.data.description,
        "seed": config.seed,
        "population": config.population,
        "fingerprint": config.fingerprint(),
    }
    for key, value in attrs.items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    names = metric_names(driver)
    if study.metric_names != names:
        import warnings

        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)


def metric_names(driver: Any) -> list[str]:
    """``[proxy, *objectives]``: the proxy by its name (``zico``, ``zico+naswot``)."""
    return [driver.config.proxy if o.name == "proxy" else o.name for o in driver.objectives]


def set_info(trial: optuna.Trial, info: dict[str, Any]) -> None:
    """Store the driver's record and its flat, dashboard-friendly copy on a running trial."""
    trial.set_user_attr(ATTR, info)
    for key, value in flat_attrs(info).items():
        trial.set_user_attr(key, value)


def claim_arch(trial: optuna.Trial, info: dict[str, Any]) -> bool:
    """Record ``info["arch"]`` on the running trial before it is scored; False (and the
    trial's record says ``duplicate_of_running``) when another RUNNING trial holds it.

    The record is what other workers' proposers read as "seen". Two workers that read the
    study before either wrote can still pick the same net; both are then scored, and the
    outputs keep one row per architecture.
    """
    import optuna

    running = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    if any(
        t.number != trial.number and t.user_attrs.get(ATTR, {}).get("arch") == info["arch"]
        for t in running
    ):
        info["duplicate_of_running"] = True
        set_info(trial, info)
        return False
    trial.set_user_attr(ATTR, {**info, "scoring": True})
    return True


def flat_attrs(info: dict[str, Any]) -> dict[str, Any]:
    """Scalars only: ``latency_ms@DEVICE``, ``score.PROXY``, budgets broken as one string."""
    out: dict[str, Any] = {}
    for key, name in _FLAT_RENAMES.items():
        if key in info:
            out[name] = info[key]
    for device, value in (info.get("latency_ms") or {}).items():
        out[f"latency_ms@{device}"] = value
    for proxy, value in (info.get("scores") or {}).items():
        out[f"score.{proxy}"] = value
    if info.get("over_budget"):
        out["over_budget"] = ",".join(info["over_budget"])
    return out


def arch_params(space: Any, arch: Arch) -> dict[str, tuple[Any, Any]]:
    """``name -> (value, distribution)`` that ``space.suggest`` would draw to build ``arch``.

    Mutation may leave a stage's suggest range (a wider block than TPE would propose): the
    integer distribution is then widened to hold the value, which Optuna accepts (ranges of
    one param may differ between trials). ``{}`` when ``suggest`` cannot rebuild ``arch``.
    """
    import warnings

    import optuna

    distributions = suggest_distributions(space)
    own = getattr(space, "params", None)
    values = own(arch) if callable(own) else _known_values(space, arch)
    if not set(distributions) <= set(values):
        return {}
    out = {}
    for name, distribution in distributions.items():
        fitted = _holding(distribution, values[name])
        if fitted is None:
            return {}
        out[name] = (values[name], fitted)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FixedTrial warns about values outside a range
            rebuilt = space.suggest(optuna.trial.FixedTrial({n: v for n, (v, _) in out.items()}))
    except Exception:
        return {}
    return out if rebuilt.canonical == arch.canonical else {}


def _holding(distribution: Any, value: Any) -> Any:
    """``distribution``, widened to hold an integer ``value`` on its grid; None if impossible."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return distribution if value in distribution.choices else None
    if not isinstance(distribution, IntDistribution) or isinstance(value, bool):
        return None
    if not isinstance(value, int) or (value - distribution.low) % distribution.step:
        return None
    low, high = min(distribution.low, value), max(distribution.high, value)
    high -= (high - low) % distribution.step
    return IntDistribution(low, high, log=distribution.log, step=distribution.step)


def _known_values(space: Any, arch: Arch) -> dict[str, Any]:
    """Values named as the shipped spaces' ``suggest`` names them (macro and NB201)."""
    values: dict[str, Any] = {}
    ops = getattr(space, "ops", None)
    if callable(ops):
        values.update({f"edge{i}": op for i, op in enumerate(ops(arch))})
    to_dict = getattr(space, "to_dict", None)
    data = to_dict(arch) if callable(to_dict) else {}
    for index, block in enumerate(data.get("blocks") or []):
        for key, value in block.items():
            values[f"b{index}.{key}"] = value
    if "stem" in data:
        values["stem.width"] = data["stem"]
    if "head" in data:
        values["head.width"] = data["head"]
    return values


@lru_cache(maxsize=32)
def suggest_distributions(space: Any) -> dict[str, Any]:
    """Name → Optuna distribution of every draw ``space.suggest`` makes (recorded once)."""
    recorder = _Recorder()
    space.suggest(recorder)
    return dict(recorder.distributions)


class _Recorder:
    """Answers ``suggest_*`` with the lowest choice and remembers each distribution."""

    def __init__(self) -> None:
        self.distributions: dict[str, Any] = {}

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        from optuna.distributions import CategoricalDistribution

        self.distributions[name] = CategoricalDistribution(list(choices))
        return next(iter(choices))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        from optuna.distributions import IntDistribution

        self.distributions[name] = IntDistribution(low, high, log=log, step=step)
        return low

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        from optuna.distributions import FloatDistribution

        self.distributions[name] = FloatDistribution(low, high, log=log, step=step)
        return low
