"""Few-sample latency calibration on the 20 HELP devices (NB201), vs a FLOPs-only baseline.

For each device: K random networks (seeded) are "measured" (their latency from
../shared/data/nb201_latency_dev_devices.csv), the base table is calibrated on them
(nascli.latency.calibrate), and Spearman/MAPE are computed on all other 15,615 networks.
Baseline: latency ≈ a·FLOPs + b (NNLS on the same K networks; its Spearman is FLOPs').

    python benchmarks/latency_calibration.py [--table latency_tables/cpu/nb201-32.json] [--k 10]
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

import numpy as np
from scipy.optimize import nnls
from scipy.stats import spearmanr

from nascli.latency.calibrate import GroupSums, fit_calibration
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nb201_latency_dev_devices.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default=str(ROOT / "latency_tables" / "cpu" / "nb201-32.json"))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5, help="repeat with this many draws of K")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"missing {DATA}")
    table = LatencyTable.load(args.table)
    space = get_space("nb201")
    with DATA.open() as handle:
        rows = list(csv.DictReader(handle))
    devices = [c for c in rows[0] if c.endswith("_ms")]
    archs = [space.from_index(int(r["index"])) for r in rows]
    start = time.perf_counter()
    sums = GroupSums(table)
    x = np.array([sums(a) for a in archs])
    flops = np.array([space.cost(a).macs for a in archs], dtype=float)
    seconds = time.perf_counter() - start
    print(f"group sums for {len(archs)} nets in {seconds:.1f}s; groups {sums.groups}")
    print(f"{'device':18s} {'rho':>6s} {'mape%':>7s} | {'rho_flops':>9s} {'mape_flops%':>11s}")
    ours, base = [], []
    for device in devices:
        y = np.array([float(r[device]) for r in rows])
        r_c, m_c, r_f, m_f = [], [], [], []
        for seed in range(args.seeds):
            picked = random.Random(seed).sample(range(len(y)), args.k)
            rest = np.setdiff1d(np.arange(len(y)), picked)
            fit = fit_calibration(x[picked], y[picked])
            pred = x[rest] @ fit["scales"] + fit["overhead_ms"]
            r_c.append(spearmanr(pred, y[rest]).statistic)
            m_c.append(np.mean(np.abs(pred - y[rest]) / y[rest]) * 100)
            design = np.column_stack([flops[picked], np.ones(args.k)]) / y[picked][:, None]
            (a, b), _ = nnls(design, np.ones(args.k))
            pred_f = a * flops[rest] + b
            r_f.append(spearmanr(flops[rest], y[rest]).statistic)
            m_f.append(np.mean(np.abs(pred_f - y[rest]) / y[rest]) * 100)
        ours.append((np.mean(r_c), np.mean(m_c)))
        base.append((np.mean(r_f), np.mean(m_f)))
        (rho, mape), (rho_f, mape_f) = ours[-1], base[-1]
        print(f"{device:18s} {rho:6.3f} {mape:7.2f} | {rho_f:9.3f} {mape_f:11.2f}")
    ours_a, base_a = np.array(ours), np.array(base)
    print(
        f"{'MEAN':18s} {ours_a[:, 0].mean():6.3f} {ours_a[:, 1].mean():7.2f} | "
        f"{base_a[:, 0].mean():9.3f} {base_a[:, 1].mean():11.2f}"
    )
    print(f"K={args.k}, {args.seeds} draws per device, table {args.table}")


if __name__ == "__main__":
    main()
