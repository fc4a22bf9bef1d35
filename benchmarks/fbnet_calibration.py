"""Few-shot calibration on the FBNet space: 18 published device settings, leave-one-out.

Reads ../shared/data/fbnet_latency_dev_devices.csv (HELP, NeurIPS 2021, MIT licence:
``HayeonLee/HELP`` ``data/fbnet/latency``; 5,000 networks × 18 settings). For each held-out
device, K seeded networks are "measured" from that data and three calibrations are compared
on the other 5,000 − K networks (Spearman, MAPE):

* ``prior``: ``tables calibrate`` with a per-key device prior (``grouping: key``) learned
  from the devices *not* held out; base table ``latency_tables/<base>/fbnet-cifar100-32.json``;
* ``per-op``: per-op-type scales of the same base, no prior (``--prior none``);
* ``FLOPs``: latency ≈ a·FLOPs + b on the same K networks.

``--holdout device`` leaves out one device (all batch sizes of a GPU model together);
``--holdout class`` leaves out a whole class (all GPUs, all Xeons, all phones). When the
held-out group contains the base table's device, the other base (``--alt-base``) is used.
``--write-prior`` writes the shipped prior (all 18 settings) for ``--base``.

    python benchmarks/fbnet_calibration.py [--holdout device|class] [--k 10] [--seeds 5]
        [--base silver_4210r] [--alt-base 2080ti_1] [--markdown] [--write-prior]
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
from nascli.latency.prior import DevicePrior, build_prior, derive_prior_stats, fit_prior_calibration
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fbnet_latency_dev_devices.csv"
SPACE = "fbnet-cifar100"
SOURCE = {
    "data": "HELP (Lee et al., NeurIPS 2021), MIT licence",
    "repository": "HayeonLee/HELP",
    "files": "data/fbnet/latency (18 settings: 1080ti/2080ti/titanx/titanxp at batch "
    "1/32/64, gold_6240, silver_4114, silver_4210r, essential_ph_1, samsung_a50, samsung_s7)",
    "script": "benchmarks/fbnet_calibration.py",
}


def group(device: str, holdout: str) -> str:
    """What is held out together: a GPU model (all batch sizes), or a device class."""
    if device.startswith(("gold_", "silver_")):
        return "xeon" if holdout == "class" else device
    if device.startswith(("essential_", "samsung_")):
        return "phone" if holdout == "class" else device
    return "gpu" if holdout == "class" else device.rsplit("_", 1)[0]


def load() -> tuple[list, list[str], np.ndarray]:
    space = get_space(SPACE)
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c.endswith("_ms")]
    archs = [space.parse(r["arch"]) for r in rows]
    return (
        archs,
        [c[:-3] for c in columns],
        np.array([[float(r[c]) for c in columns] for r in rows]),
    )


def table_of(device: str) -> LatencyTable:
    return LatencyTable.load(ROOT / "latency_tables" / device / f"{SPACE}-32.json")


def features(base: str, archs: list) -> tuple[np.ndarray, np.ndarray]:
    """Per-key and per-op-type sums of the base table's times, nets × groups."""
    table = table_of(base)
    per_key, per_op = GroupSums(table, "key"), GroupSums(table, "op")
    return np.array([per_key(a) for a in archs]), np.array([per_op(a) for a in archs])


def leave_out(args: argparse.Namespace) -> list[dict]:
    archs, devices, lat = load()
    space = get_space(SPACE)
    flops = np.array([space.cost(a).macs for a in archs], dtype=float)
    cache = {b: features(b, archs) for b in (args.base, args.alt_base)}
    stats_of = {b: derive_prior_stats(cache[b][0], lat)[2] for b in cache}
    rows = []
    for d, device in enumerate(devices):
        held = group(device, args.holdout)
        base = args.base if group(args.base, args.holdout) != held else args.alt_base
        x_key, x_op = cache[base]
        z = stats_of[base]
        others = [i for i, name in enumerate(devices) if group(name, args.holdout) != held]
        prior = DevicePrior(space=SPACE, resolution=32, base_fingerprint="",
                            groups=[str(i) for i in range(x_key.shape[1])],
                            mean=list(z[others].mean(axis=0)), cov=np.cov(z[others].T).tolist(),
                            meta={"grouping": "key"})  # fmt: skip
        y = lat[:, d]
        stats: dict[str, list[float]] = {}
        for seed in range(args.seeds):
            picked = random.Random(seed).sample(range(len(y)), args.k)
            rest = np.setdiff1d(np.arange(len(y)), picked)
            fit = fit_prior_calibration(x_key[picked], y[picked], prior)
            plain = fit_calibration(x_op[picked], y[picked])
            design = np.column_stack([flops[picked], np.ones(args.k)]) / y[picked][:, None]
            (a, b), _ = nnls(design, np.ones(args.k))
            preds = {
                "prior": x_key[rest] @ fit["scales"] + fit["overhead_ms"],
                "per_op": x_op[rest] @ plain["scales"] + plain["overhead_ms"],
                "flops": a * flops[rest] + b,
            }
            for name, pred in preds.items():
                rho = spearmanr(pred, y[rest]).statistic if np.ptp(pred) > 0 else 0.0
                stats.setdefault(f"{name}_rho", []).append(float(rho))
                mape = float(np.mean(np.abs(pred - y[rest]) / y[rest]) * 100)
                stats.setdefault(f"{name}_mape", []).append(mape)
        rows.append({"device": device, "base": base,
                     **{k: float(np.mean(v)) for k, v in stats.items()}})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--holdout", choices=["device", "class"], default="device")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--base", default="silver_4210r")
    parser.add_argument("--alt-base", default="2080ti_1")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write-prior", action="store_true")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"missing {DATA}")
    start = time.perf_counter()
    if args.write_prior:
        archs, devices, lat = load()
        out = ROOT / "latency_tables" / "priors" / f"{SPACE}-32.json"
        source = {**SOURCE, "base_table": f"latency_tables/{args.base}/{SPACE}-32.json"}
        build_prior(table_of(args.base), archs, lat, devices, source, grouping="key").save(out)
        print(f"wrote {out} ({len(devices)} devices, base {args.base})")
        return
    rows = leave_out(args)
    cols = ["prior_rho", "prior_mape", "per_op_rho", "per_op_mape", "flops_rho", "flops_mape"]
    mean = {c: float(np.mean([r[c] for r in rows])) for c in cols}
    if args.markdown:
        print("| device | prior ρ | prior MAPE % | per-op ρ | per-op MAPE % | FLOPs ρ "
              "| FLOPs MAPE % |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in [*rows, {"device": "**mean**", **mean}]:
            cells = [f"{r[c]:.3f}" if c.endswith("rho") else f"{r[c]:.2f}" for c in cols]
            print(f"| {r['device']} | " + " | ".join(cells) + " |")
    else:
        print(f"{'device':16s} " + " ".join(f"{c:>11s}" for c in cols) + "  base")
        for r in rows:
            print(
                f"{r['device']:16s} " + " ".join(f"{r[c]:11.3f}" for c in cols) + f"  {r['base']}"
            )
        print(f"{'MEAN':16s} " + " ".join(f"{mean[c]:11.3f}" for c in cols))
    print(f"\nK={args.k}, {args.seeds} draws per device, held out by {args.holdout}, base "
          f"{args.base} (alt {args.alt_base}), {time.perf_counter() - start:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
