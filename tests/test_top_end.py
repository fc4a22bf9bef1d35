"""Top-end measures of `nascli proxies bench`: hand-derived values, ties, bootstrap, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nascli.top_end import expected_top_mean, population_reference, resolve_k, top_end


def test_top_k_mean_without_ties() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    targets = np.array([10.0, 40.0, 20.0, 30.0])
    # best two by score: 0.9 (40) and 0.7 (30) → 35
    assert expected_top_mean(scores, targets, 2) == pytest.approx(35.0)
    assert expected_top_mean(scores, targets, 1) == pytest.approx(40.0)
    assert expected_top_mean(scores, targets, 4) == pytest.approx(25.0)


def test_ties_at_the_cut_count_by_their_mean() -> None:
    # score 5 is tied three ways (targets 1, 2, 6: mean 3); top-2 takes the 9 (target 10)
    # and one slot of the tie, worth 3 in expectation → (10 + 3) / 2
    scores = np.array([9.0, 5.0, 5.0, 5.0, 1.0])
    targets = np.array([10.0, 1.0, 2.0, 6.0, 100.0])
    assert expected_top_mean(scores, targets, 2) == pytest.approx(6.5)
    # the argmax of an all-tied population is the population mean
    assert expected_top_mean(np.zeros(3), np.array([1.0, 2.0, 6.0]), 1) == pytest.approx(3.0)


def test_failed_scores_rank_last() -> None:
    result = top_end([None, 2.0, float("nan"), 1.0], [99.0, 5.0, 98.0, 3.0], ks=[2], draws=0)
    assert result.top_k["top-2"].value == pytest.approx(4.0)
    assert result.argmax.value == pytest.approx(5.0)


def test_percent_sizes() -> None:
    assert resolve_k("1%", 1000) == 10
    assert resolve_k("1%", 30) == 1  # at least one
    assert resolve_k(50, 20) == 20  # capped at the population
    with pytest.raises(ValueError):
        resolve_k("0%", 10)
    with pytest.raises(ValueError):
        resolve_k("ten", 10)


def test_bootstrap_is_seeded_and_brackets_the_point() -> None:
    rng = np.random.default_rng(3)
    targets = rng.normal(90, 2, 400)
    scores = targets + rng.normal(0, 2, 400)
    a = top_end(scores, targets, ks=[10], draws=300, seed=7)
    b = top_end(scores, targets, ks=[10], draws=300, seed=7)
    c = top_end(scores, targets, ks=[10], draws=300, seed=8)
    assert a == b
    assert a != c
    interval = a.top_k["top-10"]
    assert interval.low <= interval.value <= interval.high
    assert interval.high - interval.low > 0.1  # 10 of 400 noisy picks: not a point


def test_perfect_ranking_reference() -> None:
    ref = population_reference([1.0, 4.0, 3.0, 2.0], ks=[2])
    assert ref["top-2"] == pytest.approx(3.5)
    assert ref["argmax"] == 4.0
    assert ref["mean"] == pytest.approx(2.5)


def test_bench_prints_and_emits_top_end(tmp_path) -> None:
    from typer.testing import CliRunner

    from nascli.cli import app

    def run_cli(args):
        return CliRunner().invoke(app, args)

    truth = tmp_path / "truth.csv"
    # NB201 cells by index; 'flops' ranks them by MACs without building any network
    rows = ["index,acc"] + [f"{i},{float(i % 97)}" for i in range(0, 3000, 200)]
    truth.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cache = str(tmp_path / "c")
    common = ["proxies", "bench", "--ground-truth", str(truth), "--target", "acc",
              "--proxy", "flops", "--sample", "all", "--cache-dir", cache]  # fmt: skip
    result = run_cli([*common, "--top-k", "5,10%", "--bootstrap", "50", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    end = payload["results"][0]["top_end"]
    assert set(end["top_k_mean"]) == {"top-5", "top-10% (k=2)"}
    assert math.isfinite(end["argmax"]["value"])
    assert payload["top_end_perfect_ranking"]["argmax"] == 84.0
    text = run_cli([*common, "--top-k", "5"])
    assert "top end" in text.stdout and "perfect ranking" in text.stdout
    bad = run_cli([*common, "--top-k", "0"])
    assert bad.exit_code == 2 and "--top-k" in bad.output
