"""Few-sample calibration of a table to an unseen device from K whole-network timings.

Model: ``latency ≈ Σ_g s_g · B_g(arch) + overhead`` where ``B_g`` is the base table's
sum over the network's blocks of op type ``g`` (conv 3×3, conv 1×1, pool, …) and the
scales ``s_g ≥ 0``. With K ≈ 10 networks and ~8 groups the plain fit is ill-posed, so
the scales are pulled towards one common scale (ridge rows in the same NNLS system,
``scipy.optimize.nnls``) with a strength chosen by leave-one-out over the K networks.
Rows are divided by the measurement (relative errors). The calibrated table keeps the
base table's keys; each entry is scaled by its group's factor and the overhead is stored
in the table's fit.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey

LAMBDAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def op_group(key: LayerKey) -> str:
    """The op type a scale factor is shared by (the unit op's ``calibration_group``)."""
    from nascli.spaces.blocks import unit_op

    return unit_op(key.op).calibration_group(key)


#: How entries share scale factors: by op type (few groups, for free fits from K nets), or
#: one per key (only with a device prior that ties the keys together, as on FBNet).
GROUPINGS = ("op", "key")


def group_of(key: LayerKey, grouping: str = "op") -> str:
    """The group of ``key`` under ``grouping`` (``GROUPINGS``)."""
    if grouping == "key":
        return key.to_str()
    if grouping != "op":
        raise ConfigError(f"unknown grouping {grouping!r}; known: {', '.join(GROUPINGS)}")
    return op_group(key)


def read_measurements(path: Path) -> list[tuple[str, float]]:
    """(arch reference, latency_ms) rows from a CSV with columns ``arch,latency_ms``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"measurements file {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"arch", "latency_ms"} <= set(reader.fieldnames):
            raise ConfigError(f"{path}: needs a header with columns arch,latency_ms")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["latency_ms"])
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{path}:{line}: latency_ms {row['latency_ms']!r} is not a number"
                ) from None
            if not value > 0:
                raise ConfigError(f"{path}:{line}: latency_ms must be positive")
            rows.append((row["arch"], value))
    if len(rows) < 2:
        raise ConfigError(f"{path}: need at least 2 measured networks, got {len(rows)}")
    return rows


class GroupSums:
    """Per-arch vector of base-table time per group (op type or key; cached per arch)."""

    def __init__(self, table: LatencyTable, grouping: str = "op") -> None:
        from nascli.latency.predict import Predictor

        self.table = table
        self.grouping = grouping
        self.predictor = Predictor(table, fit={"scale": 1.0, "overhead_ms": 0.0})
        groups = sorted({group_of(LayerKey.from_str(k), grouping) for k in table.entries})
        self.groups = groups
        self._index = {g: i for i, g in enumerate(groups)}
        self._cache: dict[str, list[float]] = {}

    def __call__(self, arch) -> list[float]:
        cached = self._cache.get(arch.canonical)
        if cached is not None:
            return cached
        self.predictor.predict(arch)  # raises on missing keys
        sums = [0.0] * len(self.groups)
        for key in self.predictor.space.layers(arch, resolution=self.table.resolution):
            value = self.predictor.key_value(key)
            group = self._index.get(group_of(key, self.grouping))
            if value is not None and group is not None:
                sums[group] += value[0]
        self._cache[arch.canonical] = sums
        return sums


def _solve(x, y, lam: float):
    """NNLS for [scales..., overhead] with ridge rows pulling scales to a common scale."""
    import numpy as np
    from scipy.optimize import nnls

    n, g = x.shape
    total = x.sum(axis=1)
    common_design = np.column_stack([total, np.ones(n)]) / y[:, None]
    (common, _), _ = nnls(common_design, np.ones(n))
    design = np.column_stack([x, np.ones(n)]) / y[:, None]
    target = np.ones(n)
    if lam > 0:
        # Ridge rows: sqrt(lam) * (s_g - common) ~ 0, scaled by each group's weight in a net.
        weight = x.mean(axis=0) / y.mean()
        rows = np.zeros((g, g + 1))
        rows[np.arange(g), np.arange(g)] = np.sqrt(lam) * np.maximum(weight, 1e-9)
        design = np.vstack([design, rows])
        target = np.concatenate([target, np.sqrt(lam) * np.maximum(weight, 1e-9) * common])
    coef, _ = nnls(design, target, maxiter=5000)
    return coef[:-1], coef[-1]


def fit_calibration(x, y) -> dict[str, Any]:
    """Scales + overhead with the ridge strength chosen by leave-one-out relative error."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    best = (float("inf"), 0.0)
    if len(y) >= 3:
        for lam in LAMBDAS:
            errors = []
            for i in range(len(y)):
                mask = np.arange(len(y)) != i
                scales, overhead = _solve(x[mask], y[mask], lam)
                errors.append(abs(x[i] @ scales + overhead - y[i]) / y[i])
            score = float(np.mean(errors))
            if score < best[0] - 1e-12:
                best = (score, lam)
    lam = best[1] if np.isfinite(best[0]) else 1.0
    scales, overhead = _solve(x, y, lam)
    return {"scales": scales, "overhead_ms": float(overhead), "lambda": lam, "loo_mape": best[0]}


def family_group(family: str) -> str:
    """The op group of a family name (``op:k3s1:...``), as the unit op defines it."""
    from nascli.spaces.blocks import unit_op

    return unit_op(family.split(":", 1)[0]).group_of_family(family)
