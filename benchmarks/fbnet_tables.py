"""Fit the shipped FBNet latency tables of 18 published device settings, and print their
accuracy on networks the fit never saw.

Reads ../shared/data/fbnet_latency_dev_devices.csv (HELP, NeurIPS 2021, MIT licence:
``HayeonLee/HELP`` ``data/fbnet/latency``; 5,000 networks of HW-NAS-Bench's FBNet space in
its CIFAR-100 setting × 18 device settings) and writes
``latency_tables/<device>/fbnet-cifar100-32.json`` for each column with exactly what
``nascli tables fit`` does (4,000 networks fitted, 1,000 held out, seed 0). nascli reads only
the tables at run time, never the CSV.

``--alternatives`` also prints what other models of a phone's timings reach on the same
split: adjacent-layer interaction terms, and the device's drifting state (a slowly varying
speed factor along the order the networks were timed, smoothed from fitted neighbours),
which explains most of the phones' remaining error but cannot be known for a new network.

    python benchmarks/fbnet_tables.py [--out latency_tables] [--alternatives]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from nascli.latency.fit import (
    DEFAULT_RIDGE,
    count_matrix,
    fit_table,
    prior_times,
    solve_times,
    split_indices,
)
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "fbnet_latency_dev_devices.csv"
SPACE = "fbnet-cifar100"
HOLDOUT = 1000
SOURCE = (
    "HELP (Lee et al., NeurIPS 2021, MIT licence), HayeonLee/HELP data/fbnet/latency at "
    "commit 45f70eb: HW-NAS-Bench's FBNet space, CIFAR-100 setting"
)
RUNTIME = (
    "the source's own measurement tooling on the device, not ONNX Runtime (the published "
    "files do not name it per device)"
)
GPUS = {"1080ti": "NVIDIA GeForce GTX 1080 Ti", "2080ti": "NVIDIA GeForce RTX 2080 Ti",
        "titanx": "NVIDIA GeForce GTX Titan X", "titanxp": "NVIDIA Titan Xp"}  # fmt: skip
CPUS = {"gold_6240": "Intel Xeon Gold 6240", "silver_4114": "Intel Xeon Silver 4114",
        "silver_4210r": "Intel Xeon Silver 4210R"}  # fmt: skip
PHONES = {"essential_ph_1": "Essential Phone PH-1", "samsung_a50": "Samsung Galaxy A50",
          "samsung_s7": "Samsung Galaxy S7"}  # fmt: skip


def device_record(name: str) -> dict[str, object]:
    """Name, class, batch size and description of a column's device setting."""
    model, _, batch = name.rpartition("_")
    if model in GPUS:
        return {"name": name, "class": "gpu", "batch_size": int(batch),
                "description": f"{GPUS[model]}, batch {batch}"}  # fmt: skip
    if name in CPUS:
        return {"name": name, "class": "x86-cpu", "batch_size": None,
                "description": f"{CPUS[name]} (batch size not stated by the source)"}  # fmt: skip
    return {"name": name, "class": "arm-cpu", "batch_size": 1,
            "description": f"{PHONES[name]}, networks timed whole on the phone, in ms"}  # fmt: skip


def load() -> tuple[list[str], list[str], np.ndarray]:
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c.endswith("_ms")]
    latency = np.array([[float(r[c]) for c in columns] for r in rows])
    return [r["arch"] for r in rows], [c[:-3] for c in columns], latency


def alternatives(archs: list[str], devices: list[str], latency: np.ndarray) -> None:
    """Held-out within ±10 % of other models, on the same split as the shipped tables."""
    space = get_space(SPACE)
    parsed = [space.parse(a) for a in archs]
    fit_rows, held_rows = split_indices(len(archs), HOLDOUT, 0)
    keys, counts = count_matrix(space, parsed, space.resolution)
    names = list(space.choices)
    choice = np.array([[names.index(n) for n in space.names(a)] for a in parsed])
    pairs = np.zeros((len(parsed), 21 * len(names) ** 2))
    for layer in range(21):
        code = layer * len(names) ** 2 + choice[:, layer] * len(names) + choice[:, layer + 1]
        pairs[np.arange(len(parsed)), code] = 1
    print(f"\n{'device':16s} {'additive':>9s} {'+pairs':>9s} {'+state*':>9s}   (held-out ±10 %)")
    for j, device in enumerate(devices):
        y = latency[:, j]
        prior = prior_times(keys, counts[fit_rows], y[fit_rows])
        times, overhead = solve_times(counts[fit_rows], y[fit_rows], DEFAULT_RIDGE, prior)
        base = counts @ times + overhead
        # adjacent-layer interactions on the relative residual, ridge-regularised
        resid = (y - base) / y
        p_fit = pairs[fit_rows]
        coef = np.linalg.solve(
            p_fit.T @ p_fit + 40.0 * np.eye(pairs.shape[1]), p_fit.T @ resid[fit_rows]
        )
        with_pairs = base / (1 - pairs @ coef)
        # the device's state: mean measured/predicted ratio of fitted nets within ±10 rows
        order = np.sort(fit_rows)
        ratio = np.concatenate([[0.0], np.cumsum(y[order] / base[order])])
        lo = np.searchsorted(order, np.arange(len(y)) - 10)
        hi = np.searchsorted(order, np.arange(len(y)) + 10, side="right")
        state = (ratio[hi] - ratio[lo]) / np.maximum(hi - lo, 1)
        figures = [within(p[held_rows], y[held_rows]) for p in (base, with_pairs, base * state)]
        print(f"{device:16s} " + " ".join(f"{f:8.1f}%" for f in figures))
    print("* uses the measurement order of the held-out nets: not available for a new network")


def within(predicted: np.ndarray, measured: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - measured) / measured <= 0.10 + 1e-9) * 100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "latency_tables"))
    parser.add_argument("--alternatives", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print figures only")
    args = parser.parse_args()
    if not DATA.is_file():
        raise SystemExit(f"missing {DATA}")
    archs, devices, latency = load()
    space = get_space(SPACE)
    print(f"{'device':16s} {'class':8s} {'batch':>5s} {'MAPE %':>7s} {'±5 %':>6s} {'±10 %':>6s}"
          f" {'Spearman':>8s} {'Kendall':>8s}  (held out: {HOLDOUT} of {len(archs)})")  # fmt: skip
    for j, device in enumerate(devices):
        info = {"source": SOURCE, "runtime": RUNTIME, "file": DATA.name, "column": f"{device}_ms",
                "networks": len(archs), "script": "benchmarks/fbnet_tables.py"}  # fmt: skip
        record = device_record(device)
        table = fit_table(space, archs, latency[:, j], device=record, measurements=info,
                          holdout=HOLDOUT, seed=0)  # fmt: skip
        if not args.no_write:
            table.save(Path(args.out) / device / f"{SPACE}-{space.resolution}.json")
        a = table.meta["accuracy"]
        print(f"{device:16s} {record['class']:8s} {record['batch_size'] or '-':>5} "
              f"{a['mape_pct']:7.2f} {a['within_5pct'] * 100:6.1f} {a['within_10pct'] * 100:6.1f}"
              f" {a['spearman']:8.4f} {a['kendall']:8.4f}")  # fmt: skip
    if args.alternatives:
        alternatives(archs, devices, latency)


if __name__ == "__main__":
    main()
