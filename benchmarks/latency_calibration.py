"""Few-shot latency calibration on the 20 HELP development devices (NB201), leave-one-device-out.

For each device: K random networks (seeded draws) are "measured" (their latency from
../shared/data/nb201_latency_dev_devices.csv) and the base table is calibrated on them in
three ways; Spearman and MAPE are computed on all other 15,615 networks:

* ``prior``: the device prior (``nascli.latency.prior``) learned from the *other 19* devices,
  MAP fit with per-op fallback — what ``nascli tables calibrate`` does with a shipped prior;
* ``per-op``: per-op-type scales with ridge to a common scale (``--prior none``);
* ``FLOPs``: latency ≈ a·FLOPs + b (NNLS on the same K networks; its Spearman is FLOPs').

    python benchmarks/latency_calibration.py [--table latency_tables/cpu/nb201-32.json]
        [--k 10] [--seeds 5] [--holdout device|family] [--markdown]
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
from nascli.latency.prior import DevicePrior, derive_prior_stats, fit_prior_calibration
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nb201_latency_dev_devices.csv"
TABLE = ROOT / "latency_tables" / "cpu" / "nb201-32.json"


def load_help_csv(path: Path = DATA) -> tuple[list, list[str], np.ndarray]:
    """(NB201 archs, device names, latencies nets × devices) of HELP's wide CSV."""
    space = get_space("nb201")
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c.endswith("_ms")]
    archs = [space.from_index(int(r["index"])) for r in rows]
    latencies = np.array([[float(r[c]) for c in columns] for r in rows])
    return archs, [c[: -len("_ms")] for c in columns], latencies


def family(device: str) -> str:
    """Hardware family of a HELP device setting: the GPU model (all batch sizes), Xeon, phone."""
    if device.startswith(("gold_", "silver_")):
        return "xeon"
    if device.startswith(("essential_", "samsung_")):
        return "phone"
    return device.rsplit("_", 1)[0]


def leave_one_out(table: LatencyTable, k: int, seeds: int, holdout: str = "device") -> list[dict]:
    """Per device: mean over seeded draws of Spearman/MAPE for prior, per-op and FLOPs.

    ``holdout="family"`` learns each device's prior without any device of its family (no
    other batch size of the same GPU, no other Xeon or phone): a harder, less optimistic test.
    """
    archs, devices, lat = load_help_csv()
    space = get_space("nb201")
    sums = GroupSums(table)
    x = np.array([sums(a) for a in archs])
    flops = np.array([space.cost(a).macs for a in archs], dtype=float)
    _, _, z = derive_prior_stats(x, lat)
    rows = []
    for d, device in enumerate(devices):
        others = [
            i
            for i in range(len(devices))
            if i != d and (holdout == "device" or family(devices[i]) != family(device))
        ]
        prior = DevicePrior(
            space="nb201",
            resolution=table.resolution,
            base_fingerprint="",
            groups=list(sums.groups),
            mean=list(z[others].mean(axis=0)),
            cov=np.cov(z[others].T).tolist(),
        )
        y = lat[:, d]
        stats: dict[str, list[float]] = {}
        used_prior = 0
        for seed in range(seeds):
            picked = random.Random(seed).sample(range(len(y)), k)
            rest = np.setdiff1d(np.arange(len(y)), picked)
            fit = fit_prior_calibration(x[picked], y[picked], prior)
            used_prior += fit["method"] == "prior"
            plain = fit_calibration(x[picked], y[picked])
            design = np.column_stack([flops[picked], np.ones(k)]) / y[picked][:, None]
            (a, b), _ = nnls(design, np.ones(k))
            preds = {
                "prior": x[rest] @ fit["scales"] + fit["overhead_ms"],
                "per_op": x[rest] @ plain["scales"] + plain["overhead_ms"],
                "flops": a * flops[rest] + b,
            }
            for name, pred in preds.items():
                rho = spearmanr(pred, y[rest]).statistic
                mape = float(np.mean(np.abs(pred - y[rest]) / y[rest]) * 100)
                stats.setdefault(f"{name}_rho", []).append(rho)
                stats.setdefault(f"{name}_mape", []).append(mape)
        row = {"device": device, **{k_: float(np.mean(v)) for k_, v in stats.items()}}
        row["prior_rho_min"] = float(np.min(stats["prior_rho"]))
        row["prior_used"] = used_prior / seeds
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default=str(TABLE.relative_to(ROOT)))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5, help="seeded draws of K per device")
    parser.add_argument("--holdout", choices=["device", "family"], default="device")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"missing {DATA}")
    start = time.perf_counter()
    rows = leave_one_out(LatencyTable.load(args.table), args.k, args.seeds, args.holdout)
    cols = ["prior_rho", "prior_mape", "per_op_rho", "per_op_mape", "flops_rho", "flops_mape"]
    mean = {c: float(np.mean([r[c] for r in rows])) for c in cols}
    if args.markdown:
        print(
            "| device | prior ρ | prior MAPE % | per-op ρ | per-op MAPE % "
            "| FLOPs ρ | FLOPs MAPE % |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in [*rows, {"device": "**mean**", **mean}]:
            print(
                f"| {r['device']} | "
                + " | ".join(f"{r[c]:.3f}" if c.endswith("rho") else f"{r[c]:.2f}" for c in cols)
                + " |"
            )
    else:
        print(f"{'device':16s} " + " ".join(f"{c:>11s}" for c in cols) + "  prior_used")
        for r in rows:
            print(
                f"{r['device']:16s} "
                + " ".join(f"{r[c]:11.3f}" for c in cols)
                + f"  {r['prior_used']:.1f}"
            )
        print(f"{'MEAN':16s} " + " ".join(f"{mean[c]:11.3f}" for c in cols))
    print(
        f"\nK={args.k}, {args.seeds} draws per device, prior without the held-out "
        f"{args.holdout}, "
        f"table {args.table}, "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
