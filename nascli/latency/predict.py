"""Predict a network's latency from a table: scale × Σ entries + overhead.

The per-table ``scale`` and ``overhead_ms`` are fitted on a few whole networks timed
end-to-end (``fit_scale_overhead``): at one thread isolated blocks run a few % faster
than the chain, and a network pays its framework cost once. Keys a grid table did not
measure are estimated by their family's channel regression and the prediction is flagged
``estimated``; a key with neither an entry nor a family is reported as missing.

Prediction is a dict lookup per block: the predictor caches per-key values and per-arch
results, so repeated predictions run at ~10⁶ per second. Brand-new networks (each with
keys no earlier one had) go fastest through ``predict_many``, which prices a whole batch
with array operations (``latency.batch``); ``nascli predict`` uses it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.latency.estimate import estimate
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey
from nascli.spaces.base import BatchKeyRows, CountsKeys


class Prediction(NamedTuple):
    """One predicted latency (a NamedTuple: batches build 10⁵ of them, in C)."""

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
        # Capabilities checked once: a runtime-protocol isinstance costs microseconds.
        space = self.space
        self._counts_keys = space if isinstance(space, CountsKeys) else None
        self._batch_rows = space if isinstance(space, BatchKeyRows) else None
        self.resolution = table.resolution
        self.allow_estimates = allow_estimates
        fit = fit if fit is not None else (table.meta.get("fit") or {})
        self.scale = float(fit.get("scale", 1.0))
        self.overhead_ms = float(fit.get("overhead_ms", 0.0))
        self._families = table.meta.get("families") or {}
        self._by_text = {text: table.value(text) for text in table.entries}
        self._by_key: dict[LayerKey, tuple[float, bool] | None] = {}
        self._by_arch: dict[str, Prediction] = {}
        self._entry_index: Any = None  # built on the first predict_many
        self._family_models: Any = None

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
        if self._counts_keys is not None:
            return self._counts_keys.key_counts(arch, resolution=self.resolution)
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

    def predict_many(self, archs: Sequence[Arch]) -> list[Prediction]:
        """``predict`` for a batch, vectorised (see ``latency.batch``); ``nascli predict``
        uses it. ~15× faster than ``predict`` one by one on brand-new macro networks.

        Same values as ``predict`` one by one (up to float summation order); an arch with a
        key the table cannot price raises the same error, through ``predict``.
        """
        with _gc_paused():
            return self._predict_many(archs)

    def _predict_many(self, archs: Sequence[Arch]) -> list[Prediction]:
        names = [arch.canonical for arch in archs]
        results: list[Prediction | None] = [self._by_arch.get(name) for name in names]
        todo = [i for i, found in enumerate(results) if found is None]
        fresh = [archs[i] for i in todo]
        space = self.table.space
        for arch in fresh:
            if arch.space != space:
                self.predict(arch)  # raises the space-mismatch error
        if fresh:
            sums = self._batch_sums(fresh) if self._batch_ready() else None
            if sums is None:  # keys that do not pack (or collide): the scalar path prices all
                return [self.predict(arch) for arch in archs]
            totals, estimated, missing = sums
            latency = (self.scale * totals + self.overhead_ms).tolist()
            for slot, arch, ms, total, n_est, lacks in zip(
                todo, fresh, latency, totals.tolist(), estimated.tolist(), missing.tolist(),
                strict=True,
            ):  # fmt: skip
                if lacks:
                    results[slot] = self.predict(arch)  # raises, listing the missing keys
                    continue
                result = Prediction(arch, ms, total, n_est)
                self._by_arch[names[slot]] = result
                results[slot] = result
        return [r for r in results if r is not None]

    def _batch_ready(self) -> bool:
        """Build the vectorised lookups once; False when table codes collide (scalar path)."""
        from nascli.latency import batch

        if self._entry_index is None:
            try:
                self._entry_index = batch.EntryIndex(self._by_text)
                self._family_models = batch.FamilyModels(self._families)
            except batch.OutOfRange:
                self._entry_index = self._family_models = False
        if self._entry_index is False:
            return False
        return bool(self._entry_index.unique and self._family_models.unique)

    def _batch_sums(self, archs: Sequence[Arch]) -> tuple[Any, Any, Any] | None:
        """(raw sum, estimated count, any unpriced key) per arch, as arrays; None when a
        key does not fit the packed layout."""
        from nascli.latency import batch

        try:
            if self._batch_rows is not None:
                rows = self._batch_rows.key_rows(archs, resolution=self.resolution)
            else:
                rows = batch.rows_from_pairs(self._key_counts(arch) for arch in archs)
        except batch.OutOfRange:
            return None
        # Price each distinct key once: a batch of new networks repeats its keys ~5×.
        found = batch.distinct(rows)
        if found is None:  # two different keys share a hash: price every row as it is
            price, is_estimate = self._price_rows(rows)
        else:
            first, inverse = found
            price, is_estimate = self._price_rows(rows.take(first))
            price, is_estimate = price[inverse], is_estimate[inverse]
        return batch.arch_sums(rows, price, is_estimate, len(archs))

    def _price_rows(self, rows: Any) -> tuple[Any, Any]:
        """(ms or NaN, estimated?) per row: exact entries, then family estimates; rows
        still unpriced (ops without a vectorised estimator) go through ``key_value``."""
        import numpy as np

        from nascli.latency import batch

        price = self._entry_index.lookup(rows)
        is_estimate = np.zeros(len(price), dtype=bool)
        missing = np.flatnonzero(np.isnan(price))
        if not missing.size:
            return price, is_estimate
        keys = rows.take(missing).keys()
        if self.allow_estimates:
            guess = self._family_models.estimate(keys)
            price[missing], is_estimate[missing] = guess, ~np.isnan(guess)
        left = np.flatnonzero(np.isnan(price[missing]))
        if left.size:
            distinct_rows, inverse = np.unique(keys[left], axis=0, return_inverse=True)
            found = [self.key_value(batch.row_key(row)) for row in distinct_rows]
            values = np.array([np.nan if f is None else f[0] for f in found])
            flags = np.array([f is not None and f[1] for f in found], dtype=bool)
            price[missing[left]] = values[inverse.ravel()]
            is_estimate[missing[left]] = flags[inverse.ravel()]
        return price, is_estimate


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a batch.

    A batch allocates ~10⁵ tuples (block columns, predictions) and no reference cycles;
    left on, the collector rescans the live objects (the batch's archs and genomes) over
    and over, ~1.5× slower here. Restored on exit, also after an error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    if scale * x.max() <= 1e-6 * y.max() and np.all(x > 0):
        # Degenerate: the networks' times do not follow their block sums (noise swamps
        # small nets), and "every net costs the overhead" would make the table predict one
        # value for all. Fall back to the scale alone (relative least squares, no overhead).
        ratio = x / y
        return {"scale": float(ratio.sum() / (ratio**2).sum()), "overhead_ms": 0.0}
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
