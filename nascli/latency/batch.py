"""Vectorised pricing of many architectures' keys at once (``Predictor.predict_many``).

Why: a brand-new macro network has ~10 keys no earlier network had, and pricing them one
by one in Python (a family regression per key) caps cold prediction at a few thousand
archs/s. Here every (key, count) of a batch becomes one row (``KeyRows``, made by the
space's vectorised ``key_rows`` where it has one), each key packed losslessly into two
64-bit words. Rows are deduplicated by a hash of the words (every match is verified on
the words, so a hash collision costs speed, never a wrong price), measured entries are
found with ``searchsorted``, family estimates are one product per feature over the
distinct keys, and per-arch sums are a ``bincount``. Keys the vectorised estimators do
not cover (ops other than ``ir`` and ``conv``) are priced by the scalar
``Predictor.key_value``, so both paths price every key the same way.
"""

from __future__ import annotations

import re
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
# Families: (op, kernel + 1 or 0 = any kernel, stride, h, w, act, residual, post).
_FAMILY_1 = ((0, 0, 5), (1, 5, 8), (2, 13, 8), (5, 21, 3), (6, 24, 3), (7, 27, 3))
_FAMILY_2 = ((3, 0, 21), (4, 21, 21))
_MIX_1 = np.uint64(0x9E3779B97F4A7C15)
_MIX_2 = np.uint64(0xC2B2AE3D27D4EB4F)


class OutOfRange(ValueError):
    """A field too large for the packed layout (the caller takes the scalar path)."""


def _check(values: Any, bits: int) -> None:
    if isinstance(values, np.ndarray):
        if values.size and (values.min() < 0 or values.max() >= 1 << bits):
            raise OutOfRange(f"a key field lies outside 0..{(1 << bits) - 1}")
    elif not 0 <= int(values) < 1 << bits:
        raise OutOfRange(f"a key field {values} lies outside 0..{(1 << bits) - 1}")


def _word(
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


def hash_words(word1: np.ndarray, word2: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        code = word1 * _MIX_1 ^ word2 * _MIX_2
        return code ^ (code >> np.uint64(31))


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
        _word(columns, _WORD_1, n, checked),
        _word(columns, _WORD_2, n, checked),
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


def distinct(rows: KeyRows) -> tuple[np.ndarray, np.ndarray] | None:
    """(one row index per distinct key, each row's distinct index), or None on a collision."""
    codes = hash_words(rows.word1, rows.word2)
    order = np.argsort(codes)
    ordered = codes[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = order[starts]
    inverse = np.empty(len(ordered), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    same = (rows.word1[first][inverse] == rows.word1) & (rows.word2[first][inverse] == rows.word2)
    return (first, inverse) if same.all() else None


class _SortedWords:
    """Sorted hashes of packed keys with their words, for exact vectorised membership."""

    def __init__(self, word1: np.ndarray, word2: np.ndarray) -> None:
        codes = hash_words(word1, word2)
        self.order = np.argsort(codes, kind="stable")
        self.codes, self.word1, self.word2 = codes[self.order], word1[self.order], word2[self.order]
        self.unique = bool(len(codes) < 2 or (np.diff(self.codes) != 0).all())

    def find(self, word1: np.ndarray, word2: np.ndarray) -> np.ndarray:
        """Index (into the sorted arrays) of each query, -1 where absent."""
        if len(self.codes) == 0:
            return np.full(len(word1), -1)
        codes = hash_words(word1, word2)
        index = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        hit = (self.codes[index] == codes) & (self.word1[index] == word1)
        hit &= self.word2[index] == word2
        return np.where(hit, index, -1)


class EntryIndex:
    """A table's measured entries as packed keys, for vectorised exact lookup."""

    def __init__(self, values_by_text: dict[str, float]) -> None:
        keys = [LayerKey.from_str(text) for text in values_by_text]
        rows = rows_of_keys(keys, [0] * len(keys), [1] * len(keys))
        self.index = _SortedWords(rows.word1, rows.word2)
        self.values = np.asarray(list(values_by_text.values()), dtype=float)[self.index.order]
        self.unique = self.index.unique

    def lookup(self, rows: KeyRows) -> np.ndarray:
        """Measured ms per row, NaN where the table has no entry."""
        if len(self.values) == 0:
            return np.full(len(rows.word1), np.nan)
        found = self.index.find(rows.word1, rows.word2)
        return np.where(found >= 0, self.values[np.maximum(found, 0)], np.nan)


_FAMILY_RE = re.compile(
    r"(?P<op>[a-z0-9_]+):k(?P<k>\*|\d+)s(?P<s>\d+):(?P<h>\d+)x(?P<w>\d+):(?P<act>[a-z0-9]+):"
    r"res=(?P<res>[a-z]+):post=(?P<post>[a-z0-9]+)"
)
_NAMES = ("one", "expand", "project", "shortcut", "macs", "mem")


class FamilyModels:
    """The table's per-family channel regressions (``estimate.py``), as arrays.

    Rows of ops ``ir`` and ``conv`` are estimated exactly as ``estimate()`` does: the
    key's own family first, then (identity shortcut) the projection family with the
    same features; a feature the family never measured means no estimate (NaN).
    """

    def __init__(self, families: dict[str, dict[str, Any]]) -> None:
        self.kernels = sorted(
            {int(n[4:]) for model in families.values() for n in model["coef"] if n[:4] == "dw_k"}
        )
        self.names = (*_NAMES, *(f"dw_k{k}" for k in self.kernels))
        fields, coefs = [], []
        for text, model in families.items():
            match = _FAMILY_RE.fullmatch(text)
            if match is None or match["op"] not in OP or match["res"] not in RES:
                continue
            if match["act"] not in ACT or match["post"] not in ACT:
                continue
            kernel = 0 if match["k"] == "*" else int(match["k"]) + 1
            fields.append(
                (OP[match["op"]], kernel, int(match["s"]), int(match["h"]), int(match["w"]),
                 ACT[match["act"]], RES[match["res"]], ACT[match["post"]])
            )  # fmt: skip
            coefs.append([model["coef"].get(name, np.nan) for name in self.names])
        table = np.asarray(fields, dtype=np.int64).reshape(-1, 8)
        self.index = _SortedWords(*_family_words(table))
        self.coef = np.asarray(coefs, dtype=float).reshape(-1, len(self.names))[self.index.order]
        self.unique = self.index.unique

    def estimate(self, keys: np.ndarray) -> np.ndarray:
        """Estimated ms per decoded key row (``ir``/``conv`` only; NaN where there is none)."""
        if len(keys) == 0 or len(self.coef) == 0:
            return np.full(len(keys), np.nan)
        fields = _family_fields(keys)
        out = self._evaluate(keys, self.index.find(*_family_words(fields)))
        identity = (keys[:, 9] == RES["identity"]) & np.isnan(out)
        if identity.any():
            proj = fields[identity]
            proj[:, 6] = RES["proj"]
            out[identity] = self._evaluate(keys[identity], self.index.find(*_family_words(proj)))
        return np.where(np.isnan(out), np.nan, np.maximum(out, 0.0))

    def _evaluate(self, keys: np.ndarray, family: np.ndarray) -> np.ndarray:
        """Σ coefficient × feature (``estimate.features``); a feature the family lacks: NaN."""
        out = np.full(len(keys), np.nan)
        col = {name: j for j, name in enumerate(self.names)}
        for op in (OP["ir"], OP["conv"]):
            rows = np.flatnonzero((keys[:, 0] == op) & (family >= 0))
            if rows.size == 0:
                continue
            k, coef = keys[rows], self.coef[family[rows]]
            cin, cout, kernel, _, h, w, mid = (k[:, j].astype(float) for j in range(1, 8))
            ho = ((k[:, 5] + 2 * (k[:, 3] // 2) - k[:, 3]) // k[:, 4] + 1).astype(float)
            wo = ((k[:, 6] + 2 * (k[:, 3] // 2) - k[:, 3]) // k[:, 4] + 1).astype(float)
            if op == OP["conv"]:
                macs = cin * kernel * kernel * cout * ho * wo
                mem = cin * h * w + cout * ho * wo
                out[rows] = coef[:, col["one"]] + coef[:, col["macs"]] * macs
                out[rows] += coef[:, col["mem"]] * mem
                continue
            inner = np.where(mid > 0, mid, cin)
            dw_col = np.full(len(k), -1)
            for size in self.kernels:
                dw_col[k[:, 3] == size] = col[f"dw_k{size}"]
            dw_coef = np.where(dw_col >= 0, coef[np.arange(len(k)), dw_col], np.nan)
            shortcut = np.where(
                k[:, 9] == RES["proj"], coef[:, col["shortcut"]] * ho * wo * cin * cout, 0.0
            )
            out[rows] = (
                coef[:, col["one"]]
                + dw_coef * ho * wo * inner
                + coef[:, col["expand"]] * h * w * cin * mid
                + coef[:, col["project"]] * ho * wo * inner * cout
                + shortcut
            )
        return out


def _family_fields(keys: np.ndarray) -> np.ndarray:
    """``family_of`` as integers: everything but channels (and an ir unit's kernel)."""
    fields = keys[:, [0, 3, 4, 5, 6, 8, 9, 10]]
    fields[:, 1] = np.where(keys[:, 0] == OP["ir"], 0, keys[:, 3] + 1)
    return fields


def _family_words(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    columns = [fields[:, j] for j in range(fields.shape[1])]
    n = len(fields)
    return _word(columns, _FAMILY_1, n, False), _word(columns, _FAMILY_2, n, False)


def arch_sums(
    rows: KeyRows, price: np.ndarray, estimated: np.ndarray, n_archs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per arch: Σ count × price, estimated count (with multiplicity), any unpriced key."""
    priced = ~np.isnan(price)
    weights = np.where(priced, price, 0.0) * rows.count
    total = np.bincount(rows.arch, weights=weights, minlength=n_archs)
    est = np.bincount(rows.arch, weights=rows.count * estimated, minlength=n_archs)
    missing = np.bincount(rows.arch, weights=~priced, minlength=n_archs) > 0
    return total, np.rint(est).astype(np.int64), missing
