"""`nascli search`: hard budgets, caching, failures as FAIL trials, outputs, resume, refusal.

Searches here run on NAS-Bench-201 with the analytic ``params``/``flops`` proxies (real
proxies, milliseconds per cell), so the driver, storage and reports are what is exercised.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.config import load_run_config, resolve_config
from nascli.errors import ConfigError
from nascli.search.driver import SearchDriver
from nascli.search.plan import build_plan
from nascli.search.storage import storage_url_for
from tests.conftest import REPO

runner = CliRunner()


def _driver(tmp_path: Path, **options) -> SearchDriver:
    base = {"space": "nb201", "proxy": "params", "budgets": ["60MFLOPs"], "iterations": 12,
            "out": str(tmp_path), "export_onnx": False}  # fmt: skip
    base.update(options)
    config = resolve_config(base)
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = storage_url_for(config, tmp_path)
    return SearchDriver(build_plan(config), study_name="t", storage_url=url)


class Recording:
    """The real ``params`` proxy, remembering every architecture it was asked to score."""

    def __init__(self, inner, fail_above_params: int | None = None) -> None:
        self.inner = inner
        self.name, self.cost = inner.name, inner.cost
        self.needs_data, self.needs_labels = inner.needs_data, inner.needs_labels
        self.seen: list[str] = []
        self.fail_above = fail_above_params

    def score(self, candidate, batches) -> float:
        self.seen.append(candidate.arch.canonical)
        value = self.inner.score(candidate, batches)
        if self.fail_above is not None and value > self.fail_above:
            raise MemoryError("simulated out of memory on a large net")
        return value


@pytest.mark.parametrize("algo", ["evolution", "tpe", "random"])
def test_over_budget_candidates_never_reach_the_proxy(tmp_path: Path, algo: str) -> None:
    driver = _driver(tmp_path, algo=algo, iterations=15)
    recorder = Recording(driver.proxies["params"])
    driver.proxies["params"] = recorder
    study = driver.open_study()
    driver.run(study, iterations=15, timeout=None)
    state = driver.state(study)
    assert state.done >= 15
    assert state.rejected > 0, "60 MMACs must reject part of NB201"
    from nascli.spaces import arch_from_canonical, get_space

    space = get_space("nb201")
    assert recorder.seen
    for canonical in recorder.seen:
        assert space.cost(arch_from_canonical(canonical)).macs <= 60e6
    assert len(recorder.seen) == len(set(recorder.seen)), "a cached net was scored twice"
    for record in state.trials:
        if record.state == "COMPLETE":
            assert record.info["macs"] <= 60e6
            assert record.values[0] == pytest.approx(
                space.cost(arch_from_canonical(record.arch)).params
            )


@pytest.mark.parametrize("algo", ["tpe", "random"])
def test_constraint_values_reach_the_samplers_that_learn_from_them(
    tmp_path: Path, algo: str
) -> None:
    """TPE/NSGA-II read Optuna constraints (relative excess, <= 0 fits); evolution and random
    never do, so they are not written for them (two storage round trips per budget)."""
    driver = _driver(tmp_path, algo=algo, iterations=10)
    study = driver.open_study()
    driver.run(study, iterations=10, timeout=None)
    trials = study.get_trials(deepcopy=False)
    constraints = [t.constraints for t in trials]  # public FrozenTrial API
    if algo == "random":
        assert not any(constraints)
        return
    assert any(t.state.name == "PRUNED" for t in trials), "60 MMACs must reject part of NB201"
    from nascli.spaces import arch_from_canonical, get_space

    space = get_space("nb201")
    arch_of = {r.number: r.arch for r in driver.records(study)}
    for trial, values in zip(trials, constraints, strict=True):
        assert len(values) == 1, "one constraint per budget"
        (excess,) = values.values()
        assert (excess <= 0) == (trial.state.name != "PRUNED")
        macs = space.cost(arch_from_canonical(arch_of[trial.number])).macs
        assert excess == pytest.approx((macs - 60e6) / 60e6)  # relative excess over 60 M


def test_proxy_failures_are_failed_trials_not_crashes(tmp_path: Path) -> None:
    driver = _driver(tmp_path, budgets=["200MFLOPs"], algo="random", iterations=20)
    driver.proxies["params"] = Recording(driver.proxies["params"], fail_above_params=600_000)
    study = driver.open_study()
    driver.run(study, iterations=20, timeout=None)
    state = driver.state(study)
    assert state.failed > 0 and state.feasible > 0
    assert state.done == state.failed + state.feasible
    failed = [r for r in state.trials if r.state == "FAIL"]
    assert all("out of memory" in r.info["error"] for r in failed)


def test_evolution_is_seeded_and_reproducible(tmp_path: Path) -> None:
    sequences = []
    for run in ("a", "b"):
        driver = _driver(tmp_path / run, iterations=10, seed=3)
        study = driver.open_study()
        driver.run(study, iterations=10, timeout=None)
        sequences.append([r.arch for r in driver.state(study).trials])
    assert sequences[0] == sequences[1]
    other = _driver(tmp_path / "c", iterations=10, seed=4)
    study = other.open_study()
    other.run(study, iterations=10, timeout=None)
    assert [r.arch for r in other.state(study).trials] != sequences[0]


def test_ensemble_values_are_the_same_in_every_run(tmp_path: Path) -> None:
    """A stored ensemble value depends only on the net and the fixed reference, not on the
    population a run happened to evaluate: two different searches (evolution and random,
    other seeds) give every net they share the same value, the progress shows it as a
    percentile, and a resumed study keeps its stored reference even without the cache."""
    import shutil

    from nascli.paths import user_dir
    from nascli.search.reference import REFERENCE_SIZE
    from nascli.spaces import arch_from_canonical

    drivers, values = [], []
    for name, options in (
        ("a", {"algo": "evolution", "seed": 1}),
        ("b", {"algo": "random", "seed": 1}),
    ):
        driver = _driver(tmp_path / name, proxy="params+flops", iterations=10,
                         budgets=["200MFLOPs"], **options)  # fmt: skip
        study = driver.open_study()
        driver.attach_reference(study)
        assert len(driver.reference.values["params"]) == REFERENCE_SIZE
        driver.run(study, iterations=10, timeout=None)
        done = [r for r in driver.records(study) if r.state == "COMPLETE" and r.values]
        drivers.append(driver)
        values.append({r.arch: r.values[0] for r in done})
        assert driver.state(study).best_text.endswith(" pct")
    for mine, other in ((0, 1), (1, 0)):  # each run's nets, valued by the other run
        for arch, stored in values[mine].items():
            scores, _, error = drivers[other].score(arch_from_canonical(arch))
            assert error is None
            assert drivers[other].proxy_value(scores) == stored
    # the first trial is not 'best possible' any more: values are below 0 (log F < 0)
    assert all(v < 0 for v in values[0].values())
    shutil.rmtree(user_dir() / "cache")
    resumed = _driver(tmp_path / "a", proxy="params+flops", iterations=10,
                      budgets=["200MFLOPs"], algo="evolution", seed=1)  # fmt: skip
    study = resumed.open_study()
    resumed.attach_reference(study)
    assert not (user_dir() / "cache").exists(), "the stored reference was used, not rescored"


def test_reference_calibrated_value_by_hand() -> None:
    """Reference (0, 1): Silverman's width h; F(0.5) = (Φ(.5/h) + Φ(-.5/h)) / 2 = 0.5 exactly,
    so two components at their midpoints give 2 log 0.5, the 50th percentile."""

    from scipy.stats import norm

    from nascli.proxies.ensemble import ReferenceScores, percentile_of

    ref = ReferenceScores({"a": (0.0, 1.0), "b": (10.0, 20.0)})
    mid = ref.value({"a": 0.5, "b": 15.0})
    assert mid == pytest.approx(2 * math.log(0.5))
    assert percentile_of(mid, 2) == pytest.approx(50.0)
    width = 0.9 * min(0.5, 0.5 / 1.349) * 2**-0.2
    expected = math.log((norm.cdf(1.0 / width) + norm.cdf(0.0)) / 2)
    assert ref.log_cdf("a", 1.0) == pytest.approx(expected)
    # strictly increasing, also far beyond the reference's best
    far = [ref.log_cdf("a", x) for x in (1.0, 2.0, 3.0, 4.0)]
    assert far == sorted(far) and len(set(far)) == 4
    assert math.isnan(ref.value({"a": 0.5}))
    with pytest.raises(ValueError):
        ReferenceScores({"a": (1.0,)})


def test_config_yaml_unknown_keys_and_cli_override(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("space: nb201\nbudget: [60MFLOPs]\nbatch-size: 8\nitertions: 5\nfoo: 1\n")
    with pytest.raises(ConfigError, match=r"unknown keys \['foo', 'itertions'\]"):
        load_run_config(path)
    path.write_text("space: nb201\nbudget: [60MFLOPs]\nbatch-size: 8\niterations: 5\n")
    config = resolve_config(load_run_config(path), {"iterations": 7, "seed": None})
    assert (config.iterations, config.batch_size, config.seed) == (7, 8, 0)
    assert config.budgets == ("60MFLOPs",)


def test_threads_option_sets_the_torch_pool() -> None:
    import torch

    from nascli.search.workers import configure_threads

    before = torch.get_num_threads()
    try:
        configure_threads(workers=1, threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert resolve_config({"budgets": ["1GFLOPs"], "threads": 1}).threads == 1
    with pytest.raises(ConfigError, match="'threads' must be an integer"):
        resolve_config({"budgets": ["1GFLOPs"], "threads": "two"})


def _search(tmp_path: Path, *extra: str) -> tuple[int, dict]:
    args = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
            "--iterations", "12", "--out", str(tmp_path / "run"), "--no-onnx", "--json",
            *extra]  # fmt: skip
    result = runner.invoke(app, args)
    if result.exit_code != 0:
        return result.exit_code, {"output": result.output}
    return 0, json.loads(result.stdout)


def test_cli_outputs_resume_and_refusal(tmp_path: Path) -> None:
    code, summary = _search(tmp_path)
    assert code == 0, summary
    run = tmp_path / "run"
    for name in ("config.yaml", "study.db", "top.csv", "best.yaml", "pareto.png", "summary.json"):
        assert (run / name).exists(), name
    assert summary["trials"]["done"] == 12
    from nascli.proxies.device import resolve_device

    assert summary["proxy"].pop("devices") == [str(resolve_device("auto"))]
    assert summary["proxy"] == {
        "name": "params", "components": ["params"], "resolution": 32, "batch_size": 16,
        "batches": 2, "data": "Gaussian N(0,1), random labels", "seed": 0, "ensemble_value": None,
    }  # fmt: skip
    best = summary["best"]
    assert best["macs"] <= 60e6 and best["value"] == max(r["value"] for r in summary["top"])
    from nascli.spaces import resolve_arch

    assert resolve_arch(str(run / "best.yaml")).canonical == best["canonical"]
    lines = (run / "top.csv").read_text().splitlines()
    assert lines[0].startswith("rank,canonical,value,score.params,macs,params,layers")
    header = lines[0].split(",")
    assert len(header) == len(set(header)), "top.csv column names clash"
    assert len(lines) == 1 + min(10, summary["trials"]["feasible"])
    resolved = (run / "config.yaml").read_text()
    for option in ("space: nb201", "iterations: 12", "algo: evolution", "batch_size: 16"):
        assert option in resolved
    # same command again: resumes, nothing redone
    code, again = _search(tmp_path)
    assert code == 0 and again["trials"]["total"] == summary["trials"]["total"]
    # more iterations: continues the same study
    code, more = _search(tmp_path, "--iterations", "16")
    assert code == 0 and more["trials"]["done"] == 16
    # another search in the same dir is refused, unless --force
    code, refused = _search(tmp_path, "--seed", "1")
    assert code == 2 and "different search" in refused["output"]
    code, forced = _search(tmp_path, "--seed", "1", "--force")
    assert code == 0 and forced["study"]["name"] != more["study"]["name"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "annealing"], "unknown algorithm 'annealing'; choose from auto,"),
        (["--proxy", "zicoo"], "unknown proxy 'zicoo' (did you mean 'zico'?)"),
        (["--space", "nb202"], "unknown search space 'nb202' (did you mean 'nb201'?)"),
        (
            ["--storage", "postgresql://u:secret@127.0.0.1:1/db"],
            "cannot open storage postgresql://u:***@",
        ),
        (["--budget", "1MFLOPs"], "no architecture of 'nb201' fits the budgets (1MFLOPs)"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["search", "--space", "nb201", "--proxy", "params", "--iterations", "3",
            "--out", str(tmp_path / "r"), "--no-onnx"]  # fmt: skip
    if "--budget" not in args:
        base += ["--budget", "60MFLOPs"]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "secret" not in result.output


def test_unwritable_run_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
         "--out", str(blocker / "sub")],
    )  # fmt: skip
    assert result.exit_code == 2 and "cannot create run dir" in result.output


def test_baselines_scored_with_identical_settings(tmp_path: Path) -> None:
    code, summary = _search(tmp_path, "--baseline", "nb201:13714", "--baseline", "nb201:0")
    assert code == 0, summary
    names = {b["name"] for b in summary["baselines"]}
    assert names == {"nb201:13714", "nb201:0"}
    from nascli.spaces import get_space, resolve_arch

    for base in summary["baselines"]:
        arch = resolve_arch(base["canonical"])
        assert base["value"] == get_space("nb201").cost(arch).params


def test_latency_budget_and_pareto_front(tmp_path: Path) -> None:
    """A latency budget priced from the shipped NB201 CPU table, proxy ↑ vs latency ↓."""
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable
    from nascli.spaces import resolve_arch

    table_path = Path(__file__).resolve().parents[1] / "latency_tables" / "cpu" / "nb201-32.json"
    predictor = Predictor(LatencyTable.load(table_path))
    result = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "params", "--algo", "nsga2",
         "--budget", "2.2ms@cpu", "--objectives", "params,latency@cpu",
         "--iterations", "20", "--out", str(tmp_path / "run"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trials"]["rejected"] > 0, "2.2 ms must reject part of NB201"
    front = summary["pareto"]
    assert front
    for row in summary["top"] + front:
        latency = predictor.predict(resolve_arch(row["canonical"])).latency_ms
        assert latency <= 2.2 + 1e-9
        assert row["latency_ms"]["cpu"] == pytest.approx(latency)
    points = [(row["value"], row["latency_ms"]["cpu"]) for row in front]
    for value, latency in points:
        dominated = any(
            v >= value and t <= latency and (v > value or t < latency) for v, t in points
        )
        assert not dominated


@pytest.mark.parametrize(
    "path", sorted((REPO / "configs" / "searches").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_search_configs_resolve(path: Path) -> None:
    """Every shipped run config names a real space, proxy (or ensemble), algorithm and budgets."""
    from nascli.budget import parse_budgets
    from nascli.proxies import get_proxy
    from nascli.proxies.ensemble import parse_proxy_list
    from nascli.spaces import get_space

    config = resolve_config(load_run_config(path))
    get_space(config.space)
    (item,) = parse_proxy_list(config.proxy)  # a named ensemble expands to its members
    for member in item.components:
        get_proxy(member)
    assert parse_budgets(list(config.budgets))


@pytest.mark.parametrize(
    ("space", "proxy"),
    [
        ("nb201", "nb201-rank"),
        ("nas-bench-macro", "macro-rank"),
        ("mobilenet-imagenet", "macro-rank"),
        ("resnet-imagenet", "zico"),  # names none: ZiCo
    ],
)
def test_a_search_without_proxy_uses_the_spaces_recommended_one(space: str, proxy: str) -> None:
    config = resolve_config({"space": space, "budgets": ["1GFLOPs"]})
    assert config.proxy == proxy
    assert resolve_config({"space": space, "budgets": ["1GFLOPs"], "proxy": "zen"}).proxy == "zen"


def test_a_user_space_file_names_its_proxy(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load((REPO / "configs" / "spaces" / "nas-bench-macro.yaml").read_text())
    data.update(name="my-macro", proxy="naswot")
    path = tmp_path / "my-macro.yaml"
    path.write_text(yaml.safe_dump(data))
    assert resolve_config({"space": str(path), "budgets": ["1GFLOPs"]}).proxy == "naswot"


@pytest.mark.parametrize(
    ("space", "proxy", "algo"),
    [
        ("mobilenet-imagenet", "zico", "surrogate"),  # reports layer terms, macro space
        ("mobilenet-imagenet", "naswot", "evolution"),  # no layer terms
        ("nb201", "zico", "evolution"),  # a cell space: nothing to predict layer by layer
    ],
)
def test_auto_algo_takes_the_surrogate_only_for_a_layer_wise_proxy_on_a_macro_space(
    space: str, proxy: str, algo: str
) -> None:
    config = resolve_config({"space": space, "proxy": proxy, "budgets": ["450MFLOPs"]})
    assert config.algo == algo
