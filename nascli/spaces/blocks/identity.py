"""The ``identity`` block type: a layer-wise space's "no operation" choice.

Where the block keeps the shape it is nothing at all (no unit, no cost). Where it changes
stride or width it cannot be an identity, so it becomes a 1×1 conv (stride s) + BN with no
activation, as NAS-Bench-Macro defines its identity at a stage's first layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nascli.keyrows import ACT, OP, RES
from nascli.layers import LayerKey
from nascli.spaces.blocks.base import BYTES_PER_VALUE, Block, BlockTotals, MakeRows, out_size
from nascli.spaces.blocks.stem_head import conv_cost

if TYPE_CHECKING:
    from nascli.keyrows import KeyRows


@dataclass(frozen=True)
class Identity:
    name: str = "identity"
    uses_bottleneck: bool = False

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        if block.stride == 1 and cin == block.width:
            return []
        return [LayerKey("conv", cin, block.width, 1, block.stride, size, size, act="none")]

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        keys = self.expand(block, cin, size, True)
        if not keys:
            return 0, 0, 0, 0, size
        cost = conv_cost(keys[0])
        return (
            cost.macs, cost.params, cost.peak_values * BYTES_PER_VALUE, cost.weight_layers,
            out_size(size, 1, block.stride),
        )  # fmt: skip

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        change = (s != 1) | (cin != w)
        none = ACT["none"]
        parts = [
            make(arch, 1, OP["conv"], cin, w, 1, s, size, size, 0, none, RES["none"], none,
                 where=change)
        ]  # fmt: skip
        return parts, np.where(change, out_size(size, 1, s), size)


BLOCK = Identity()
