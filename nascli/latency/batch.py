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
from typing import Any

import numpy as np

from nascli.keyrows import (  # noqa: F401  (re-exported: the packed format moved to nascli.keyrows)
    ACT,
    COLUMNS,
    OP,
    RES,
    KeyRows,
    OutOfRange,
    fits,
    group,
    key_row,
    pack_words,
    row_key,
    rows_from_pairs,
    rows_of_keys,
)
from nascli.layers import LayerKey

# Families: (op, kernel + 1 or 0 = any kernel, stride, h, w, act, residual, post).
_FAMILY_1 = ((0, 0, 5), (1, 5, 8), (2, 13, 8), (5, 21, 3), (6, 24, 3), (7, 27, 3))
_FAMILY_2 = ((3, 0, 21), (4, 21, 21))
_MIX_1 = np.uint64(0x9E3779B97F4A7C15)
_MIX_2 = np.uint64(0xC2B2AE3D27D4EB4F)


def hash_words(word1: np.ndarray, word2: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        code = word1 * _MIX_1 ^ word2 * _MIX_2
        return code ^ (code >> np.uint64(31))


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
    """``family_of`` as integers: everything but channels (and the kernel of a unit op
    whose family spans kernels)."""
    from nascli.spaces.blocks import UNIT_OPS

    spanning = [OP[name] for name, op in UNIT_OPS.items() if op.family_spans_kernels and name in OP]
    fields = keys[:, [0, 3, 4, 5, 6, 8, 9, 10]]
    fields[:, 1] = np.where(np.isin(keys[:, 0], spanning), 0, keys[:, 3] + 1)
    return fields


def _family_words(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    columns = [fields[:, j] for j in range(fields.shape[1])]
    n = len(fields)
    return pack_words(columns, _FAMILY_1, n, False), pack_words(columns, _FAMILY_2, n, False)


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
