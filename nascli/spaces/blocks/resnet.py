"""ResNet units and block types: ``basic`` (k×k, k×k) and ``bottleneck`` (1×1, k×k, 1×1).

Unit ``basic``: k×k cin→mid/stride + BN + act, k×k mid→cout + BN, shortcut, post_act.
Unit ``bottleneck``: 1×1 cin→mid + BN + act, k×k mid→mid/stride + BN + act, 1×1 mid→cout
+ BN, shortcut, post_act. A block is ``depth`` units with inner width ``bottleneck``; the
first has a projection shortcut when the shape changes. ReLU inside and after each sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nascli.keyrows import ACT, OP, RES
from nascli.layers import LayerKey
from nascli.spaces.blocks.base import (
    Block,
    BlockCost,
    BlockTotals,
    MakeRows,
    UnitOp,
    WeightLayer,
    chain,
    out_size,
    shortcut,
    shortcut_weight_layers,
    sum_parts,
)

if TYPE_CHECKING:
    from torch import nn

    from nascli.keyrows import KeyRows

UnitCost = Callable[[int, int, int, int, int, int, str], tuple[int, int, int, int]]


@lru_cache(maxsize=65536)
def basic_unit_cost(
    cin: int, cout: int, kernel: int, hw_in: int, hw_out: int, mid: int, residual: str
) -> tuple[int, int, int, int]:
    """(MACs, params, peak values, weight layers) of one ResNet ``basic`` unit."""
    k2 = kernel * kernel
    held = cin * hw_in if residual != "none" else 0
    macs = cin * k2 * mid * hw_out + mid * k2 * cout * hw_out
    params = cin * k2 * mid + 2 * mid + mid * k2 * cout + 2 * cout
    peak = max(cin * hw_in + mid * hw_out, mid * hw_out + cout * hw_out) + held
    if residual == "proj":
        macs += cin * cout * hw_out
        params += cin * cout + 3 * cout
    return macs, params, peak, 2


@lru_cache(maxsize=65536)
def bottleneck_unit_cost(
    cin: int, cout: int, kernel: int, hw_in: int, hw_out: int, mid: int, residual: str
) -> tuple[int, int, int, int]:
    """(MACs, params, peak values, weight layers) of one ResNet ``bottleneck`` unit."""
    k2 = kernel * kernel
    held = cin * hw_in if residual != "none" else 0
    macs = cin * mid * hw_in + mid * k2 * mid * hw_out + mid * cout * hw_out
    params = cin * mid + 2 * mid + mid * k2 * mid + 2 * mid + mid * cout + 2 * cout
    peak = (
        max(cin * hw_in + mid * hw_in, mid * hw_in + mid * hw_out, mid * hw_out + cout * hw_out)
        + held
    )
    if residual == "proj":
        macs += cin * cout * hw_out
        params += cin * cout + 3 * cout
    return macs, params, peak, 3


def _per_key(unit: UnitCost) -> Callable[[LayerKey], BlockCost]:
    def cost(key: LayerKey) -> BlockCost:
        hw_in, hw_out = key.h * key.w, key.h_out * key.w_out
        return BlockCost(*unit(key.cin, key.cout, key.kernel, hw_in, hw_out, key.mid, key.residual))

    return cost


def build_basic(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import Unit, act, conv_bn, shortcut_module

    body = nn.Sequential(
        *conv_bn(key.cin, key.mid, key.kernel, key.stride),
        act(key.act),
        *conv_bn(key.mid, key.cout, key.kernel, 1),
    )
    return Unit(body, shortcut_module(key), key.post_act)


def build_bottleneck(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import Unit, act, conv_bn, shortcut_module

    body = nn.Sequential(
        *conv_bn(key.cin, key.mid, 1, 1),
        act(key.act),
        *conv_bn(key.mid, key.mid, key.kernel, key.stride),
        act(key.act),
        *conv_bn(key.mid, key.cout, 1, 1),
    )
    return Unit(body, shortcut_module(key), key.post_act)


def basic_weight_layers(key: LayerKey) -> list[WeightLayer]:
    """Two k×k convs (the first strided), then the shortcut."""
    return [
        WeightLayer("conv", key.cin, key.mid, key.kernel, 1, key.stride, key.h, key.w),
        WeightLayer("conv", key.mid, key.cout, key.kernel, 1, 1, key.h_out, key.w_out),
        *shortcut_weight_layers(key),
    ]


def bottleneck_weight_layers(key: LayerKey) -> list[WeightLayer]:
    """1×1 reduce, strided k×k, 1×1 expand, then the shortcut."""
    return [
        WeightLayer("expand", key.cin, key.mid, 1, 1, 1, key.h, key.w),
        WeightLayer("conv", key.mid, key.mid, key.kernel, 1, key.stride, key.h, key.w),
        WeightLayer("project", key.mid, key.cout, 1, 1, 1, key.h_out, key.w_out),
        *shortcut_weight_layers(key),
    ]


BASIC_UNIT = UnitOp("basic", _per_key(basic_unit_cost), build_basic, basic_weight_layers)
BOTTLENECK_UNIT = UnitOp(
    "bottleneck", _per_key(bottleneck_unit_cost), build_bottleneck, bottleneck_weight_layers
)


@dataclass(frozen=True)
class ResNetBlock:
    """``depth`` ResNet units of op ``name`` (``basic`` or ``bottleneck``)."""

    name: str
    unit_cost: UnitCost
    uses_bottleneck: bool = True

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        k, w, b = block.kernel, block.width, block.bottleneck

        def unit(last: int, stride: int, size: int) -> LayerKey:
            return LayerKey(
                self.name, last, w, k, stride, size, size, mid=b, act="relu",
                residual=shortcut(last, w, stride, residual), post_act="relu",
            )  # fmt: skip

        return chain(block.depth, cin, w, block.stride, size, unit)

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        k, w, depth = block.kernel, block.width, block.depth
        out = out_size(size, k, block.stride)
        hw_in, hw_out = size * size, out * out
        first = "proj" if block.stride != 1 or cin != w else "identity"
        parts = [(self.unit_cost(cin, w, k, hw_in, hw_out, block.bottleneck, first), 1)]
        if depth > 1:
            repeat = self.unit_cost(w, w, k, hw_out, hw_out, block.bottleneck, "identity")
            parts.append((repeat, depth - 1))
        return sum_parts(parts, out)

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        """First unit (projection when the shape changes), then d-1 repeats."""
        op, relu, o1 = OP[self.name], ACT["relu"], out_size(size, k, s)
        first_res = np.where((s != 1) | (cin != w), RES["proj"], RES["identity"])
        parts = [
            make(arch, 1, op, cin, w, k, s, size, size, b, relu, first_res, relu),
            make(arch, d - 1, op, w, w, k, 1, o1, o1, b, relu, RES["identity"], relu,
                 where=d > 1),
        ]  # fmt: skip
        return parts, np.where(d > 1, out_size(o1, k, 1), o1)


BASIC = ResNetBlock("basic", basic_unit_cost)
BOTTLENECK = ResNetBlock("bottleneck", bottleneck_unit_cost)
