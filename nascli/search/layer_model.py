"""A linear model of ZiCo's per-layer terms: ``term ≈ log(weight count) + offset(layer)``.

ZiCo sums, over weight layers, ``log Σ_θ mean|g_θ|/std(g_θ)``. Writing the inner sum as
``numel × (mean ratio)`` splits each term into ``log numel``, known analytically, and the log
of the mean inverse coefficient of variation, which varies far less (about 2.0–2.2 on
average on MobileNet-like nets at 96 px, spread 0.65–0.86 per layer). That offset depends on
what the layer is: its gradient sums over the batch and the output positions, so a layer on
a large map averages more and varies less between batches; depthwise and pointwise weights
differ; depth matters. A ridge regression of the offset on a few such features, fitted on
the terms of every evaluated network (a ZiCo evaluation yields one row per layer, dozens
per network), predicts a candidate's ZiCo analytically, thousands of candidates per second.

The ridge pulls the weights towards a prior (a constant offset) so that the first handful
of evaluations cannot swing the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nascli.search.layer_specs import WeightLayer

PRIOR_OFFSET = 2.1  # mean per-layer offset, MobileNet-like nets, 96 px, independent gradients
RIDGE = 1.0  # pull towards the prior, in units of one layer row's squared error
FEATURE_NAMES = (
    "bias", "depthwise", "pointwise", "linear", "dense_kxk", "log_fan_in", "log_cout",
    "log_positions",
)  # fmt: skip


def layer_features(layers: Sequence[WeightLayer]) -> np.ndarray:
    """One row of ``FEATURE_NAMES`` per layer.

    Every feature is a property of the layer alone (no position in the network), so the
    rows of a block can be cached by its ``LayerKey`` and summed.
    """
    n = len(layers)
    rows = np.zeros((n, len(FEATURE_NAMES)))
    for i, layer in enumerate(layers):
        depthwise = layer.groups > 1 and layer.groups == layer.cin
        linear = layer.role == "linear"
        pointwise = layer.kernel == 1 and not depthwise and not linear
        fan_in = (layer.cin // layer.groups) * layer.kernel * layer.kernel
        rows[i] = (
            1.0,
            float(depthwise),
            float(pointwise),
            float(linear),
            float(not (depthwise or pointwise or linear)),
            math.log(fan_in),
            math.log(layer.cout),
            math.log(layer.out_positions),
        )
    return rows


def log_numel(layers: Sequence[WeightLayer]) -> np.ndarray:
    return np.log(np.array([layer.numel for layer in layers], dtype=np.float64))


@dataclass
class LayerTermModel:
    """Offset weights; ``fit`` replaces them from observed layer terms."""

    weights: np.ndarray = field(default_factory=lambda: _prior())
    rows: int = 0

    def fit(self, features: np.ndarray, offsets: np.ndarray) -> None:
        """Ridge regression towards the prior: (XᵀX + λI) w = Xᵀy + λ w₀."""
        prior = _prior()
        if len(offsets) == 0:
            self.weights, self.rows = prior, 0
            return
        gram = features.T @ features + RIDGE * np.eye(features.shape[1])
        target = features.T @ offsets + RIDGE * prior
        self.weights = np.linalg.solve(gram, target)
        self.rows = len(offsets)

    def offsets(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights

    def predict(self, layers: Sequence[WeightLayer]) -> float:
        """Predicted ZiCo of a network with these weight layers."""
        return float(log_numel(layers).sum() + self.offsets(layer_features(layers)).sum())


def _prior() -> np.ndarray:
    weights = np.zeros(len(FEATURE_NAMES))
    weights[0] = PRIOR_OFFSET
    return weights
