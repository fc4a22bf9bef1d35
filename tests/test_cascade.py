"""The cascade search: a cheap screen orders many budget-feasible networks, the proxy scores
the best of them first, then mutations of the best (``nascli.search.cascade``).

Real searches on NB201 with the analytic ``flops``/``params`` proxies (no network is trained,
a search of a dozen trials takes seconds)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.config import CASCADE_KEYS, IDENTITY_KEYS, resolve_config
from nascli.errors import ConfigError
from nascli.search.cascade import STUDY_ATTR, CascadeProposer, ScreenedPool, screen_pool
from nascli.search.driver import SearchDriver
from nascli.search.evolution import Member
from nascli.search.plan import build_plan
from nascli.search.storage import storage_url_for
from nascli.spaces import arch_from_canonical, get_space

runner = CliRunner()
BUDGET = 60e6  # 60 MMACs rejects part of NB201 (its cells reach 184 M)


def _driver(tmp_path: Path, **options) -> SearchDriver:
    base = {"space": "nb201", "proxy": "params", "budgets": ["60MFLOPs"], "iterations": 12,
            "algo": "cascade", "screen": "flops", "screen_size": 30, "finalists": 8,
            "out": str(tmp_path), "export_onnx": False}  # fmt: skip
    base.update(options)
    config = resolve_config(base)
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = storage_url_for(config, tmp_path)
    return SearchDriver(build_plan(config), study_name="t", storage_url=url)


def _macs(canonical: str) -> float:
    return get_space("nb201").cost(arch_from_canonical(canonical)).macs


def _evaluated(driver: SearchDriver, study) -> list:
    return [r for r in driver.state(study).trials if r.evaluated]


def test_a_search_scores_the_screen_in_order_then_mutates_the_best(tmp_path: Path) -> None:
    driver = _driver(tmp_path)
    study = driver.open_study()
    driver.attach_screen(study)
    driver.run(study, iterations=12, timeout=None)
    pool = ScreenedPool.from_dict(study.user_attrs[STUDY_ATTR])
    # the screen: 30 distinct networks within the budget, ordered by MACs, best first
    assert len(pool.order) == len(set(pool.order)) == pool.drawn == 30
    macs = [_macs(c) for c in pool.order]
    assert all(m <= BUDGET for m in macs)
    assert macs == sorted(macs, reverse=True)
    assert pool.scores == tuple(pytest.approx(m) for m in macs)
    # the proxy: the 8 finalists in screen order, then 4 mutations of evaluated networks
    records = _evaluated(driver, study)
    assert len(records) == 12
    assert [r.arch for r in records[:8]] == list(pool.order[:8])
    assert [r.info["origin"] for r in records] == ["screen"] * 8 + ["mutation"] * 4
    assert len({r.arch for r in records}) == 12, "a network was evaluated twice"
    assert all(r.info["macs"] <= BUDGET for r in records)
    assert not [t for t in driver.state(study).trials if t.state == "PRUNED"]
    space = get_space("nb201")
    for record in records:  # the stored value is the real params proxy's
        assert record.values[0] == pytest.approx(
            space.cost(arch_from_canonical(record.arch)).params
        )


def test_a_resumed_search_reads_the_pool_from_the_study(tmp_path: Path) -> None:
    first = _driver(tmp_path)
    study = first.open_study()
    first.attach_screen(study)
    first.run(study, iterations=5, timeout=None)
    stored = study.user_attrs[STUDY_ATTR]

    resumed = _driver(tmp_path)  # a new process: nothing in memory

    def never(arch):  # a second screen would call the screen proxy
        raise AssertionError("the resumed search screened again")

    assert isinstance(resumed.proposer, CascadeProposer)
    resumed.proposer.score = never
    study = resumed.open_study()
    resumed.attach_screen(study)
    resumed.run(study, iterations=12, timeout=None)
    assert study.user_attrs[STUDY_ATTR] == stored
    records = _evaluated(resumed, study)
    assert [r.arch for r in records[:8]] == stored["order"][:8]
    assert len({r.arch for r in records}) == len(records) == 12


def test_a_worker_without_attach_reads_the_stored_pool(tmp_path: Path) -> None:
    """Extra workers never call attach_screen themselves: their first proposal reads it."""
    first = _driver(tmp_path)
    study = first.open_study()
    first.attach_screen(study)
    worker = _driver(tmp_path)
    worker.proposer.score = lambda arch: pytest.fail("a worker screened again")
    study = worker.open_study()
    worker.run(study, iterations=3, timeout=None)
    order = study.user_attrs[STUDY_ATTR]["order"]
    assert [r.arch for r in _evaluated(worker, study)] == order[:3]


def test_the_proposer_skips_evaluated_networks_and_respects_budgets(tmp_path: Path) -> None:
    driver = _driver(tmp_path, finalists=4)
    proposer = driver.proposer
    study = driver.open_study()
    driver.attach_screen(study)
    order = proposer.finalist_order()
    assert len(order) == 4
    first = proposer.propose(0, [], set())
    assert (first.arch.canonical, first.origin, first.duplicates) == (order[0], "screen", 0)
    skipped = proposer.propose(1, [], {order[0], order[2]})
    assert (skipped.arch.canonical, skipped.duplicates) == (order[1], 1)
    third = proposer.propose(2, [], {order[0], order[1], order[2]})
    assert (third.arch.canonical, third.duplicates) == (order[3], 3)
    # every finalist seen: mutations of the best members, each within the budget
    space = get_space("nb201")
    members = [Member(space.parse(c.partition(":")[2]), (float(-i),)) for i, c in enumerate(order)]
    for number in range(3, 13):
        proposal = proposer.propose(number, members, set(order))
        assert proposal.origin == "mutation"
        assert proposal.arch.canonical not in order
        assert space.cost(proposal.arch).macs <= BUDGET


class ListedSpace:
    """The real NB201 space, drawing the networks of a fixed list in turn."""

    def __init__(self, bodies: list[str]) -> None:
        self.inner = get_space("nb201")
        self.archs = [self.inner.parse(b) for b in bodies]
        self.name = self.inner.name
        self.drawn = 0

    def sample(self, rng: random.Random):
        arch = self.archs[self.drawn % len(self.archs)]
        self.drawn += 1
        return arch

    def parse(self, body: str):
        return self.inner.parse(body)


def _cell(op: str) -> str:
    return f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"


def test_screen_order_of_hand_built_cells_by_params() -> None:
    """Cells whose parameter order follows from their ops: a 3x3 conv has 9 C^2 weights, a
    1x1 conv C^2, skip/pool none; so all-3x3 > all-1x1 > all-skip = all-pool (a tie, kept in
    draw order). Scored by the real ``params`` proxy through a driver-built score function."""
    from nascli.proxies.base import Candidate
    from nascli.proxies.runner import make_proxies, run_proxy

    bodies = [_cell("skip_connect"), _cell("nor_conv_1x1"), _cell("avg_pool_3x3"),
              _cell("nor_conv_3x3")]  # fmt: skip
    space = ListedSpace(bodies)
    params = make_proxies(["params"])["params"]

    def score(arch) -> float | None:
        return run_proxy("params", params, Candidate(arch, space.inner, 32, 0), []).score

    pool = screen_pool(space, lambda arch: True, score, screen="params", size=4, seed=0)
    expected = [_cell("nor_conv_3x3"), _cell("nor_conv_1x1"), _cell("skip_connect"),
                _cell("avg_pool_3x3")]  # fmt: skip
    assert [c.partition(":")[2] for c in pool.order] == expected
    # the differences by hand: NB201's cell has 6 edges per cell, 5 cells per stage at
    # C = 16, 32, 64; a ReLU-conv-BN op has k*k*C*C weights and 2 C BN parameters
    per_stage = [5 * 6 * (c * c) for c in (16, 32, 64)]
    one_by_one = sum(per_stage)
    assert pool.scores[1] - pool.scores[2] == pytest.approx(
        one_by_one + sum(5 * 6 * 2 * c for c in (16, 32, 64))
    )
    assert pool.scores[0] - pool.scores[1] == pytest.approx(8 * one_by_one)
    assert pool.scores[2] == pool.scores[3]


def test_a_screen_that_fails_everywhere_is_one_error() -> None:
    space = ListedSpace([_cell("skip_connect"), _cell("nor_conv_1x1")])
    with pytest.raises(ConfigError, match="failed on all 2 networks"):
        screen_pool(space, lambda arch: True, lambda arch: None, screen="x", size=2, seed=0)
    with pytest.raises(ConfigError, match="no network"):
        screen_pool(space, lambda arch: False, lambda arch: 1.0, screen="x", size=2, seed=0)


def test_a_pool_of_other_settings_is_refused(tmp_path: Path) -> None:
    driver = _driver(tmp_path)
    other = ScreenedPool("synflow", 30, 0, ("nb201:" + _cell("skip_connect"),), (1.0,), 1, 0.1)
    with pytest.raises(ConfigError, match="screened pool was made with screen 'synflow'"):
        driver.proposer.attach(other.as_dict())


def test_cascade_options_enter_the_identity_only_of_a_cascade() -> None:
    plain = resolve_config({"space": "nb201", "budgets": ["60MFLOPs"], "algo": "tpe"})
    assert tuple(plain.identity()) == IDENTITY_KEYS
    other = resolve_config({"space": "nb201", "budgets": ["60MFLOPs"], "algo": "tpe",
                            "screen_size": 7})  # fmt: skip
    assert other.fingerprint() == plain.fingerprint()
    cascade = resolve_config({"space": "nb201", "budgets": ["60MFLOPs"], "algo": "cascade"})
    assert tuple(cascade.identity()) == IDENTITY_KEYS + CASCADE_KEYS
    smaller = resolve_config({"space": "nb201", "budgets": ["60MFLOPs"], "algo": "cascade",
                              "screen_size": 7})  # fmt: skip
    assert smaller.fingerprint() != cascade.fingerprint()


def test_cli_lists_the_options_and_refuses_bad_ones(tmp_path: Path) -> None:
    from nascli.config import DEFAULT_FINALISTS, DEFAULT_SCREEN, DEFAULT_SCREEN_SIZE

    result = runner.invoke(app, ["search", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--screen ", "--screen-size", "--finalists", "cascade"):
        assert option in text
    for default in (f"({DEFAULT_SCREEN})", f"({DEFAULT_SCREEN_SIZE})", f"({DEFAULT_FINALISTS})"):
        assert default in text
    base = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
            "--algo", "cascade", "--out", str(tmp_path / "run"), "--no-onnx"]  # fmt: skip
    for extra, message in (
        (["--screen-size", "0"], "--screen-size must be at least 1"),
        (["--finalists", "0"], "--finalists must be at least 1"),
        (["--screen", "flops+params"], "the screen is one proxy"),
        (["--screen", "nosuchproxy"], "nosuchproxy"),
    ):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert not (tmp_path / "run").exists(), "checked before anything touches disk"


def test_cli_cascade_run_and_resume_refusal(tmp_path: Path) -> None:
    def search(*options: str):
        args = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
                "--iterations", "8", "--out", str(tmp_path / "run"), "--no-onnx", "--json",
                *options]  # fmt: skip
        return runner.invoke(app, args)

    cascade = ("--algo", "cascade", "--screen", "params", "--finalists", "6")
    result = search(*cascade, "--screen-size", "20")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trials"]["done"] == 8
    resolved = (tmp_path / "run" / "config.yaml").read_text()
    for option in ("algo: cascade", "screen: params", "screen_size: 20", "finalists: 6"):
        assert option in resolved
    again = search(*cascade, "--screen-size", "21")
    assert again.exit_code == 2
    assert "differs in screen_size" in again.output
    plain = search("--algo", "tpe")
    assert plain.exit_code == 2
    assert "differs in algo, finalists, screen, screen_size" in " ".join(plain.output.split())
