"""``nascli tables fit`` and the shipped tables fitted to published FBNet measurements."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.latency.fit import count_matrix, split_indices
from nascli.latency.predict import Predictor
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey
from nascli.spaces import get_space
from tests.conftest import REPO

runner = CliRunner()
SPACE = "fbnet-cifar100"
CSV = "fbnet_latency_dev_devices.csv"
DEVICES = ["1080ti_1", "1080ti_32", "1080ti_64", "2080ti_1", "2080ti_32", "2080ti_64",
           "essential_ph_1", "gold_6240", "samsung_a50", "samsung_s7", "silver_4114",
           "silver_4210r", "titanx_1", "titanx_32", "titanx_64", "titanxp_1", "titanxp_32",
           "titanxp_64"]  # fmt: skip


def _synthetic(tmp_path: Path, n: int = 150) -> tuple[Path, dict[str, float]]:
    """A CSV of n random nets whose latency is exactly 1.5 ms + Σ hand-set key times."""
    space = get_space(SPACE)
    rng = random.Random(3)
    archs = [space.make([rng.choice(s.choices) for s in space.slots]) for _ in range(n)]
    keys, counts = count_matrix(space, archs, 32)
    times = {k.to_str(): 0.05 + 0.01 * (i % 17) for i, k in enumerate(keys)}
    ms = 1.5 + counts @ np.array([times[k.to_str()] for k in keys])
    path = tmp_path / "nets.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "device_ms"])
        writer.writerows([a.body, f"{v:.9f}"] for a, v in zip(archs, ms, strict=True))
    return path, times


def _fit_args(path: Path, out: Path, *extra: str) -> list[str]:
    return ["tables", "fit", "--space", SPACE, "--measurements", str(path), "--out", str(out),
            "--device-name", "toy", "--device-class", "arm-cpu", "--column", "device_ms",
            "--source", "hand-made", "--runtime", "none", "--holdout", "30", *extra]  # fmt: skip


def test_fit_recovers_hand_set_key_times_and_predicts_held_out_nets(tmp_path: Path) -> None:
    """Keys of shape-keeping layers are identifiable from whole nets: recovered exactly.
    (A layer that always holds one of its choices trades a common time with the overhead;
    there only the predictions are checked.)"""
    path, times = _synthetic(tmp_path)
    out = tmp_path / "toy" / f"{SPACE}-32.json"
    result = runner.invoke(app, [*_fit_args(path, out), "--ridge", "1e-9", "--json"])
    assert result.exit_code == 0, result.output
    table = LatencyTable.load(out)
    kept = [k for k in table.entries if k.startswith("ir") and LayerKey.from_str(k).stride == 1
            and LayerKey.from_str(k).cin == LayerKey.from_str(k).cout]  # fmt: skip
    assert len(kept) == 6 * 8  # shape-keeping layers at widths 16, 24, 32, 64, 112, 184
    for key in kept:
        assert table.entries[key]["min_ms"] == pytest.approx(times[key], abs=1e-4), key
    accuracy = table.meta["accuracy"]
    assert accuracy["n"] == 30 and accuracy["mape_pct"] < 1e-3 and accuracy["split"] == "held_out"
    assert table.meta["fit_details"]["networks"] == 120
    assert table.meta["device"]["class"] == "arm-cpu"
    assert table.meta["measurements"]["source"] == "hand-made"
    assert json.loads(result.stdout)["accuracy"]["n"] == 30
    check = runner.invoke(app, ["tables", "check", str(out)])
    assert check.exit_code == 0, check.output
    default = runner.invoke(app, _fit_args(path, tmp_path / "default.json"))
    assert default.exit_code == 0, default.output
    # the default pull toward the prior costs a little on 120 nets (nothing on 4,000)
    assert LatencyTable.load(tmp_path / "default.json").meta["accuracy"]["mape_pct"] < 0.5


def test_holdout_split_is_seeded_and_disjoint() -> None:
    fit, held = split_indices(100, 20, 0)
    again, held_again = split_indices(100, 20, 0)
    assert len(fit) == 80 and len(held) == 20 and not set(fit) & set(held)
    assert (fit == again).all() and (held == held_again).all()
    assert set(split_indices(100, 20, 1)[1]) != set(held)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--column", "nope_ms"], "needs columns arch and 'nope_ms'"),
        (["--device-class", "toaster"], "device class 'toaster'"),
        (["--holdout", "150"], "--holdout must be between 1 and 149"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    path, _ = _synthetic(tmp_path, n=150)
    result = runner.invoke(app, [*_fit_args(path, tmp_path / "t.json"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t.json").exists()


def test_each_published_setting_ships_a_described_table() -> None:
    for device in DEVICES:
        table = LatencyTable.load(REPO / "latency_tables" / device / f"{SPACE}-32.json")
        meta = table.meta
        assert meta["method"] == "fitted-from-networks" and table.device_name == device
        assert meta["device"]["class"] in ("gpu", "x86-cpu", "arm-cpu")
        assert "HELP" in meta["measurements"]["source"]
        assert "not ONNX Runtime" in meta["measurements"]["runtime"]
        assert meta["measurements"]["column"] == f"{device}_ms"
        assert meta["accuracy"]["n"] == 1000 and meta["fit_details"]["networks"] == 4000
        if meta["device"]["class"] == "gpu":
            assert meta["device"]["batch_size"] == int(device.rsplit("_", 1)[1])


@pytest.mark.slow
def test_shipped_accuracy_is_what_the_table_gives_on_its_held_out_nets(shared_file) -> None:
    """Recompute one table's held-out figures from the published CSV and its recorded split."""
    from nascli.latency.predict import accuracy_figures

    table = LatencyTable.load(REPO / "latency_tables" / "samsung_a50" / f"{SPACE}-32.json")
    with shared_file(CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    details = table.meta["fit_details"]
    _, held = split_indices(len(rows), details["held_out"], details["seed"])
    space = get_space(SPACE)
    predicted = Predictor(table).predict_many([space.parse(rows[i]["arch"]) for i in held])
    figures = accuracy_figures(
        [p.latency_ms for p in predicted], [float(rows[i]["samsung_a50_ms"]) for i in held]
    )
    stored = table.meta["accuracy"]
    assert figures["mape_pct"] == stored["mape_pct"]
    assert figures["within_10pct"] == stored["within_10pct"]
    assert figures["spearman"] == stored["spearman"]


def test_a_budget_names_a_fitted_device() -> None:
    from nascli.budget import parse_budget

    budget = parse_budget("30ms@samsung_a50")
    assert (budget.device, budget.limit) == ("samsung_a50", 30.0)


@pytest.mark.slow
def test_search_under_a_phone_latency_budget_runs_end_to_end(tmp_path: Path) -> None:
    args = ["search", "--space", SPACE, "--proxy", "params", "--budget", "30ms@samsung_a50",
            "--iterations", "4", "--out", str(tmp_path / "run"), "--no-onnx", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    table = LatencyTable.load(REPO / "latency_tables" / "samsung_a50" / f"{SPACE}-32.json")
    predictor = Predictor(table)
    space = get_space(SPACE)
    assert summary["top"]
    for row in summary["top"]:
        assert predictor.predict(space.parse(row["canonical"].split(":", 1)[1])).latency_ms <= 30


def test_predict_finds_a_fitted_devices_table_by_name() -> None:
    space = get_space(SPACE)
    arch = space.make(["k3_e3"] * 22)
    result = runner.invoke(app, ["predict", arch.canonical, "--device", "1080ti_32", "--json"])
    assert result.exit_code == 0, result.output
    table = LatencyTable.load(REPO / "latency_tables" / "1080ti_32" / f"{SPACE}-32.json")
    expected = Predictor(table).predict(arch).latency_ms
    assert json.loads(result.stdout)["predictions"][0]["latency_ms"] == pytest.approx(expected)
    unknown = runner.invoke(app, ["predict", arch.canonical, "--device", "1080ti_33"])
    assert unknown.exit_code == 2 and "unknown device" in unknown.output
