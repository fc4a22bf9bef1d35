"""Is an NB201 table's error the additive model's, or the probes'? Time many cells and fit.

NB201 tables are a regression: whole probe networks are timed and per-op costs solved by
NNLS on relative errors. This script times N further seeded random cells with the table's
device profile and protocol (one pass), then reports on them, in one run:

- the table's own error (MAPE, share within ±10 %, largest error);
- the same op-count model fitted on the first K cells and scored on the others (how many
  probes a regression needs);
- 10-fold cross-validation of op counts against richer, still additive features (which op
  sits on which edge; pairs of ops entering the same node);
- the machine's floor: the first 40 cells timed again in a fresh pass.

    python benchmarks/latency_nb201_model.py latency_tables/cpu/nb201-32.json --cells 160 \
        [--also OTHER_TABLE.json]
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NODE_PAIRS = ((1, 2), (3, 4), (3, 5), (4, 5))  # edge indices entering node 2 and node 3


def op_counts(ops: tuple[str, ...]) -> list[float]:
    return [float(ops.count(op)) for op in OPS]


def edge_ops(ops: tuple[str, ...]) -> list[float]:
    return [float(ops[edge] == op) for edge in range(6) for op in OPS]


def node_pairs(ops: tuple[str, ...]) -> list[float]:
    pairs = [float(ops[i] == a and ops[j] == b) for i, j in NODE_PAIRS for a in OPS for b in OPS]
    return edge_ops(ops) + pairs


FEATURES = {"op counts": op_counts, "op per edge": edge_ops, "op per edge + node pairs": node_pairs}


def fit(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """NNLS on relative errors, as the table's regression (intercept = last column)."""
    coef, _ = nnls(design / y[:, None], np.ones_like(y), maxiter=5000)
    return coef


def errors(predicted: np.ndarray, measured: np.ndarray) -> str:
    rel = np.abs(predicted - measured) / measured
    return (
        f"MAPE {100 * rel.mean():4.1f} %, within ±10 % {100 * np.mean(rel <= 0.1):3.0f} %, "
        f"largest {100 * rel.max():3.0f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path, help="its device profile and protocol time the cells")
    parser.add_argument("--also", type=Path, action="append", default=[], help="table to score")
    parser.add_argument("--cells", type=int, default=160)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--retime", type=int, default=40)
    args = parser.parse_args()

    from nascli.latency.devices import PROFILE_KEYS, DeviceProfile
    from nascli.latency.measure import measure_networks
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable
    from nascli.latency.timing import TimingProtocol
    from nascli.spaces import get_space

    table = LatencyTable.load(args.table)
    if table.space != "nb201":
        raise SystemExit(f"error: {args.table} is a {table.space} table, not nb201")
    stored = {k: v for k, v in table.meta["device"].items() if k in PROFILE_KEYS}
    device = DeviceProfile.from_dict(stored, str(args.table))
    protocol = replace(TimingProtocol.from_dict(table.meta["protocol"]), passes=1)
    space = get_space("nb201")
    rng = random.Random(args.seed)
    archs = [space.sample(rng) for _ in range(args.cells)]
    field = f"{protocol.statistic}_ms"

    def time_cells(cells: list) -> np.ndarray:
        stats = measure_networks("nb201", cells, table.resolution, device, protocol)
        return np.array([s[field] for s in stats])

    y = time_cells(archs)
    print(f"{len(archs)} random cells, {protocol.clock} clock, {protocol.statistic} of "
          f"{protocol.runs} runs: {y.min():.2f}-{y.max():.2f} ms")  # fmt: skip
    for path in [args.table, *args.also]:
        scored = LatencyTable.load(path)
        predicted = np.array([p.latency_ms for p in Predictor(scored).predict_many(archs)])
        print(f"table {path}: {errors(predicted, y)}, mean error "
              f"{100 * np.mean((predicted - y) / y):+.1f} %")  # fmt: skip

    ops = [space.ops(arch) for arch in archs]
    designs = {name: np.array([[*f(o), 1.0] for o in ops]) for name, f in FEATURES.items()}
    counts = designs["op counts"]
    for k in (30, 60, 100):
        if k < len(y):
            coef = fit(counts[:k], y[:k])
            print(f"op counts fitted on {k:3d} cells, scored on {len(y) - k}: "
                  f"{errors(counts[k:] @ coef, y[k:])}")  # fmt: skip

    order = np.random.default_rng(0).permutation(len(y))
    for name, design in designs.items():
        predicted = np.zeros_like(y)
        for fold in range(10):
            test = order[fold::10]
            train = np.setdiff1d(order, test)
            predicted[test] = design[test] @ fit(design[train], y[train])
        print(f"10-fold cross-validation, {name:26s}: {errors(predicted, y)}")

    if args.retime:
        again = time_cells(archs[: args.retime])
        change = np.abs(again / y[: args.retime] - 1)
        print(f"{args.retime} cells timed again: mean |change| {100 * change.mean():.1f} %, "
              f"largest {100 * change.max():.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
