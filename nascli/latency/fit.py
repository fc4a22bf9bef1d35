"""``tables fit``: a latency table fitted to whole networks measured on a device.

Public benchmarks (HELP, HW-NAS-Bench, BRP-NAS) publish the end-to-end latency of thousands
of networks of a space on devices nascli cannot run (desktop GPUs, Xeons, phones). In a
layer-wise space every layer's input is fixed by its slot, so a network is a sum of
per-(layer, choice) blocks, and their times can be recovered from whole networks by least
squares: ``ms ≈ overhead + Σ_key count(key) · t(key)``. The fit minimises the *relative*
error (each network weighted by 1/ms, as latency budgets are), keeps every time ≥ 0, and
is validated on networks it never saw (a seeded hold-out), so the table's ``accuracy`` means
the same as that of a profiled table: predictions of whole networks not used to build it.

Some splits are invisible in whole networks (a key in every network is the overhead's twin;
a layer that always holds one of its choices trades a common time with the overhead): a
small ridge toward a MACs-and-count prior settles them (``prior_times``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.latency.table import LatencyTable, now_iso
from nascli.layers import LayerKey

METHOD = "fitted-from-networks"
DEVICE_CLASSES = ("gpu", "x86-cpu", "arm-cpu", "npu", "simulator")
HOLDOUT_SEED = 0
DEFAULT_RIDGE = 1e-4


def read_network_latencies(path: Path, column: str) -> tuple[list[str], np.ndarray]:
    """(arch strings, ms) from a CSV with an ``arch`` column and the latency column ``column``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"measurements file {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "arch" not in fields or column not in fields:
            latency = [f for f in fields if f.endswith("_ms")]
            raise ConfigError(
                f"{path}: needs columns arch and {column!r}"
                + (f" (latency columns here: {', '.join(latency)})" if latency else "")
            )
        archs, values = [], []
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row[column])
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{path}:{line}: {column} {row[column]!r} is not a number"
                ) from None
            if not value > 0 or not np.isfinite(value):
                raise ConfigError(f"{path}:{line}: {column} must be a positive number")
            archs.append(row["arch"])
            values.append(value)
    return archs, np.asarray(values, dtype=float)


def split_indices(n: int, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held-out) row indices: a seeded permutation, the last ``holdout`` held out."""
    if not 0 < holdout < n:
        raise ConfigError(f"--holdout must be between 1 and {n - 1} (networks: {n})")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n - holdout]), np.sort(order[n - holdout :])


def count_matrix(
    space: Any, archs: list[Arch], resolution: int
) -> tuple[list[LayerKey], np.ndarray]:
    """The distinct keys of ``archs`` and the (network × key) matrix of their counts."""
    index: dict[LayerKey, int] = {}
    rows: list[list[tuple[int, int]]] = []
    for arch in archs:
        counts: dict[LayerKey, int] = {}
        for key in space.layers(arch, resolution=resolution):
            counts[key] = counts.get(key, 0) + 1
        rows.append([(index.setdefault(key, len(index)), times) for key, times in counts.items()])
    matrix = np.zeros((len(archs), len(index)))
    for i, pairs in enumerate(rows):
        for j, times in pairs:
            matrix[i, j] = times
    return list(index), matrix


def prior_times(keys: list[LayerKey], counts: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """A rough per-key time from a 3-number fit, ms ≈ o + a·MACs + b·keys, as a ≥ 0 fit.

    Whole networks cannot tell some splits apart: a layer that always holds exactly one of
    its choices moves a common time freely between its choices and the overhead, and keys
    in every network (stem, head) are the overhead's twins. ``solve_times`` settles those
    directions by staying closest to this prior (a FLOPs-and-count model), so entries stay
    comparable between devices (the device prior of ``tables calibrate`` scales them).
    """
    from scipy.optimize import nnls

    from nascli.cost import block_cost

    macs = np.array([block_cost(k).macs for k in keys], dtype=float)
    design = np.column_stack([np.ones(len(ms)), counts @ macs, counts.sum(axis=1)]) / ms[:, None]
    (_, per_mac, per_key), _ = nnls(design, np.ones(len(ms)))
    return per_mac * macs + per_key


def solve_times(
    counts: np.ndarray, ms: np.ndarray, ridge: float, prior: np.ndarray
) -> tuple[np.ndarray, float]:
    """Non-negative per-key times and overhead minimising
    Σ ((pred − ms) / ms)² + ridge · Σ ((t − prior) / typical)².

    ``typical`` is a network's mean time per key, so ``ridge`` is unitless; a small ridge
    leaves predictions as they are and only settles the splits whole networks cannot see.
    """
    from scipy.optimize import nnls

    width = counts.shape[1]
    design = np.column_stack([counts, np.ones(len(ms))]) / ms[:, None]
    target = np.ones(len(ms))
    if ridge > 0:
        typical = float(np.median(ms / np.maximum(counts.sum(axis=1), 1)))
        penalty = np.sqrt(ridge) / typical * np.eye(width + 1)[:-1]  # the overhead is free
        design = np.vstack([design, penalty])
        target = np.concatenate([target, np.sqrt(ridge) / typical * prior])
    solution, _ = nnls(design, target, maxiter=50 * (width + 1))
    return solution[:-1], float(solution[-1])


def fit_table(
    space: Any,
    arch_texts: list[str],
    ms: np.ndarray,
    *,
    device: dict[str, Any],
    measurements: dict[str, Any],
    holdout: int,
    seed: int = HOLDOUT_SEED,
    ridge: float = DEFAULT_RIDGE,
) -> LatencyTable:
    """Fit a table on all but ``holdout`` networks and validate it on those."""
    from nascli.latency.predict import Predictor, accuracy_figures

    if device.get("class") not in DEVICE_CLASSES:
        raise ConfigError(f"device class {device.get('class')!r} not in {list(DEVICE_CLASSES)}")
    archs = [space.parse(text) for text in arch_texts]
    fit_rows, held_rows = split_indices(len(archs), holdout, seed)
    resolution = int(space.resolution)
    keys, counts = count_matrix(space, [archs[i] for i in fit_rows], resolution)
    times, overhead = solve_times(
        counts, ms[fit_rows], ridge, prior_times(keys, counts, ms[fit_rows])
    )
    seen = (counts > 0).sum(axis=0)
    table = LatencyTable(
        meta={
            "space": space.name,
            "resolution": resolution,
            "device": device,
            "host": {"note": "measured by the source on the device itself, not on this host"},
            "software": {"nascli": _version(), "runtime": measurements.get("runtime")},
            "export": {"exporter": None, "note": "no ONNX export: the source ran its own models"},
            "protocol": {"statistic": "min", "kind": METHOD},
            "method": METHOD,
            "measurements": measurements,
            "fit": {"scale": 1.0, "overhead_ms": round(overhead, 6)},
            "fit_details": {
                "networks": len(fit_rows),
                "held_out": len(held_rows),
                "seed": seed,
                "ridge": ridge,
                "loss": "relative squared error, times >= 0, ridge toward a MACs + count prior",
            },
            "created": now_iso(),
            "updated": now_iso(),
            "complete": True,
        }
    )
    for key, value, nets in zip(keys, times, seen, strict=True):
        v = round(float(value), 6)
        table.entries[key.to_str()] = {"median_ms": v, "min_ms": v, "p10_ms": v, "p90_ms": v,
                                       "n": int(nets), "source": "fitted"}  # fmt: skip
    predictor = Predictor(table, allow_estimates=False)
    for name, rows in (("accuracy", held_rows), ("fit_accuracy", fit_rows)):
        predicted = [p.latency_ms for p in predictor.predict_many([archs[i] for i in rows])]
        figures = accuracy_figures(predicted, ms[rows].tolist())
        table.meta[name] = {**figures, "split": "held_out" if name == "accuracy" else "fitted",
                            "date": now_iso()}  # fmt: skip
    return table


def _version() -> str:
    import nascli

    return nascli.__version__
