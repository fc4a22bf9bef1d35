"""Vectorised ``key_counts`` of many macro networks at once (rows for ``latency.batch``).

The same units as ``macro._expand_block_uncached``, written over arrays: one pass per
block position across the whole batch instead of one Python loop per unit. A block
contributes at most four distinct units (first unit, the repeated unit; for ``idw`` the
two sub-layers of the first and of the repeated sub-block), each with its count. A test
checks that these rows equal ``key_counts`` for random networks of every shipped space.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from nascli.latency.batch import ACT, OP, RES, KeyRows, fits, group

if TYPE_CHECKING:
    from nascli.spaces.macro import MacroGenome, MacroSpace

_TYPE = {"idw": 0, "ir": 1, "basic": 2, "bottleneck": 3}
_RELU, _RELU6, _NO_ACT = ACT["relu"], ACT["relu6"], ACT["none"]
_NONE, _IDENTITY, _PROJ = RES["none"], RES["identity"], RES["proj"]


def _out(size: np.ndarray | int, kernel: np.ndarray | int, stride: np.ndarray | int):  # type: ignore[no-untyped-def]
    """Output size of a 'same'-padded (pad = k // 2) unit, as ``LayerKey.h_out``."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def _smart_round(value: np.ndarray) -> np.ndarray:
    """``macro._smart_round`` over arrays (round half to even, as Python's ``round``)."""
    return np.maximum(8, np.round(value / 8) * 8).astype(np.int64)


def macro_key_rows(space: MacroSpace, genomes: Sequence[MacroGenome], size: int) -> KeyRows:
    """(arch, count, key) rows of ``genomes`` at input ``size``, residual links on."""
    n = len(genomes)
    index = np.arange(n, dtype=np.int64)
    stem = np.fromiter((g.stem for g in genomes), dtype=np.int64, count=n)
    head = np.fromiter((g.head for g in genomes), dtype=np.int64, count=n)
    conv, relu = OP["conv"], _RELU
    lengths = np.fromiter((len(g.blocks) for g in genomes), dtype=np.int64, count=n)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    # Every block of the batch, flattened once: its type code and six integer fields.
    blocks = [block for genome in genomes for block in genome.blocks]
    types, *numbers = zip(*blocks, strict=True) if blocks else ((),) * 7
    all_kinds = np.fromiter(map(_TYPE.__getitem__, types), np.int64, len(blocks))
    all_fields = np.asarray(numbers, dtype=np.int64).reshape(6, -1).T
    make = partial(group, checked=_within_layout(space, all_fields, stem, head, lengths, size))
    parts = [
        make(index, 1, conv, space.in_channels, stem, space.stem_kernel, space.stem_stride,
              size, size, 0, relu, _NONE, _NO_ACT)
    ]  # fmt: skip
    current = int(_out(size, space.stem_kernel, space.stem_stride))
    if space.stem_maxpool:
        parts.append(
            make(index, 1, OP["maxpool"], stem, stem, 3, 2, current, current, 0,
                  _NO_ACT, _NONE, _NO_ACT)
        )  # fmt: skip
        current = int(_out(current, 3, 2))
    sizes = np.full(n, current, dtype=np.int64)
    channels = stem.copy()
    for position in range(int(lengths.max(initial=0))):
        owners = index[lengths > position]
        flat = starts[owners] + position
        kind, fields = all_kinds[flat], all_fields[flat]
        k, e, w, s, b, d = (fields[:, j] for j in range(6))
        cin, size_in = channels[owners], sizes[owners]
        out = np.empty_like(size_in)
        for code, rows_of in (
            (_TYPE["idw"], _idw_rows),
            (_TYPE["ir"], _ir_rows),
            (_TYPE["basic"], _resnet_rows),
            (_TYPE["bottleneck"], _resnet_rows),
        ):
            mask = kind == code
            if not mask.any():
                continue
            block_parts, block_out = rows_of(
                make, code, owners[mask], cin[mask], size_in[mask],
                k[mask], e[mask], w[mask], s[mask], b[mask], d[mask],
            )  # fmt: skip
            parts.extend(block_parts)
            out[mask] = block_out
        sizes[owners] = out
        channels[owners] = w
    parts.append(make(index, 1, conv, channels, head, 1, 1, sizes, sizes, 0, relu, _NONE, _NO_ACT))
    parts.append(
        make(index, 1, OP["pool_fc"], head, space.num_classes, 1, 1, sizes, sizes, 0,
              _NO_ACT, _NONE, _NO_ACT)
    )  # fmt: skip
    return KeyRows.concat(parts)


def _within_layout(  # type: ignore[no-untyped-def]
    space: MacroSpace, fields, stem, head, lengths, size: int
) -> bool:
    """Prove from the batch's maxima that every unit key fits ``batch``'s packed layout.

    Then ``group`` skips its per-column range scans. Channels are bounded by the largest
    width/bottleneck/stem/head, an expanded width by that × the largest expansion (+ the
    rounding), and sizes by the input (+1 per stride-1 unit of an even kernel).
    """
    if (fields.size and fields.min() < 0) or min(stem.min(initial=0), head.min(initial=0)) < 0:
        return False
    most = fields.max(axis=0, initial=0)  # kernel, expansion, width, stride, bottleneck, depth
    channels = max(int(most[2]), int(most[4]), int(stem.max(initial=0)), int(head.max(initial=0)),
                   space.num_classes, space.in_channels)  # fmt: skip
    units = 2 * int(most[5]) * int(lengths.max(initial=0)) + 2
    return fits(
        channels=channels,
        mid=channels * max(int(most[1]), 1) + 8,
        size=size + units,
        kernel=max(int(most[0]), space.stem_kernel, 3),
        stride=max(int(most[3]), space.stem_stride, 2),
    )


def _same(cin: np.ndarray, cout: np.ndarray) -> np.ndarray:
    return np.where(cin == cout, _IDENTITY, _PROJ)


def _idw_rows(make, code, arch, cin, size, k, e, w, s, b, d):  # type: ignore[no-untyped-def]
    """Zen-NAS IDW: sub-block 1 = A (cin→b, stride s, proj) + B (b→w); later ones C + D.

    As in the scalar expansion, a sub-block's second unit runs at its first unit's output
    size, and the next sub-block starts there too (equal sizes for odd kernels).
    """
    ir, mid_b, mid_w, deep = OP["ir"], _smart_round(b * e), _smart_round(w * e), d > 1
    o1 = _out(size, k, s)
    o2 = _out(o1, k, 1)
    parts = [
        make(arch, 1, ir, cin, b, k, s, size, size, mid_b, _RELU, _PROJ, _RELU),
        make(arch, 1, ir, b, w, k, 1, o1, o1, mid_w, _RELU, _same(b, w), _RELU),
        make(arch, d - 1, ir, w, b, k, 1, o1, o1, mid_b, _RELU, _same(w, b), _RELU, where=deep),
        make(arch, d - 1, ir, b, w, k, 1, o2, o2, mid_w, _RELU, _same(b, w), _RELU, where=deep),
    ]
    return parts, np.where(d > 1, _out(o2, k, 1), o2)


def _ir_rows(make, code, arch, cin, size, k, e, w, s, b, d):  # type: ignore[no-untyped-def]
    """MobileNetV2: first unit (identity only when the shape is kept), then d-1 repeats."""
    ir, o1 = OP["ir"], _out(size, k, s)
    first_mid = np.where(e != 1, cin * e, 0)
    keep = np.where((s == 1) & (cin == w), _IDENTITY, _NONE)
    parts = [
        make(arch, 1, ir, cin, w, k, s, size, size, first_mid, _RELU6, keep, _NO_ACT),
        make(arch, d - 1, ir, w, w, k, 1, o1, o1, np.where(e != 1, w * e, 0), _RELU6,
              _IDENTITY, _NO_ACT, where=d > 1),
    ]  # fmt: skip
    return parts, np.where(d > 1, _out(o1, k, 1), o1)


def _resnet_rows(make, code, arch, cin, size, k, e, w, s, b, d):  # type: ignore[no-untyped-def]
    """ResNet basic/bottleneck: first unit (projection when the shape changes), d-1 repeats."""
    op = OP["basic"] if code == _TYPE["basic"] else OP["bottleneck"]
    o1 = _out(size, k, s)
    first_res = np.where((s != 1) | (cin != w), _PROJ, _IDENTITY)
    parts = [
        make(arch, 1, op, cin, w, k, s, size, size, b, _RELU, first_res, _RELU),
        make(arch, d - 1, op, w, w, k, 1, o1, o1, b, _RELU, _IDENTITY, _RELU, where=d > 1),
    ]
    return parts, np.where(d > 1, _out(o1, k, 1), o1)
