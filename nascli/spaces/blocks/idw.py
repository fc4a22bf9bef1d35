"""ZiCo/Zen-NAS ``SuperResIDWE{E}K{K}(in,out,stride,bottleneck,L)``: the ``idw`` block type.

L sub-blocks of two ``ir`` units each: in→bottleneck (expanded to bottleneck·E, rounded
by ``smart_round``; stride and a projection shortcut on the first) and bottleneck→out
(expanded to out·E). ReLU inside, a ReLU after each sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nascli.keyrows import ACT, OP, RES
from nascli.layers import LayerKey
from nascli.spaces.blocks.base import (
    Block,
    BlockTotals,
    MakeRows,
    out_size,
    same,
    shortcut,
    smart_round,
    sum_parts,
)
from nascli.spaces.blocks.inverted_residual import ir_unit_cost

if TYPE_CHECKING:
    from nascli.keyrows import KeyRows


def _same_array(cin: np.ndarray, cout: np.ndarray) -> np.ndarray:
    return np.where(cin == cout, RES["identity"], RES["proj"])


@dataclass(frozen=True)
class IDW:
    """The ZiCo/Zen-NAS two-unit inverted-residual block."""

    name: str = "idw"
    uses_bottleneck: bool = True

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        units: list[LayerKey] = []
        k, e, w, b = block.kernel, block.expansion, block.width, block.bottleneck
        last, stride = cin, block.stride
        for sub in range(block.depth):
            if sub >= 2:  # sub-layers after the second repeat it exactly: reuse the keys
                units += units[-2:]
                continue
            first = LayerKey(
                "ir", last, b, k, stride, size, size, mid=smart_round(b * e), act="relu",
                residual=shortcut(last, b, stride, residual, force_proj=sub == 0),
                post_act="relu",
            )  # fmt: skip
            size = first.h_out
            second = LayerKey(
                "ir", b, w, k, 1, size, size, mid=smart_round(w * e), act="relu",
                residual=shortcut(b, w, 1, residual), post_act="relu",
            )  # fmt: skip
            units += [first, second]
            last, stride = w, 1
        return units

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        """After the first sub-block the sub-blocks repeat exactly: cost each role once."""
        k, w, depth = block.kernel, block.width, block.depth
        out = out_size(size, k, block.stride)
        hw_in, hw_out = size * size, out * out
        b, e = block.bottleneck, block.expansion
        m_in, m_out = smart_round(b * e), smart_round(w * e)
        parts = [
            (ir_unit_cost(cin, b, k, hw_in, hw_out, m_in, "proj"), 1),
            (ir_unit_cost(b, w, k, hw_out, hw_out, m_out, same(b, w)), depth),
        ]
        if depth > 1:
            parts.append((ir_unit_cost(w, b, k, hw_out, hw_out, m_in, same(w, b)), depth - 1))
        return sum_parts(parts, out)

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        """Sub-block 1 = A (cin→b, stride s, proj) + B (b→w); later ones C + D.

        As in ``expand``, a sub-block's second unit runs at its first unit's output size,
        and the next sub-block starts there too (equal sizes for odd kernels).
        """
        ir, relu, deep = OP["ir"], ACT["relu"], d > 1
        mid_b, mid_w = smart_round(b * e), smart_round(w * e)
        o1 = out_size(size, k, s)
        o2 = out_size(o1, k, 1)
        parts = [
            make(arch, 1, ir, cin, b, k, s, size, size, mid_b, relu, RES["proj"], relu),
            make(arch, 1, ir, b, w, k, 1, o1, o1, mid_w, relu, _same_array(b, w), relu),
            make(arch, d - 1, ir, w, b, k, 1, o1, o1, mid_b, relu, _same_array(w, b), relu,
                 where=deep),
            make(arch, d - 1, ir, b, w, k, 1, o2, o2, mid_w, relu, _same_array(b, w), relu,
                 where=deep),
        ]  # fmt: skip
        return parts, np.where(d > 1, out_size(o2, k, 1), o2)


BLOCK = IDW()
