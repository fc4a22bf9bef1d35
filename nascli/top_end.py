"""What a search optimising a proxy gets: the accuracy at the proxy's top end.

A rank correlation summarises the whole population, but a search keeps only the few
architectures a proxy scores highest, so what matters is the ground truth of those few:
the mean target of the proxy's top k, and the target of its argmax. Both are computed with
ties handled as a search would meet them, by their expectation over a random tie-break:
a tied group straddling the cut contributes its mean for each slot it fills (``flops`` on
NB201 ties hundreds of cells, and an arbitrary tie-break would make its figure a coin
toss). Architectures a proxy failed on rank below every scored one.

The interval is a seeded percentile bootstrap over architectures: resample the population
with replacement, recompute the measure, take the 2.5th and 97.5th percentiles. It says how
much the figure depends on which architectures happened to be sampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_DRAWS = 1000
DEFAULT_KS: tuple[int | str, ...] = (10, 50, "1%")


def _clean(scores: Sequence[float | None]) -> np.ndarray:
    """Scores as floats, a failed (None / non-finite) one below every finite one."""
    return np.array(
        [float(s) if s is not None and math.isfinite(float(s)) else -np.inf for s in scores],
        dtype=float,
    )


def expected_top_mean(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Mean target of the ``k`` highest scores, ties broken at random (in expectation)."""
    n = len(scores)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    sorted_targets = targets[order]
    threshold = sorted_scores[k - 1]
    above = sorted_scores > threshold
    tied = sorted_scores == threshold
    taken = int(above.sum())
    total = float(sorted_targets[above].sum())
    total += (k - taken) * float(sorted_targets[tied].mean())
    return total / k


def resolve_k(k: int | str, n: int) -> int:
    """``10`` → 10; ``"1%"`` → 1 % of ``n`` (at least 1), both capped at ``n``."""
    if isinstance(k, str):
        text = k.strip()
        if not text.endswith("%"):
            raise ValueError(f"top-k size {k!r}: a count or a percentage such as '1%'")
        share = float(text[:-1]) / 100.0
        if not 0 < share <= 1:
            raise ValueError(f"top-k size {k!r}: the percentage must be in (0, 100]")
        return max(1, min(n, round(share * n)))
    if k < 1:
        raise ValueError(f"top-k size must be at least 1, got {k}")
    return min(n, k)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its seeded bootstrap interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class TopEnd:
    """Top-end measures of one proxy on one population."""

    top_k: dict[str, Interval]  # label ("top-10", "top-1% (k=10)") → mean target
    argmax: Interval

    def as_dict(self) -> dict[str, object]:
        return {
            "top_k_mean": {label: v.as_dict() for label, v in self.top_k.items()},
            "argmax": self.argmax.as_dict(),
        }


def top_end(
    scores: Sequence[float | None],
    targets: Sequence[float],
    *,
    ks: Sequence[int | str] = DEFAULT_KS,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> TopEnd:
    """Top-k means and the argmax's target, each with a seeded 95 % bootstrap interval."""
    score_array = _clean(scores)
    target_array = np.asarray(targets, dtype=float)
    n = len(score_array)
    if n == 0 or len(target_array) != n:
        raise ValueError("top_end needs as many targets as scores, and at least one")
    sizes = {_label(k, n): resolve_k(k, n) for k in ks}
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, n, size=(draws, n))
    results: dict[str, Interval] = {}
    for label, size in {**sizes, "argmax": 1}.items():
        point = expected_top_mean(score_array, target_array, size)
        boot = [expected_top_mean(score_array[idx], target_array[idx], size) for idx in samples]
        low, high = np.percentile(boot, [2.5, 97.5]) if draws else (point, point)
        results[label] = Interval(point, float(low), float(high))
    argmax = results.pop("argmax")
    return TopEnd(results, argmax)


def _label(k: int | str, n: int) -> str:
    if isinstance(k, str):
        return f"top-{k.strip()} (k={resolve_k(k, n)})"
    return f"top-{min(k, n)}"


def population_reference(targets: Sequence[float], ks: Sequence[int | str] = DEFAULT_KS) -> dict:
    """What a perfect ranking of the same population would return, and its mean."""
    array = np.sort(np.asarray(targets, dtype=float))[::-1]
    n = len(array)
    out = {_label(k, n): float(array[: resolve_k(k, n)].mean()) for k in ks}
    out["argmax"] = float(array[0])
    out["mean"] = float(array.mean())
    return out
