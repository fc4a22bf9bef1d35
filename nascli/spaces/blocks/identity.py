"""The ``identity`` and ``skip`` block types: a layer-wise space's "no operation" choice.

Where the block keeps the shape it is nothing at all (no unit, no cost). Where it changes
stride or width it cannot be an identity, so it becomes a 1×1 conv (stride s) + BN:
with no activation for ``identity``, as NAS-Bench-Macro defines its identity at a stage's
first layer, and followed by a ReLU for ``skip``, as FBNet (and HW-NAS-Bench's rebuild of
its space) defines its ``skip`` choice.
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
    act: str = "none"  # after the 1×1 conv that replaces it where the shape changes
    uses_bottleneck: bool = False
    # Nothing at a layer that keeps the shape: such choices are interchangeable there.
    vanishes_when_shape_kept: bool = True

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        if block.stride == 1 and cin == block.width:
            return []
        return [LayerKey("conv", cin, block.width, 1, block.stride, size, size, act=self.act)]

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
            make(arch, 1, OP["conv"], cin, w, 1, s, size, size, 0, ACT[self.act], RES["none"],
                 none, where=change)
        ]  # fmt: skip
        return parts, np.where(change, out_size(size, 1, s), size)


BLOCK = Identity()
SKIP = Identity("skip", act="relu")
