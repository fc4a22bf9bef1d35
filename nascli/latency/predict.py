"""Predict a network's latency from a table: scale × Σ entries + overhead.

The per-table ``scale`` and ``overhead_ms`` are fitted on a few whole networks timed
end-to-end (``fit_scale_overhead``): at one thread isolated blocks run a few % faster
than the chain, and a network pays its framework cost once. Keys a grid table did not
measure are estimated by their family's channel regression and the prediction is flagged
``estimated``; a key with neither an entry nor a family is reported as missing.

Prediction is a dict lookup per block: the predictor caches per-key values and per-arch
results, so a search can call it ~10⁵ times per second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.latency.estimate import estimate
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey


@dataclass(frozen=True, slots=True)
class Prediction:
    arch: Arch
    latency_ms: float
    raw_sum_ms: float
    estimated_keys: int

    @property
    def estimated(self) -> bool:
        return self.estimated_keys > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.canonical,
            "latency_ms": round(self.latency_ms, 6),
            "estimated": self.estimated,
            "estimated_keys": self.estimated_keys,
        }


class Predictor:
    """Fast repeated predictions from one table."""

    def __init__(
        self,
        table: LatencyTable,
        *,
        allow_estimates: bool = True,
        fit: dict[str, float] | None = None,
    ) -> None:
        from nascli.spaces import get_space

        self.table = table
        self.space = get_space(table.space)
        self.resolution = table.resolution
        self.allow_estimates = allow_estimates
        fit = fit if fit is not None else (table.meta.get("fit") or {})
        self.scale = float(fit.get("scale", 1.0))
        self.overhead_ms = float(fit.get("overhead_ms", 0.0))
        self._families = table.meta.get("families") or {}
        self._by_text = {text: table.value(text) for text in table.entries}
        self._by_key: dict[LayerKey, tuple[float, bool] | None] = {}
        self._by_arch: dict[str, Prediction] = {}

    def key_value(self, key: LayerKey) -> tuple[float, bool] | None:
        """(ms, estimated) for one key, or None when the table cannot price it."""
        try:
            return self._by_key[key]
        except KeyError:
            pass
        text = key.to_str()
        if text in self._by_text:
            result: tuple[float, bool] | None = (self._by_text[text], False)
        else:
            guess = estimate(key, self._families) if self.allow_estimates else None
            result = None if guess is None else (max(guess, 0.0), True)
        self._by_key[key] = result
        return result

    def raw_sum(self, keys: Sequence[LayerKey]) -> tuple[float, int, list[LayerKey]]:
        counts: dict[LayerKey, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        return self._weighted_sum(counts.items())

    def _weighted_sum(
        self, pairs: Iterable[tuple[LayerKey, int]]
    ) -> tuple[float, int, list[LayerKey]]:
        """Σ count × entry over (key, count) pairs; estimated counts with multiplicity."""
        total, estimated, missing = 0.0, 0, []
        for key, times in pairs:
            found = self.key_value(key)
            if found is None:
                missing.append(key)
                continue
            total += found[0] * times
            if found[1]:
                estimated += times
        return total, estimated, missing

    def _key_counts(self, arch: Arch) -> Iterable[tuple[LayerKey, int]]:
        """(key, count) pairs of ``arch``: the space's fast path, else counted from layers()."""
        fast = getattr(self.space, "key_counts", None)
        if fast is not None:
            return fast(arch, resolution=self.resolution)
        counts: dict[LayerKey, int] = {}
        for key in self.space.layers(arch, resolution=self.resolution):
            counts[key] = counts.get(key, 0) + 1
        return counts.items()

    def predict(self, arch: Arch) -> Prediction:
        cached = self._by_arch.get(arch.canonical)
        if cached is not None:
            return cached
        if arch.space != self.table.space:
            raise ConfigError(
                f"latency table {self.table.path} is for space {self.table.space!r}, "
                f"but the architecture is from {arch.space!r}"
            )
        total, estimated, missing = self._weighted_sum(self._key_counts(arch))
        if missing:
            unique = sorted({k.to_str() for k in missing})
            shown = ", ".join(unique[:5]) + (
                f" (+{len(unique) - 5} more)" if len(unique) > 5 else ""
            )
            hint = "" if self.allow_estimates else " (estimates disabled)"
            raise ConfigError(
                f"latency table {self.table.path} lacks {len(unique)} key(s) of "
                f"{arch.canonical}{hint}: {shown}; profile them with nascli profile"
            )
        result = Prediction(arch, self.scale * total + self.overhead_ms, total, estimated)
        self._by_arch[arch.canonical] = result
        return result


def fit_scale_overhead(raw_sums: Sequence[float], measured: Sequence[float]) -> dict[str, float]:
    """Non-negative scale and overhead minimising relative error over whole networks."""
    import numpy as np
    from scipy.optimize import nnls

    x = np.asarray(raw_sums, dtype=float)
    y = np.asarray(measured, dtype=float)
    if x.size == 0:
        return {"scale": 1.0, "overhead_ms": 0.0}
    if x.size == 1:
        return {"scale": float(y[0] / x[0]) if x[0] > 0 else 1.0, "overhead_ms": 0.0}
    design = np.column_stack([x, np.ones_like(x)]) / y[:, None]
    (scale, overhead), _ = nnls(design, np.ones_like(y))
    return {"scale": float(scale), "overhead_ms": float(overhead)}


def accuracy_figures(
    predicted: Sequence[float], measured: Sequence[float]
) -> dict[str, float | None]:
    """MAPE, shares within ±5/±10 %, Spearman and Kendall of predictions vs measurements."""
    import numpy as np
    from scipy.stats import kendalltau, spearmanr

    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    rel = np.abs(p - m) / m
    figures = {
        "n": int(m.size),
        "mape_pct": round(float(rel.mean() * 100), 3),
        "max_ape_pct": round(float(rel.max() * 100), 3),
        "within_5pct": round(float(np.mean(rel <= 0.05 + 1e-9)), 4),
        "within_10pct": round(float(np.mean(rel <= 0.10 + 1e-9)), 4),
    }
    if m.size >= 3 and np.ptp(p) > 0 and np.ptp(m) > 0:
        figures["spearman"] = round(float(spearmanr(p, m).statistic), 4)
        figures["kendall"] = round(float(kendalltau(p, m).statistic), 4)
    elif m.size >= 3:  # a constant side has no ranking (scipy would give NaN, invalid JSON)
        figures["spearman"] = figures["kendall"] = None
    return figures
