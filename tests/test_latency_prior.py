"""Device prior for few-shot calibration: the MAP maths, fallback, shipped prior, CLI, HELP LOO."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.errors import ConfigError
from nascli.latency.calibrate import GroupSums, fit_calibration
from nascli.latency.prior import (
    DevicePrior,
    find_prior,
    fit_prior_calibration,
    posterior_mean,
)
from nascli.latency.table import LatencyTable, list_tables
from nascli.spaces import get_space
from tests.conftest import REPO

runner = CliRunner()
NB201 = get_space("nb201")
BASE_PATH = REPO / "latency_tables" / "cpu" / "nb201-32.json"
PRIOR_PATH = REPO / "latency_tables" / "priors" / "nb201-32.json"
HOLDOUT = {"titan_rtx_256", "gold_6226", "pixel2", "raspi4", "eyeriss", "fpga", "pixel3"}


def test_posterior_mean_by_hand() -> None:
    """Two rows say c = 2 (0.5·c = 1), the prior says c = 1; equal precision-weighted pull.

    Posterior precision 2·0.25/1 + 1/1 = 1.5; information 2·0.5·1/1 + 1·1 = 2; c = 4/3.
    """
    coef = posterior_mean([[0.5], [0.5]], [1.0, 1.0], [1.0], [[1.0]], sigma=1.0)
    assert coef[0] == pytest.approx(4 / 3, rel=1e-9)
    # A very confident prior wins; very precise data win.
    assert posterior_mean([[0.5], [0.5]], [1, 1], [1.0], [[1e-8]], 1.0)[0] == pytest.approx(1, 1e-6)
    assert posterior_mean([[0.5], [0.5]], [1, 1], [1.0], [[1.0]], 1e-4)[0] == pytest.approx(2, 1e-6)


def _family_prior(sums: GroupSums) -> tuple[DevicePrior, np.ndarray, np.ndarray]:
    """A prior from synthetic devices on one line z = m0 + t·v (plus a little spread)."""
    g = len(sums.groups)
    live = [sums.groups.index(name) for name in ("nb201_conv:k1", "nb201_conv:k3", "nb201_pool")]
    m0 = np.zeros(g + 1)
    m0[live] = [1.0, 0.3, 0.6]
    m0[-1] = 0.3
    v = np.zeros(g + 1)
    v[live] = [0.5, -0.1, 0.8]
    rng = np.random.default_rng(0)
    z = np.array(
        [m0 + t * v + rng.normal(0, 1e-3, g + 1) * (m0 > 0) for t in np.linspace(-1, 1, 12)]
    )
    prior = DevicePrior("nb201", 32, "", list(sums.groups), list(z.mean(0)), np.cov(z.T).tolist())
    return prior, m0, v


def test_prior_recovers_an_in_family_device_from_few_networks() -> None:
    base = LatencyTable.load(BASE_PATH)
    sums = GroupSums(base)
    prior, m0, v = _family_prior(sums)
    truth = 3.0 * (m0 + 0.7 * v)
    archs = [NB201.sample(random.Random(i)) for i in range(300)]
    x = np.array([sums(a) for a in archs])
    y = x @ truth[:-1] + truth[-1]
    fit = fit_prior_calibration(x[:5], y[:5], prior)
    assert fit["method"] == "prior"
    pred = x[5:] @ fit["scales"] + fit["overhead_ms"]
    prior_err = np.mean(np.abs(pred - y[5:]) / y[5:])
    free = fit_calibration(x[:5], y[:5])
    free_err = np.mean(np.abs(x[5:] @ free["scales"] + free["overhead_ms"] - y[5:]) / y[5:])
    assert prior_err < 0.01 and prior_err < free_err


def test_prior_falls_back_to_per_op_scales_for_an_out_of_family_device() -> None:
    base = LatencyTable.load(BASE_PATH)
    sums = GroupSums(base)
    prior, m0, _ = _family_prior(sums)
    truth = m0.copy()
    truth[sums.groups.index("nb201_pool")] = 30.0  # pooling 50x dearer than any source device
    truth[sums.groups.index("nb201_conv:k3")] = 0.01
    archs = [NB201.sample(random.Random(100 + i)) for i in range(12)]
    x = np.array([sums(a) for a in archs])
    y = x @ truth[:-1] + truth[-1]
    fit = fit_prior_calibration(x, y, prior)
    assert fit["method"] == "per-op"
    assert fit["loo_mape_per_op"] * 1.5 < fit["loo_mape_prior"]


def test_shipped_prior_fits_the_shipped_base_and_names_its_source() -> None:
    base = LatencyTable.load(BASE_PATH)
    found = find_prior(base)
    assert found is not None and found[1].resolve() == PRIOR_PATH.resolve()
    prior = found[0]
    assert "HayeonLee/HELP" in prior.meta["source"]["repository"]
    assert len(prior.meta["devices"]) == 20 and not HOLDOUT & set(prior.meta["devices"])
    # A prior is not a table: `tables check` skips it.
    assert PRIOR_PATH.resolve() not in [p.resolve() for p in list_tables()]


def test_prior_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        DevicePrior.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "nascli-latency-prior", "schema_version": 1}))
    with pytest.raises(ConfigError, match="malformed prior"):
        DevicePrior.load(bad)


def _measurements(tmp_path: Path, n: int = 10) -> Path:
    sums = GroupSums(LatencyTable.load(BASE_PATH))
    prior = DevicePrior.load(PRIOR_PATH)
    truth = 4.0 * np.asarray(prior.mean)
    lines = ["arch,latency_ms"]
    for i in range(n):
        arch = NB201.sample(random.Random(i))
        lines.append(f"{arch.body},{float(np.dot(sums(arch), truth[:-1]) + truth[-1]):.6f}")
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_calibrate_uses_the_shipped_prior_and_reports_it(tmp_path: Path) -> None:
    args = ["tables", "calibrate", "--base", str(BASE_PATH), "--measurements"]
    args += [str(_measurements(tmp_path)), "--out", str(tmp_path / "cal.json"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    info = json.loads(result.stdout)
    assert info["prior_used"] and info["prior"].endswith("priors/nb201-32.json")
    table = LatencyTable.load(tmp_path / "cal.json")
    assert table.meta["fit"]["method"].startswith("device prior")
    result = runner.invoke(app, [*args, "--prior", "none"])
    assert result.exit_code == 0 and not json.loads(result.stdout)["prior_used"]


def test_cli_calibrate_bad_prior_is_one_line_exit_2(tmp_path: Path) -> None:
    args = ["tables", "calibrate", "--base", str(BASE_PATH), "--measurements"]
    args += [str(_measurements(tmp_path, 4)), "--out", str(tmp_path / "cal.json")]
    result = runner.invoke(app, [*args, "--prior", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    other = DevicePrior.load(PRIOR_PATH)
    other.base_fingerprint = "0000"
    other.save(tmp_path / "other.json")
    result = runner.invoke(app, [*args, "--prior", str(tmp_path / "other.json")])
    assert result.exit_code == 2 and "another base table" in result.stderr


def test_leave_one_device_out_on_help_dev_devices(shared_file) -> None:
    """K = 10, 2 seeded draws: prior from the other 19 devices; mean Spearman ≥ 0.95 and above
    the per-op fit (the full 5-draw table is benchmarks/latency_calibration.py)."""
    import csv

    from scipy.stats import spearmanr

    from nascli.latency.prior import derive_prior_stats

    data = shared_file("nb201_latency_dev_devices.csv")
    with data.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    devices = [c for c in rows[0] if c.endswith("_ms")]
    assert len(devices) == 20 and not {d[:-3] for d in devices} & HOLDOUT
    sums = GroupSums(LatencyTable.load(BASE_PATH))
    x = np.array([sums(NB201.from_index(int(r["index"]))) for r in rows])
    lat = np.array([[float(r[d]) for d in devices] for r in rows])
    _, _, z = derive_prior_stats(x, lat)
    ours, free = [], []
    for d in range(len(devices)):
        others = [i for i in range(len(devices)) if i != d]
        prior = DevicePrior(
            "nb201",
            32,
            "",
            list(sums.groups),
            list(z[others].mean(0)),
            np.cov(z[others].T).tolist(),
        )
        for seed in range(2):
            picked = random.Random(seed).sample(range(len(rows)), 10)
            rest = np.setdiff1d(np.arange(len(rows)), picked)
            y = lat[:, d]
            fit = fit_prior_calibration(x[picked], y[picked], prior)
            ours.append(spearmanr(x[rest] @ fit["scales"], y[rest]).statistic)
            plain = fit_calibration(x[picked], y[picked])
            free.append(spearmanr(x[rest] @ plain["scales"], y[rest]).statistic)
    assert np.mean(ours) >= 0.95
    assert np.mean(ours) > np.mean(free)
