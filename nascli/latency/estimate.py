"""Interpolation over channels: estimate keys a grid table did not measure.

Keys are grouped into *families* that share everything but channel counts and kernel
(op, stride, input size, activation, shortcut kind, post-activation). Within a family,
latency is modelled as a non-negative combination of the block's parts, each ∝ the work
it does (each unit op defines its family and its parts: ``UnitOp.latency_family``,
``UnitOp.features``): for an inverted-residual unit the 1×1 expansion (h·w·cin·mid), the depthwise
k×k per kernel size (h'·w'·mid), the 1×1 projection (h'·w'·mid·cout), the projection
shortcut (h'·w'·cin·cout) and a constant. Fitted with NNLS on relative errors (every
row divided by its measurement), so small and large blocks count alike. Estimates are
always flagged as such in predictions.
"""

from __future__ import annotations

from typing import Any

from nascli.layers import LayerKey

MIN_POINTS = 3


def family_of(key: LayerKey) -> str:
    """Everything but channels (and the kernel, where the unit op's family spans kernels)."""
    from nascli.spaces.blocks import unit_op

    return unit_op(key.op).latency_family(key)


def features(key: LayerKey) -> dict[str, float]:
    """Work of each part of the block (the regression's columns; ``UnitOp.features``)."""
    from nascli.spaces.blocks import unit_op

    return unit_op(key.op).features(key)


def fit_families(entries: dict[str, float]) -> dict[str, dict[str, Any]]:
    """One NNLS model per family with at least MIN_POINTS measured keys."""
    import numpy as np
    from scipy.optimize import nnls

    groups: dict[str, list[tuple[LayerKey, float]]] = {}
    for text, value in entries.items():
        key = LayerKey.from_str(text)
        if value > 0:
            groups.setdefault(family_of(key), []).append((key, value))
    models: dict[str, dict[str, Any]] = {}
    for family, points in sorted(groups.items()):
        if len(points) < MIN_POINTS:
            continue
        rows = [features(k) for k, _ in points]
        names = sorted({n for row in rows for n in row})
        matrix = np.array([[row.get(n, 0.0) for n in names] for row in rows])
        target = np.array([v for _, v in points])
        scale = np.maximum(matrix.max(axis=0), 1e-12)
        weighted = (matrix / scale) / target[:, None]
        coef, _ = nnls(weighted, np.ones(len(points)), maxiter=2000)
        coef = coef / scale
        fitted = matrix @ coef
        rel = np.abs(fitted - target) / target
        models[family] = {
            "coef": {n: float(c) for n, c in zip(names, coef, strict=True)},
            "points": len(points),
            "mean_abs_rel_err": round(float(rel.mean()), 5),
            "max_abs_rel_err": round(float(rel.max()), 5),
        }
    return models


def estimate(key: LayerKey, families: dict[str, dict[str, Any]]) -> float | None:
    """Estimated ms for ``key`` from its family's model, or None when there is none."""
    candidates = [family_of(key)]
    if key.residual == "identity":
        # Few identity-shortcut points (bottleneck == width is rare): an identity unit is the
        # projection unit of the same family without its shortcut conv.
        proj = LayerKey(
            key.op, key.cin, key.cout, key.kernel, key.stride, key.h, key.w,
            key.mid, key.act, "proj", key.post_act,
        )  # fmt: skip
        candidates.append(family_of(proj))
    feats = features(key)
    for family in candidates:
        model = families.get(family)
        if model is None or any(name not in model["coef"] for name in feats):
            continue  # no family, or e.g. a kernel size the family never measured
        coef = model["coef"]
        return float(sum(coef[name] * value for name, value in feats.items()))
    return None
