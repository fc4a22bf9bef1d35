"""Vectorised ``key_counts`` of many macro networks at once (``nascli.keyrows`` rows).

One pass per block position across the whole batch instead of one Python loop per unit;
each block type writes its own rows (``BlockType.rows``), the same units as its
``expand``. A test checks that these rows equal ``key_counts`` for random networks of
every shipped space.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from nascli.keyrows import ACT, OP, RES, KeyRows, fits, group
from nascli.spaces.blocks.base import out_size
from nascli.spaces.blocks.registry import BLOCK_TYPES

if TYPE_CHECKING:
    from nascli.spaces.macro import MacroGenome, MacroSpace

_TYPE = {name: code for code, name in enumerate(BLOCK_TYPES)}
_RELU, _NO_ACT, _NONE = ACT["relu"], ACT["none"], RES["none"]


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
    current = int(out_size(size, space.stem_kernel, space.stem_stride))
    if space.stem_maxpool:
        parts.append(
            make(index, 1, OP["maxpool"], stem, stem, 3, 2, current, current, 0,
                  _NO_ACT, _NONE, _NO_ACT)
        )  # fmt: skip
        current = int(out_size(current, 3, 2))
    sizes = np.full(n, current, dtype=np.int64)
    channels = stem.copy()
    for position in range(int(lengths.max(initial=0))):
        owners = index[lengths > position]
        flat = starts[owners] + position
        kind, fields = all_kinds[flat], all_fields[flat]
        k, e, w, s, b, d = (fields[:, j] for j in range(6))
        cin, size_in = channels[owners], sizes[owners]
        out = np.empty_like(size_in)
        for code, block in enumerate(BLOCK_TYPES.values()):
            mask = kind == code
            if not mask.any():
                continue
            block_parts, block_out = block.rows(
                make, owners[mask], cin[mask], size_in[mask],
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
