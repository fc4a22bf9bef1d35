"""``nascli score``, ``nascli proxies list|bench``, the runner, the ensemble and the cache."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr
from typer.testing import CliRunner

from nascli.bench import (
    GroundTruth,
    cached_subset,
    correlations,
    correlations_failed_as_worst,
    load_ground_truth,
    load_published,
    run_bench,
)
from nascli.cli import app
from nascli.errors import ConfigError
from nascli.proxies.base import Candidate
from nascli.proxies.ensemble import ProxyItem, parse_proxy_list, rank_aggregate
from nascli.proxies.runner import score_arch
from nascli.score_cache import ScoreCache
from nascli.spaces import get_space, resolve_arch

NB201_CSV = "nb201_accuracy.csv"
PUBLISHED_CSV = "published_correlations_nb201.csv"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"

runner = CliRunner()


# --- small real proxies for library-level tests (the registry's are tested elsewhere) ---


class ParamsProxy:
    """The analytic parameter count (what the registry's ``params`` computes)."""

    name = "params"
    needs_data = False
    needs_labels = False
    cost = "analytic"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, candidate: Candidate, batches: Sequence[Any]) -> float:
        self.calls += 1
        return float(candidate.space.cost(candidate.arch, resolution=candidate.resolution).params)


class PoolCountProxy:
    """Minus the number of avg-pool edges; NaN when the cell has only 'none' edges."""

    name = "pools"
    needs_data = False
    needs_labels = False
    cost = "analytic"

    def score(self, candidate: Candidate, batches: Sequence[Any]) -> float:
        body = candidate.arch.body
        if body == ALL_NONE:
            return math.nan
        return -float(body.count("avg_pool"))


class RaisingProxy:
    name = "raises"
    needs_data = False
    needs_labels = False
    cost = "1 fwd"

    def score(self, candidate: Candidate, batches: Sequence[Any]) -> float:
        raise RuntimeError("singular matrix")


class LabelMeanProxy:
    """Mean label of the first batch (needs labels)."""

    name = "labels"
    needs_data = True
    needs_labels = True
    cost = "none"

    def score(self, candidate: Candidate, batches: Sequence[Any]) -> float:
        return float(batches[0][1].float().mean())


def make_factory() -> tuple[Any, dict[str, Any]]:
    made: dict[str, Any] = {}
    classes = {
        "params": ParamsProxy,
        "pools": PoolCountProxy,
        "raises": RaisingProxy,
        "labels": LabelMeanProxy,
    }

    def factory(name: str, **options: Any) -> Any:
        if name not in classes:
            raise ConfigError(f"unknown proxy {name!r}")
        made[name] = classes[name]()
        return made[name]

    return factory, made


def _nb201_rows(shared_file: Callable[[str], Path], n: int) -> list[dict[str, str]]:
    with shared_file(NB201_CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:: len(rows) // n][:n]  # spread over the file, deterministic


def _truth_csv(
    shared_file: Callable[[str], Path], tmp_path: Path, n: int = 20, extra_none: bool = False
) -> tuple[Path, list]:
    rows = _nb201_rows(shared_file, n)
    if extra_none:
        rows = [*rows, {"arch_str": ALL_NONE, "test_acc_cifar10": "10.0", "index": ""}]
    path = tmp_path / "truth.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch_str", "test_acc_cifar10"])
        for row in rows:
            writer.writerow([row["arch_str"], row["test_acc_cifar10"]])
    return path, rows


# --- ensemble -----------------------------------------------------------------------


def test_parse_proxy_list() -> None:
    items = parse_proxy_list("ZiCo, naswot+synflow ,zico")
    assert items == [ProxyItem(("zico",)), ProxyItem(("naswot", "synflow"))]
    assert items[1].name == "naswot+synflow" and items[1].is_ensemble
    for bad in ("", ",", "a+", "a+a"):
        with pytest.raises(ConfigError):
            parse_proxy_list(bad)


def test_rank_aggregate_matches_hand_computation() -> None:
    # a ranks the archs 1,2,3 and b ranks them 3,1,2 (N = 3):
    # arch0: log(1/3) + log(3/3); arch1: log(2/3) + log(1/3); arch2: log(3/3) + log(2/3).
    out = rank_aggregate({"a": [1.0, 2.0, 3.0], "b": [30.0, 10.0, 20.0]})
    expected = [math.log(1 / 3), math.log(2 / 3) + math.log(1 / 3), math.log(2 / 3)]
    assert out == pytest.approx(expected)
    # Ties share the average rank; a failed component removes the arch (N shrinks to 2).
    tied = rank_aggregate({"a": [5.0, 5.0, None], "b": [1.0, 2.0, 3.0]})
    assert tied[2] is None
    assert tied[0] == pytest.approx(math.log(1.5 / 2) + math.log(1 / 2))
    assert tied[1] == pytest.approx(math.log(1.5 / 2) + math.log(2 / 2))
    assert rank_aggregate({"a": [math.nan, None]}) == [None, None]


# --- runner -------------------------------------------------------------------------


def test_score_arch_times_each_proxy_and_reports_failures(capsys: Any) -> None:
    factory, _ = make_factory()
    arch = resolve_arch("nb201:13714")
    result = score_arch(arch, ["params", "raises"], batch_size=2, factory=factory)
    assert result.cost["params"] == get_space("nb201").cost(arch).params
    params = result.outcomes["params"]
    assert params.ok and params.score == result.cost["params"] and params.seconds >= 0
    failed = result.outcomes["raises"]
    assert not failed.ok and failed.score is None and "singular matrix" in (failed.error or "")
    none = score_arch(resolve_arch(ALL_NONE), ["pools"], batch_size=2, factory=factory)
    assert "non-finite" in (none.outcomes["pools"].error or "")
    assert "warning" not in capsys.readouterr().err  # nothing here needs real data


def test_runner_refuses_unlabelled_data_for_label_proxies(tmp_path: Path, capsys: Any) -> None:
    factory, _ = make_factory()
    arch = resolve_arch("nb201:0")
    unlabelled = tmp_path / "u.npz"
    np.savez(unlabelled, x=np.zeros((4, 8, 8, 3), dtype=np.uint8))
    with pytest.raises(ConfigError, match="needs labels"):
        score_arch(arch, ["labels"], data=unlabelled, batch_size=2, factory=factory)
    # Gaussian input: allowed, with a warning on stderr.
    result = score_arch(arch, ["labels"], batch_size=2, factory=factory)
    assert result.outcomes["labels"].ok
    assert "need(s) real data" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown proxy"):
        score_arch(arch, ["nope"], factory=factory)


# --- bench (library) ----------------------------------------------------------------


def test_bench_matches_scipy_and_reuses_the_cache(shared_file, tmp_path: Path) -> None:
    truth_csv, rows = _truth_csv(shared_file, tmp_path, 20, extra_none=True)
    truth = load_ground_truth(truth_csv, space="nb201", target="test_acc_cifar10",
                              sample=None, seed=0)  # fmt: skip
    assert len(truth.archs) == 21
    factory, made = make_factory()
    cache = tmp_path / "cache"
    first = run_bench(truth, parse_proxy_list("params"), space="nb201", cache_dir=cache,
                      batch_size=2, factory=factory)  # fmt: skip
    assert made["params"].calls == 21
    # Independent check: parameter counts of the cells vs accuracy, scipy directly.
    space = get_space("nb201")
    params = [space.cost(resolve_arch(r["arch_str"])).params for r in rows]
    targets = [float(r["test_acc_cifar10"]) for r in rows]
    row = first.rows[0]
    assert row.spearman == pytest.approx(spearmanr(params, targets).statistic)
    assert row.kendall == pytest.approx(kendalltau(params, targets).statistic)
    assert 0.3 < row.spearman < 0.98  # params is a decent proxy on NB201 (published 0.75)
    assert (row.computed, row.cached, row.n_failed) == (21, 0, 0)

    factory2, made2 = make_factory()
    second = run_bench(truth, parse_proxy_list("params,pools,params+pools"), space="nb201",
                       cache_dir=cache, batch_size=2, factory=factory2)  # fmt: skip
    assert made2["params"].calls == 0  # everything for params came from the cache
    by_name = {r.name: r for r in second.rows}
    assert (by_name["params"].computed, by_name["params"].cached) == (0, 21)
    assert by_name["pools"].computed == 21 and by_name["pools"].n_failed == 1
    assert "non-finite" in by_name["pools"].errors[0]
    assert by_name["params+pools"].n_failed == 1
    with ScoreCache(cache) as store:
        assert store.proxies() == {"params": 21, "pools": 21}
    # The ensemble's correlation is the correlation of the hand-aggregated ranks.
    # The all-none cell (last row) failed 'pools', so it is left out of the ensemble.
    pools = [-float(r["arch_str"].count("avg_pool")) for r in rows[:-1]]
    agg = rank_aggregate({"a": params[:-1], "b": pools})
    rho = spearmanr(agg, targets[:-1]).statistic
    assert by_name["params+pools"].spearman == pytest.approx(rho)


def test_cached_subset_keeps_the_scored_cells_in_sample_order(shared_file, tmp_path: Path) -> None:
    truth_csv, _ = _truth_csv(shared_file, tmp_path, 12)
    truth = load_ground_truth(truth_csv, space="nb201", target="test_acc_cifar10",
                              sample=None, seed=0)  # fmt: skip
    part = GroundTruth(truth.archs[1::3], truth.targets[1::3], truth.column)
    factory, _ = make_factory()
    items = parse_proxy_list("params")
    run_bench(part, items, space="nb201", cache_dir=tmp_path / "c", batch_size=2,
              factory=factory)  # fmt: skip
    kept = cached_subset(truth, items, space="nb201", cache_dir=tmp_path / "c", batch_size=2)
    assert kept.archs == part.archs and kept.targets == part.targets
    other = cached_subset(truth, items, space="nb201", cache_dir=tmp_path / "c", batch_size=4)
    assert other.archs == []  # another batch size is another setting: nothing cached


def test_correlations_skip_failed_archs() -> None:
    tau, rho, n = correlations([1.0, None, 3.0, math.inf, 2.0], [1, 2, 3, 4, 2])
    assert n == 3 and rho == pytest.approx(1.0) and tau == pytest.approx(1.0)
    assert correlations([1.0, None], [1, 2]) == (None, None, 1)
    # Failed archs as the worst: scores become [1, w, 3, w, 2] with w below all, so the
    # ranks are [3, 1.5, 5, 1.5, 4] against targets [1, 2, 3, 4, 2].
    tau, rho = correlations_failed_as_worst([1.0, None, 3.0, math.inf, 2.0], [1, 2, 3, 4, 2])
    assert rho == pytest.approx(spearmanr([3, 1.5, 5, 1.5, 4], [1, 2, 3, 4, 2]).statistic)
    assert tau == pytest.approx(kendalltau([3, 1.5, 5, 1.5, 4], [1, 2, 3, 4, 2]).statistic)


def test_ground_truth_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("arch_str,acc\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n")
    with pytest.raises(ConfigError, match="no column 'test_acc'"):
        load_ground_truth(path, space="nb201", target="test_acc", sample=None, seed=0)
    path.write_text("name,acc\nx,1\n")
    with pytest.raises(ConfigError, match="no architecture column"):
        load_ground_truth(path, space="nb201", target="acc", sample=None, seed=0)
    path.write_text("index,acc\n5,not-a-number\n")
    with pytest.raises(ConfigError, match="not a number"):
        load_ground_truth(path, space="nb201", target="acc", sample=None, seed=0)
    path.write_text("arch,acc\n|bogus~0|,1\n")
    with pytest.raises(ConfigError, match=r"t\.csv:2"):
        load_ground_truth(path, space="nb201", target="acc", sample=None, seed=0)
    path.write_text("index,acc\n5,1.5\n7,2.5\n")
    truth = load_ground_truth(path, space="nb201", target="acc", sample=None, seed=0)
    assert [get_space("nb201").index(a) for a in truth.archs] == [5, 7]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="no such ground-truth"):
        load_ground_truth(tmp_path / "x.csv", space="nb201", target="acc", sample=None, seed=0)


def test_published_values_prefer_the_zico_paper_and_alias_names(shared_file) -> None:
    path = shared_file(PUBLISHED_CSV)
    c10 = load_published(path, "test_acc_cifar10")
    assert c10["zico"].spearman == pytest.approx(0.80) and c10["zico"].kendall == 0.61
    assert c10["params"].spearman == pytest.approx(0.75)
    assert c10["grad-norm"].spearman == pytest.approx(0.63)
    assert c10["zen"].spearman == pytest.approx(0.38)
    assert c10["jacov"].spearman == pytest.approx(0.80)  # only in VKDNW / zero-cost-nas rows
    c100 = load_published(path, "test_acc_cifar100")
    assert c100["zico"].spearman == pytest.approx(0.81)
    assert load_published(path, "latency_ms") == {}


# --- CLI ----------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _registry() -> Any:
    """The proxy registry; a broken one fails these tests (it is never a reason to skip)."""
    import nascli.proxies as registry

    return registry


def test_cli_score_json_reports_scores_seconds_and_cost() -> None:
    result = _cli("score", "nb201:13714", "--proxy", "params,flops", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    arch = resolve_arch("nb201:13714")
    cost = get_space("nb201").cost(arch)
    assert payload["space"] == "nb201" and payload["cost"]["macs"] == cost.macs
    assert payload["scores"]["params"]["score"] == pytest.approx(cost.params)
    assert payload["scores"]["flops"]["score"] == pytest.approx(cost.macs)
    assert payload["scores"]["flops"]["seconds"] >= 0
    table = _cli("score", "nb201:13714", "--proxy", "params+flops")
    assert table.exit_code == 0 and "ensemble params+flops ranks a population" in table.output


def test_cli_bad_inputs_exit_2(tmp_path: Path) -> None:
    registry = _registry()
    unknown = _cli("score", "nb201:1", "--proxy", "zicoo")
    assert unknown.exit_code == 2
    assert "error: unknown proxy 'zicoo' (did you mean 'zico'?)" in unknown.output
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    result = _cli("score", "nb201:1", "--proxy", "params", "--data", str(empty))
    assert result.exit_code == 2 and "empty file" in result.output
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"garbage" * 10)
    result = _cli("score", "nb201:1", "--proxy", "params", "--data", str(corrupt))
    assert result.exit_code == 2 and "not a readable" in result.output
    labelled = [n for n in registry.list_proxies() if registry.proxy_info(n)["needs_labels"]]
    if labelled:
        unlabelled = tmp_path / "u.npz"
        np.savez(unlabelled, x=np.zeros((4, 8, 8, 3), dtype=np.uint8))
        result = _cli("score", "nb201:1", "--proxy", labelled[0], "--data", str(unlabelled))
        assert result.exit_code == 2 and "needs labels" in result.output
    bad_opt = _cli("score", "nb201:1", "--proxy", "params", "--option", "nonsense")
    assert bad_opt.exit_code == 2 and "NAME.KEY=VALUE" in bad_opt.output


def test_cli_proxies_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from nascli.commands.common import stdout_console

    monkeypatch.setattr(stdout_console, "width", 400)  # rows unwrapped, whatever COLUMNS says
    registry = _registry()
    result = _cli("proxies", "list", "--json")
    assert result.exit_code == 0, result.output
    names = [row["name"] for row in json.loads(result.stdout)["proxies"]]
    assert names == list(registry.list_proxies()) and "params" in names
    table = _cli("proxies", "list")
    assert table.exit_code == 0, table.output
    rows = {line.split("│")[1].strip(): line for line in table.output.splitlines() if "│" in line}
    for name in names:  # one row per proxy, with its cost as the registry states it
        assert registry.proxy_info(name)["cost"] in rows[name]


def test_cli_bench_params_flops_against_nb201(shared_file, tmp_path: Path) -> None:
    truth_csv, rows = _truth_csv(shared_file, tmp_path, 20)
    cache = tmp_path / "cache"
    args = ["proxies", "bench", "--space", "nb201", "--ground-truth", str(truth_csv),
            "--target", "test_acc_cifar10", "--sample", "all", "--cache-dir", str(cache),
            "--batch-size", "2", "--json"]  # fmt: skip
    args[-1:-1] = ["--published", str(shared_file(PUBLISHED_CSV))]  # before --json (dropped below)
    first = _cli(*args, "--proxy", "params")
    assert first.exit_code == 0, first.output
    space = get_space("nb201")
    archs = [resolve_arch(r["arch_str"]) for r in rows]
    targets = [float(r["test_acc_cifar10"]) for r in rows]
    expected_params = spearmanr([space.cost(a).params for a in archs], targets).statistic
    expected_flops = spearmanr([space.cost(a).macs for a in archs], targets).statistic
    (params_row,) = json.loads(first.stdout)["results"]
    assert params_row["spearman_rho"] == pytest.approx(expected_params)
    assert 0.3 < params_row["spearman_rho"] < 0.98
    assert params_row["computed"] == 20
    assert params_row["published_spearman_rho"] == pytest.approx(0.75)

    second = _cli(*args, "--proxy", "params,flops")
    assert second.exit_code == 0, second.output
    by_name = {r["proxy"]: r for r in json.loads(second.stdout)["results"]}
    assert (by_name["params"]["computed"], by_name["params"]["cached"]) == (0, 20)
    assert by_name["flops"]["computed"] == 20
    assert by_name["flops"]["spearman_rho"] == pytest.approx(expected_flops)
    with ScoreCache(cache) as store:
        assert store.proxies() == {"params": 20, "flops": 20}

    missing = _cli(*args[:-1], "--proxy", "params", "--target", "test_acc_imagenet")
    assert missing.exit_code == 2 and "no column 'test_acc_imagenet'" in missing.output


def test_cli_bench_reports_degenerate_cells_as_failed(tmp_path: Path) -> None:
    assert "zico" in _registry().list_proxies()
    truth = tmp_path / "t.csv"
    good = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|none~2|"
    truth.write_text(
        "arch,acc\n"
        f"{ALL_NONE},10\n{good},90\n"
        "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|skip_connect~2|,80\n"
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|nor_conv_3x3~1|none~2|,70\n"
    )
    result = _cli("proxies", "bench", "--ground-truth", str(truth), "--target", "acc",
                  "--proxy", "zico", "--sample", "all", "--batch-size", "4", "--resolution",
                  "8", "--cache-dir", str(tmp_path / "c"), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["results"]
    assert row["n_failed"] == 1 and row["n_ok"] == 3
    assert row["example_errors"]


def test_sample_is_seeded_and_a_smaller_sample_is_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("index,acc\n" + "".join(f"{i},{i / 10}\n" for i in range(50)))
    big = load_ground_truth(path, space="nb201", target="acc", sample=20, seed=3)
    small = load_ground_truth(path, space="nb201", target="acc", sample=7, seed=3)
    other = load_ground_truth(path, space="nb201", target="acc", sample=20, seed=4)
    assert big.archs[:7] == small.archs and big.targets[:7] == small.targets
    assert len(set(big.archs)) == 20 and big.archs != other.archs
    assert len(load_ground_truth(path, space="nb201", target="acc", sample=999, seed=0).archs) == 50
