"""A seeded, class-balanced subset of a data set, picked while its records stream by.

A proxy needs ``batch_size × batches`` images (32 for the default search, 128 at the
authors' 2 × 64), not 50,000; reading an archive once and keeping only that many makes the
cost of real images a one-time read. The subset is *class-balanced*: every class gets
``n // C`` images and ``n % C`` classes, chosen by the seed, one more (a class that has too
few gives its shortfall to the others in seeded order). Within a class the images are the
ones with the smallest seeded random keys, so the pick is a uniform sample that does not
depend on how the archive splits its records into files.

Subsets are cached as ``.npz`` (``x`` uint8 N×H×W×3, ``y`` int64) under the user data
folder, written atomically; a cache file that cannot be read is rebuilt.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from nascli.errors import ConfigError


class BalancedPicker:
    """Keeps, per class, the ``n`` records with the smallest seeded keys seen so far."""

    def __init__(self, n: int, num_classes: int, seed: int) -> None:
        if n < 1:
            raise ConfigError(f"a subset needs at least 1 image, got {n}")
        self.n = n
        self.num_classes = num_classes
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.seen = 0
        self.keys = np.empty(0, dtype=np.float64)
        self.labels = np.empty(0, dtype=np.int64)
        self.payload: np.ndarray | None = None

    def offer(self, labels: np.ndarray, payload: np.ndarray) -> None:
        """Consider ``len(labels)`` more records (``payload[i]`` belongs to ``labels[i]``)."""
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ConfigError(
                f"labels span [{labels.min()}, {labels.max()}], expected 0..{self.num_classes - 1}"
            )
        keys = self.rng.random(len(labels))
        self.seen += len(labels)
        all_payload = payload if self.payload is None else np.concatenate([self.payload, payload])
        all_keys = np.concatenate([self.keys, keys])
        all_labels = np.concatenate([self.labels, labels])
        keep = _smallest_per_class(all_labels, all_keys, self.n)
        self.keys, self.labels = all_keys[keep], all_labels[keep]
        self.payload = all_payload[keep]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(payload, labels)`` of exactly ``n`` records, in seeded random order."""
        if self.payload is None or len(self.labels) < self.n:
            raise ConfigError(f"the data holds {self.seen} images, {self.n} are needed")
        available = np.bincount(self.labels, minlength=self.num_classes)
        quotas = class_quotas(available, self.n, self.rng)
        order = np.lexsort((self.keys, self.labels))
        labels = self.labels[order]
        rank = np.arange(len(labels)) - np.searchsorted(labels, labels, side="left")
        chosen = order[rank < quotas[labels]]
        chosen = chosen[np.argsort(self.keys[chosen], kind="stable")]
        return self.payload[chosen], self.labels[chosen]


def _smallest_per_class(labels: np.ndarray, keys: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` smallest keys of every class."""
    order = np.lexsort((keys, labels))
    sorted_labels = labels[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_labels, sorted_labels, side="left")
    return order[rank < n]


def class_quotas(available: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Images per class: ``n // C`` each, ``n % C`` seeded classes one more, shortfalls moved.

    A class with fewer images than its quota gives the difference to classes with images
    to spare, one at a time in a seeded order, so the result stays as balanced as the data
    allows and sums to ``n`` (``available`` must sum to at least ``n``).
    """
    classes = len(available)
    present = np.flatnonzero(available)
    quotas = np.zeros(classes, dtype=np.int64)
    base, extra = divmod(n, len(present))
    quotas[present] = base
    quotas[rng.permutation(present)[:extra]] += 1
    quotas = np.minimum(quotas, available)
    order = rng.permutation(classes)
    while quotas.sum() < n:
        spare = [c for c in order if quotas[c] < available[c]]
        for c in spare[: n - int(quotas.sum())]:
            quotas[c] += 1
    return quotas


def read_cached(path: Path) -> tuple[np.ndarray, np.ndarray, int] | None:
    """A cached subset ``(x, y, images it was drawn from)``, or None when absent or
    unreadable (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            x, y, total = archive["x"], archive["y"], int(archive["total"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    if x.dtype != np.uint8 or x.ndim != 4 or y.shape != (len(x),):
        return None
    return x, y.astype(np.int64), total


def write_cached(path: Path, x: np.ndarray, y: np.ndarray, total: int) -> None:
    """Write the subset atomically (a crash never leaves half a cache file)."""
    from nascli.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y.astype(np.int64), total=np.int64(total))
    write_bytes_atomic(path, buffer.getvalue())
