"""Search run configuration: defaults < YAML run config < command line, validated once.

A run config is a YAML mapping whose keys are the ``nascli search`` options (``batch_size`` or
``batch-size``). It is read with ``yaml.safe_load``; every unknown key is reported at once with
the accepted ones, so a typo never silently does nothing. The resolved configuration (every
option, defaults filled in) is written to ``RUN_DIR/config.yaml``: a run can be replayed with
``nascli search --config RUN_DIR/config.yaml``, and a rerun is compared against it so a run
directory never mixes two different searches.

The low-cost proxy fidelity lives here, in one place: ZiCo at 96 px, batch 16, 2 batches of
Gaussian data, about 15× cheaper per net than the authors' 224 px × 64 setting
(``benchmarks/zico_fidelity.py`` measures what that costs in ranking).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError

# ---------------------------------------------------------------- defaults (one place)
DEFAULT_SPACE = "mobilenet-imagenet"
DEFAULT_PROXY = "zico"  # where the space names no recommended proxy
DEFAULT_ALGO = "auto"  # surrogate where it applies (ZiCo on a macro space), else evolution
ALGOS = ("auto", "surrogate", "evolution", "cascade", "tpe", "nsga2", "random")
DEFAULT_SCREEN = "synflow"  # cascade: the cheap proxy that orders the screened networks
DEFAULT_SCREEN_SIZE = 1000  # cascade: networks within budget the screen scores
DEFAULT_FINALISTS = 50  # cascade: the screen's best the strong proxy scores (the NB201 rule)
LOW_COST_RESOLUTION = 96  # proxy-time resolution cap (a space at <= 96 px keeps its own)
LOW_COST_BATCH_SIZE = 16
LOW_COST_BATCHES = 2  # ZiCo's N = 2 gradient batches
DEFAULT_ITERATIONS = 200  # proxy evaluations: the default search fits in 10 min on 2 cores (README)
DEFAULT_POPULATION = 64  # evolution keeps the best E; NSGA-II population size
DEFAULT_SEED = 0
DEFAULT_TOP_K = 10
RUNS_DIR = Path("runs")

IDENTITY_KEYS = (
    "space", "proxy", "budgets", "table", "algo", "population", "seed", "data",
    "batch_size", "batches", "resolution", "objectives", "augment",
)  # fmt: skip
"""Options that define *which* search a run is; the others (iterations, time limit, workers,
storage, output) may change between a run and its resumption."""
CASCADE_KEYS = ("screen", "screen_size", "finalists")
"""Part of the identity of a cascade search only (other searches' fingerprints never see them)."""


@dataclass(frozen=True)
class SearchConfig:
    """Every option of a search; ``None`` means "derive from the space" where documented."""

    space: str = DEFAULT_SPACE
    proxy: str = DEFAULT_PROXY
    budgets: tuple[str, ...] = ()
    table: str | None = None
    algo: str = DEFAULT_ALGO
    iterations: int = DEFAULT_ITERATIONS
    time_limit: float | None = None  # seconds
    population: int = DEFAULT_POPULATION
    seed: int = DEFAULT_SEED
    data: str | None = None
    batch_size: int = LOW_COST_BATCH_SIZE
    batches: int = LOW_COST_BATCHES
    resolution: int | None = None  # proxy-time resolution; None = min(space's, 96)
    out: str | None = None
    storage: str | None = None
    study_name: str | None = None
    workers: int = 1
    threads: int | None = None  # torch threads per worker; None = cores / workers
    objectives: tuple[str, ...] = ()  # empty = the proxy alone
    baselines: tuple[str, ...] | None = None  # None = shipped configs/archs that fit
    top_k: int = DEFAULT_TOP_K
    export_onnx: bool = True
    augment: bool | None = None  # training views of real data; None = on for gradient proxies
    calibrate: int = 0  # re-anchor the latency table here on N timed networks first (0: no)
    proxy_device: str = "auto"  # torch device of the proxies (not identity: same scores)
    screen: str = DEFAULT_SCREEN
    screen_size: int = DEFAULT_SCREEN_SIZE
    finalists: int = DEFAULT_FINALISTS

    def identity(self) -> dict[str, Any]:
        data = asdict(self)
        keys = IDENTITY_KEYS + (CASCADE_KEYS if self.algo == "cascade" else ())
        return {key: _plain(data[key]) for key in keys}

    def fingerprint(self) -> str:
        """Hash of the identity: same search ⇔ same fingerprint (default study name)."""
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in asdict(self).items()}


OPTION_NAMES = tuple(f.name for f in fields(SearchConfig))
_ALIASES = {"budget": "budgets", "baseline": "baselines", "objective": "objectives"}


def cli_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """A command's option values as config keys (``None`` or an empty list: not given).

    The search command names its options as ``SearchConfig`` fields or their singular
    aliases (``--budget`` → ``budgets``), so nothing is copied field by field; paths
    become strings.
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        key = _ALIASES.get(name, name)
        if key not in OPTION_NAMES:
            raise ConfigError(f"unknown search option {name!r}")
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        out[key] = str(value) if isinstance(value, Path) else value
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_duration(text: str | float | int) -> float:
    """``10m``, ``90s``, ``1.5h``, ``600`` (seconds) → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|min|h)?\s*", str(text))
        if match is None:
            raise ConfigError(f"time limit {text!r}: write e.g. 600, 90s, 10m or 1.5h")
        scale = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}[match.group(2)]
        seconds = float(match.group(1)) * scale
    if seconds <= 0:
        raise ConfigError(f"time limit {text!r} must be positive")
    return seconds


def load_run_config(path: Path) -> dict[str, Any]:
    """Read a YAML run config into option overrides; unknown keys are all reported."""
    from nascli.arch import read_yaml_file

    path = find_run_config(path)
    data = read_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config must be a mapping of option: value")
    data.pop("_resolved", None)  # a run dir's config.yaml: notes about the run, not options
    out: dict[str, Any] = {}
    unknown = []
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        key = _ALIASES.get(key, key)
        if key not in OPTION_NAMES:
            unknown.append(str(raw_key))
            continue
        out[key] = value
    if unknown:
        raise ConfigError(
            f"{path}: unknown keys {sorted(unknown)}; accepted: {sorted(OPTION_NAMES)}"
        )
    return out


def find_run_config(path: Path | str) -> Path:
    """A run config file, or a shipped/user search config by name (``imagenet-450mflops``)."""
    from nascli.paths import config_files

    path = Path(path)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        if not path.exists():  # a FIFO or folder is refused by the loader, by name
            raise ConfigError(f"run config {path} does not exist")
        return path
    known = config_files("searches")
    if str(path) in known:
        return known[str(path)]
    from nascli.errors import suggest

    raise ConfigError(
        f"no run config {str(path)!r}{suggest(str(path), list(known))}; "
        f"give a YAML path or one of: {', '.join(known)}"
    )


def resolve_config(
    yaml_options: dict[str, Any] | None = None, cli_options: dict[str, Any] | None = None
) -> SearchConfig:
    """Merge defaults < YAML < CLI (``None`` CLI values mean "not given") and validate."""
    merged: dict[str, Any] = {}
    merged.update(yaml_options or {})
    merged.update({k: v for k, v in (cli_options or {}).items() if v is not None})
    unknown = sorted(set(merged) - set(OPTION_NAMES))
    if unknown:
        raise ConfigError(f"unknown search options {unknown}")
    values: dict[str, Any] = {}
    for key, value in merged.items():
        values[key] = _coerce(key, value)
    if "proxy" not in values:
        values["proxy"] = space_default_proxy(values.get("space", DEFAULT_SPACE))
    config = SearchConfig(**values)
    _validate(config)
    if config.algo == "auto":
        config = replace(config, algo=auto_algo(config))
    return config


def space_default_proxy(space_name: str) -> str:
    """The space's recommended proxy (its file's ``proxy`` key), else ZiCo."""
    from nascli.spaces import get_space

    try:
        return get_space(space_name).recommended_proxy or DEFAULT_PROXY
    except ConfigError:
        return DEFAULT_PROXY  # the driver reports the unknown space


def auto_algo(config: SearchConfig) -> str:
    """``surrogate`` for a layer-wise proxy on a macro space (it beats evolution there by a
    wide margin per evaluation, docs/search-benchmarks.md), ``evolution`` otherwise."""
    from nascli.proxies import layerwise_proxies
    from nascli.spaces import get_space

    if config.proxy not in layerwise_proxies():
        return "evolution"
    try:
        family = get_space(config.space).family
    except ConfigError:
        return "evolution"  # the driver reports the unknown space
    return "surrogate" if family == "macro" else "evolution"


def _as_str_tuple(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConfigError(f"option {key!r} must be a string or a list of strings")
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in items):
        raise ConfigError(f"option {key!r} must be a list of strings")
    return tuple(str(v).strip() for v in items if str(v).strip())


def _coerce(key: str, value: Any) -> Any:
    if key == "budgets":
        return _as_str_tuple(key, value)
    if key == "objectives":
        if isinstance(value, str):
            value = [v for v in value.split(",")]
        return _as_str_tuple(key, value)
    if key == "baselines":
        return None if value is None else _as_str_tuple(key, value)
    if key == "time_limit":
        return None if value is None else parse_duration(value)
    if key in (
        "iterations", "population", "seed", "batch_size", "batches", "workers", "top_k",
        "calibrate", "screen_size", "finalists",
    ):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"option {key!r} must be an integer, got {value!r}")
        return value
    if key in ("resolution", "threads"):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"option {key!r} must be an integer, got {value!r}")
        return value
    if key == "export_onnx":
        if not isinstance(value, bool):
            raise ConfigError(f"option 'export_onnx' must be true or false, got {value!r}")
        return value
    if key == "augment":
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"option 'augment' must be true, false or null, got {value!r}")
        return value
    if key == "proxy_device":
        from nascli.proxies.device import check_device_text

        return check_device_text(value)
    if value is not None and not isinstance(value, str | Path):
        raise ConfigError(f"option {key!r} must be a string, got {value!r}")
    return None if value is None else str(value)


MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take seeds in 0..2**32-1


def check_seed(seed: int) -> int:
    """``seed`` itself if numpy and Optuna accept it, else a one-line ConfigError."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be between 0 and {MAX_SEED} (2**32 - 1), got {seed}")
    return seed


def _validate(config: SearchConfig) -> None:
    from nascli.errors import suggest

    if config.algo not in ALGOS:
        raise ConfigError(
            f"unknown algorithm {config.algo!r}{suggest(config.algo, ALGOS)}; "
            f"choose from {', '.join(ALGOS)}"
        )
    for key, low in (
        ("iterations", 1), ("population", 2), ("batch_size", 1), ("batches", 1),
        ("workers", 1), ("top_k", 1), ("screen_size", 1), ("finalists", 1),
    ):  # fmt: skip
        if getattr(config, key) < low:
            raise ConfigError(f"--{key.replace('_', '-')} must be at least {low}")
    if config.calibrate and (config.calibrate < 2 or config.table is not None):
        raise ConfigError(
            "--calibrate needs at least 2 networks, and re-anchors the table a budget finds "
            "(for a --table, run nascli tables calibrate --base TABLE --measure N first)"
        )
    check_seed(config.seed)
    if config.threads is not None and config.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {config.threads}")
    if config.resolution is not None and config.resolution < 8:
        raise ConfigError(f"--resolution must be at least 8, got {config.resolution}")
    if not config.budgets:
        raise ConfigError("give at least one --budget (e.g. --budget 450MFLOPs)")


def default_out_dir(config: SearchConfig) -> Path:
    """``runs/<space>-<budgets>-<proxy>-<algo>-s<seed>``: the same command → the same dir."""
    budgets = "_".join(re.sub(r"[^A-Za-z0-9.]+", "", b) for b in config.budgets)
    proxy = re.sub(r"[^A-Za-z0-9.+-]+", "", config.proxy)
    space = Path(config.space).stem if "/" in config.space or "." in config.space else config.space
    name = f"{space}-{budgets}-{proxy}-{config.algo}-s{config.seed}"
    return RUNS_DIR / name


def write_resolved(config: SearchConfig, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write the fully resolved config (plus version/fingerprint) atomically as YAML."""
    import yaml

    from nascli import __version__
    from nascli.atomic import write_text_atomic

    data = config.to_dict()
    header = (
        f"# nascli {__version__} resolved search config (fingerprint {config.fingerprint()}).\n"
        "# Replay with: nascli search --config THIS_FILE\n"
    )
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    if extra:
        body += yaml.safe_dump({"_resolved": extra}, sort_keys=False)
    write_text_atomic(path, header + body)


def read_resolved(path: Path) -> dict[str, Any]:
    """The option mapping of a run dir's config.yaml (without the ``_resolved`` notes)."""
    from nascli.arch import read_yaml_file

    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a nascli run config")
    data.pop("_resolved", None)
    return data


__all__ = [
    "ALGOS",
    "MAX_SEED",
    "SearchConfig",
    "check_seed",
    "default_out_dir",
    "load_run_config",
    "parse_duration",
    "read_resolved",
    "resolve_config",
    "write_resolved",
]
