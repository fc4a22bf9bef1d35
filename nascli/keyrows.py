"""Keys of many networks as packed integer rows: the exchange format of spaces and latency.

A space lists the (key, count) pairs of a batch of networks as ``KeyRows``: one row per
(arch, distinct key), each ``LayerKey`` packed losslessly into two 64-bit words. Spaces
write rows (vectorised, per block type); ``nascli.latency.batch`` prices them. The format
lives here, below both, so the space layer never imports the latency layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nascli.layers import ACTIVATIONS, OPS, RESIDUALS, LayerKey

# Column order of a decoded key row; string fields are indices into OPS / ACTIVATIONS /
# RESIDUALS.
COLUMNS = ("op", "cin", "cout", "kernel", "stride", "h", "w", "mid", "act", "residual", "post")
OP = {name: i for i, name in enumerate(OPS)}
ACT = {name: i for i, name in enumerate(ACTIVATIONS)}
RES = {name: i for i, name in enumerate(RESIDUALS)}
# Bit layout of the two words of a packed key: (column, shift, bits) in each word.
_WORD_1 = ((0, 0, 5), (1, 5, 17), (2, 22, 17), (3, 39, 8), (4, 47, 8), (8, 55, 3), (9, 58, 3),
           (10, 61, 3))  # fmt: skip
_WORD_2 = ((5, 0, 21), (6, 21, 21), (7, 42, 22))


class OutOfRange(ValueError):
    """A field too large for the packed layout (the caller takes the scalar path)."""


def _check(values: Any, bits: int) -> None:
    if isinstance(values, np.ndarray):
        if values.size and (values.min() < 0 or values.max() >= 1 << bits):
            raise OutOfRange(f"a key field lies outside 0..{(1 << bits) - 1}")
    elif not 0 <= int(values) < 1 << bits:
        raise OutOfRange(f"a key field {values} lies outside 0..{(1 << bits) - 1}")


def pack_words(
    columns: Sequence[Any], layout: tuple[tuple[int, int, int], ...], n: int, checked: bool
) -> np.ndarray:
    """OR of the shifted fields; scalar fields are folded into one constant first.

    ``checked``: the caller has proved every field fits its bits (skips the range scans).
    """
    constant, word = 0, None
    for column, shift, bits in layout:
        value = columns[column]
        if not checked:
            _check(value, bits)
        if isinstance(value, np.ndarray):
            part = np.asarray(value, dtype=np.int64).view(np.uint64) << np.uint64(shift)
            word = part if word is None else word | part
        else:
            constant |= int(value) << shift
    if word is None:
        return np.full(n, constant, dtype=np.uint64)
    return word | np.uint64(constant) if constant else word


@dataclass(frozen=True)
class KeyRows:
    """Every (key, count) of a batch of archs: ``arch[i]`` owns ``count[i]`` × key ``i``."""

    arch: np.ndarray  # (R,) int64, index of the arch in the batch
    count: np.ndarray  # (R,) int64
    word1: np.ndarray  # (R,) uint64, packed key (see _WORD_1 / _WORD_2)
    word2: np.ndarray

    def take(self, index: np.ndarray) -> KeyRows:
        return KeyRows(self.arch[index], self.count[index], self.word1[index], self.word2[index])

    def keys(self) -> np.ndarray:
        """The keys decoded to (R, len(COLUMNS)) int64 columns."""
        out = np.empty((len(self.word1), len(COLUMNS)), dtype=np.int64)
        for word, layout in ((self.word1, _WORD_1), (self.word2, _WORD_2)):
            for column, shift, bits in layout:
                out[:, column] = (word >> np.uint64(shift)) & np.uint64((1 << bits) - 1)
        return out

    @classmethod
    def concat(cls, parts: Sequence[KeyRows]) -> KeyRows:
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty, empty.astype(np.uint64), empty.astype(np.uint64))
        return cls(
            np.concatenate([p.arch for p in parts]),
            np.concatenate([p.count for p in parts]),
            np.concatenate([p.word1 for p in parts]),
            np.concatenate([p.word2 for p in parts]),
        )


def group(
    arch: np.ndarray,
    count: Any,
    *columns: Any,
    where: np.ndarray | None = None,
    checked: bool = False,
) -> KeyRows:
    """Rows for the archs ``arch``, one value or array per column (``COLUMNS`` order).

    ``where`` keeps only some of them (e.g. the blocks deep enough to have a repeated
    unit), so no row with count 0 is ever made. ``checked``: see ``fits``.
    """
    if where is not None:
        arch = arch[where]
        count = count[where] if isinstance(count, np.ndarray) else count
        columns = tuple(c[where] if isinstance(c, np.ndarray) else c for c in columns)
    n = len(arch)
    counts = np.broadcast_to(np.asarray(count, dtype=np.int64), (n,))
    return KeyRows(
        np.asarray(arch, dtype=np.int64),
        counts,
        pack_words(columns, _WORD_1, n, checked),
        pack_words(columns, _WORD_2, n, checked),
    )


def fits(*, channels: int, mid: int, size: int, kernel: int, stride: int) -> bool:
    """Do keys bounded by these maxima fit the packed layout (no per-row range scans)?"""
    bits = {COLUMNS[column]: width for column, _, width in (*_WORD_1, *_WORD_2)}
    return (
        channels < 1 << bits["cin"]
        and mid < 1 << bits["mid"]
        and size < 1 << bits["h"]
        and kernel < 1 << bits["kernel"]
        and stride < 1 << bits["stride"]
    )


def key_row(key: LayerKey) -> tuple[int, ...]:
    return (
        OP[key.op], key.cin, key.cout, key.kernel, key.stride, key.h, key.w, key.mid,
        ACT[key.act], RES[key.residual], ACT[key.post_act],
    )  # fmt: skip


def row_key(row: Sequence[int]) -> LayerKey:
    op, cin, cout, kernel, stride, h, w, mid, act, res, post = (int(v) for v in row)
    return LayerKey(
        OPS[op], cin, cout, kernel, stride, h, w, mid, ACTIVATIONS[act], RESIDUALS[res],
        ACTIVATIONS[post],
    )  # fmt: skip


def rows_of_keys(keys: Sequence[LayerKey], arch: Sequence[int], count: Sequence[int]) -> KeyRows:
    """``KeyRows`` from LayerKeys (tables, generic spaces): Python speed, fine for few."""
    table = np.asarray([key_row(key) for key in keys], dtype=np.int64).reshape(-1, len(COLUMNS))
    return group(
        np.asarray(arch, dtype=np.int64),
        np.asarray(count, dtype=np.int64),
        *(table[:, j] for j in range(len(COLUMNS))),
    )


def rows_from_pairs(pairs_per_arch: Iterable[Iterable[tuple[LayerKey, int]]]) -> KeyRows:
    """``KeyRows`` from per-arch (key, count) pairs: the generic path for any space."""
    arch, count, keys = [], [], []
    for index, pairs in enumerate(pairs_per_arch):
        for key, times in pairs:
            arch.append(index)
            count.append(times)
            keys.append(key)
    return rows_of_keys(keys, arch, count)
