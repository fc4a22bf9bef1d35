"""``tables calibrate`` on the FBNet space: a per-key device prior learned from 18 settings."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from nascli.cli import app
from nascli.latency.calibrate import GroupSums, group_of
from nascli.latency.predict import Predictor
from nascli.latency.prior import DevicePrior, find_prior
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey
from nascli.spaces import get_space
from tests.conftest import REPO

SPACE = "fbnet-cifar100"
BASE = REPO / "latency_tables" / "silver_4210r" / f"{SPACE}-32.json"
PRIOR = REPO / "latency_tables" / "priors" / f"{SPACE}-32.json"


def test_the_shipped_prior_belongs_to_its_base_and_prices_keys_one_by_one() -> None:
    base = LatencyTable.load(BASE)
    found = find_prior(base)
    assert found is not None and found[1].name == PRIOR.name
    prior = found[0]
    assert prior.grouping == "key" and len(prior.meta["devices"]) == 18
    assert sorted(prior.groups) == sorted(base.entries)
    assert isinstance(DevicePrior.load(PRIOR), DevicePrior)


def test_key_grouping_sums_each_entry_times_its_count() -> None:
    base = LatencyTable.load(BASE)
    space = get_space(SPACE)
    arch = space.make(["k3_e6"] * 22)
    sums = GroupSums(base, "key")
    values = dict(zip(sums.groups, sums(arch), strict=True))
    keys = space.layers(arch)
    repeated = keys[3]  # stem, 16→16, 16→24, then 24→24 k3_e6 three times
    assert keys.count(repeated) == 3
    assert values[repeated.to_str()] == 3 * base.value(repeated.to_str())
    assert group_of(LayerKey.from_str(repeated.to_str()), "op") == "ir"


@pytest.mark.slow
def test_calibrate_ten_gpu_nets_ranks_the_rest_better_than_flops(
    shared_file, tmp_path: Path
) -> None:
    """Ten 1080 Ti (batch 32) nets calibrate the Xeon table through the prior; the other 4,990
    are ranked better than by FLOPs fitted on the same ten."""
    with shared_file("fbnet_latency_dev_devices.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked = random.Random(0).sample(range(len(rows)), 10)
    measurements = tmp_path / "k.csv"
    with measurements.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "latency_ms"])
        writer.writerows([rows[i]["arch"], rows[i]["1080ti_32_ms"]] for i in picked)
    out = tmp_path / "gpu.json"
    args = ["tables", "calibrate", "--base", str(BASE), "--measurements", str(measurements),
            "--out", str(out), "--device-name", "my_gpu"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = LatencyTable.load(out)
    assert table.meta["calibration"]["grouping"] == "key"
    assert table.meta["calibration"]["prior"].endswith(PRIOR.name)
    assert "my_gpu" in table.meta["measurements"]["source"]
    space = get_space(SPACE)
    rest = [i for i in range(len(rows)) if i not in set(picked)]
    archs = [space.parse(rows[i]["arch"]) for i in rest]
    measured = np.array([float(rows[i]["1080ti_32_ms"]) for i in rest])
    predicted = [p.latency_ms for p in Predictor(table).predict_many(archs)]
    flops = [space.cost(a).macs for a in archs]
    assert spearmanr(predicted, measured).statistic > spearmanr(flops, measured).statistic
