"""FBNet's ``ConvBlock``: the ``ir_g2`` unit op and the ``fbnet_ir`` / ``fbnet_ir_g2`` block types.

FBNet (Wu et al., CVPR 2019) and HW-NAS-Bench's CIFAR rebuild of its space differ from a
MobileNetV2 inverted residual in two ways that change cost and kernels:

* the 1×1 expansion is always there, also at expansion 1 (``mid = cin · E``, never 0);
* the ``_g2`` choices split both 1×1 convs into 2 groups and shuffle the channels (2 groups)
  after the first one, as ShuffleNet does, so information crosses the groups.

Unit ``ir_g2``: 1×1 cin→mid in 2 groups + BN + act, channel shuffle, depthwise k×k/stride
on mid + BN + act, 1×1 mid→cout in 2 groups + BN, shortcut (as ``ir``), ``post_act``.
Block ``fbnet_ir`` runs the plain ``ir`` unit with ``mid = cin · E``; ``fbnet_ir_g2`` runs
``ir_g2``. Both have plain ReLU and an identity shortcut only where the shape is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nascli.errors import ConfigError
from nascli.keyrows import ACT, OP, RES
from nascli.layers import LayerKey
from nascli.spaces.blocks.base import (
    Block,
    BlockCost,
    BlockTotals,
    MakeRows,
    UnitOp,
    chain,
    out_size,
    sum_parts,
)
from nascli.spaces.blocks.inverted_residual import ir_unit_cost

if TYPE_CHECKING:
    from torch import nn

    from nascli.keyrows import KeyRows

GROUPS = 2


@lru_cache(maxsize=65536)
def ir_g2_unit_cost(
    cin: int, cout: int, kernel: int, hw_in: int, hw_out: int, mid: int, residual: str
) -> tuple[int, int, int, int]:
    """(MACs, params, peak values, weight layers) of one ``ir_g2`` unit.

    A 1×1 conv in g groups holds (and computes) 1/g of the dense weights; the depthwise
    conv and the data moved are those of the ungrouped unit.
    """
    k2 = kernel * kernel
    width = mid if mid > 0 else cin
    held = cin * hw_in if residual != "none" else 0
    macs = width * k2 * hw_out + width * cout // GROUPS * hw_out
    params = width * k2 + 2 * width + width * cout // GROUPS + 2 * cout
    peak = max(width * hw_in + width * hw_out, width * hw_out + cout * hw_out)
    layers = 2
    if mid > 0:
        macs += cin * mid // GROUPS * hw_in
        params += cin * mid // GROUPS + 2 * mid
        peak = max(peak, cin * hw_in + mid * hw_in)
        layers = 3
    if residual == "proj":  # as ``ir``: 1×1 conv with bias + BN on the shortcut
        macs += cin * cout * hw_out
        params += cin * cout + 3 * cout
    return macs, params, peak + held, layers


def unit_cost(key: LayerKey) -> BlockCost:
    hw_in, hw_out = key.h * key.w, key.h_out * key.w_out
    return BlockCost(
        *ir_g2_unit_cost(key.cin, key.cout, key.kernel, hw_in, hw_out, key.mid, key.residual)
    )


def build_unit(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import (
        ChannelShuffle,
        Unit,
        act,
        conv_bn,
        shortcut_module,
    )

    layers: list[nn.Module] = []
    width = key.cin
    if key.mid > 0:
        layers += [*conv_bn(key.cin, key.mid, 1, 1, groups=GROUPS), act(key.act)]
        layers.append(ChannelShuffle(GROUPS))
        width = key.mid
    layers += [*conv_bn(width, width, key.kernel, key.stride, groups=width), act(key.act)]
    layers += conv_bn(width, key.cout, 1, 1, groups=GROUPS)
    return Unit(nn.Sequential(*layers), shortcut_module(key), key.post_act)


UNIT = UnitOp("ir_g2", unit_cost, build_unit)


@dataclass(frozen=True)
class FullExpansionIR:
    """FBNet ConvBlock type: unit ``op`` with ``mid = cin · E`` always, ReLU, no post-act."""

    name: str
    op: str
    groups: int
    uses_bottleneck: bool = False

    def _unit_cost(self) -> Any:
        return ir_g2_unit_cost if self.groups > 1 else ir_unit_cost

    def _check(self, cin: int, width: int, expansion: int) -> None:
        if self.groups > 1 and (cin % self.groups or width % self.groups or expansion < 1):
            raise ConfigError(
                f"block type {self.name!r} splits its 1x1 convs into {self.groups} groups: "
                f"input ({cin}) and output ({width}) widths must be multiples of {self.groups}"
            )

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        k, e, w = block.kernel, block.expansion, block.width
        self._check(cin, w, e)

        def unit(last: int, stride: int, size: int) -> LayerKey:
            keep = stride == 1 and last == w and residual
            return LayerKey(
                self.op, last, w, k, stride, size, size, mid=last * e, act="relu",
                residual="identity" if keep else "none", post_act="none",
            )  # fmt: skip

        return chain(block.depth, cin, w, block.stride, size, unit)

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        k, w, e, depth = block.kernel, block.width, block.expansion, block.depth
        self._check(cin, w, e)
        out = out_size(size, k, block.stride)
        hw_in, hw_out = size * size, out * out
        keep = "identity" if block.stride == 1 and cin == w else "none"
        unit_cost_of = self._unit_cost()
        parts = [(unit_cost_of(cin, w, k, hw_in, hw_out, cin * e, keep), 1)]
        if depth > 1:
            parts.append((unit_cost_of(w, w, k, hw_out, hw_out, w * e, "identity"), depth - 1))
        return sum_parts(parts, out)

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        """First unit (identity only when the shape is kept), then d-1 repeats."""
        op, o1, relu = OP[self.op], out_size(size, k, s), ACT["relu"]
        keep = np.where((s == 1) & (cin == w), RES["identity"], RES["none"])
        parts = [
            make(arch, 1, op, cin, w, k, s, size, size, cin * e, relu, keep, ACT["none"]),
            make(arch, d - 1, op, w, w, k, 1, o1, o1, w * e, relu, RES["identity"],
                 ACT["none"], where=d > 1),
        ]  # fmt: skip
        return parts, np.where(d > 1, out_size(o1, k, 1), o1)


FBNET_IR = FullExpansionIR("fbnet_ir", op="ir", groups=1)
FBNET_IR_G2 = FullExpansionIR("fbnet_ir_g2", op="ir_g2", groups=GROUPS)
