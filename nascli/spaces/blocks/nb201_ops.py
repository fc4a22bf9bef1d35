"""NAS-Bench-201 unit ops: edge ops, the reduction block and the head.

``nb201_conv`` ReLU → conv k×k (no bias) → BN; ``nb201_pool`` avg-pool 3×3
(count_include_pad=False); ``nb201_skip`` / ``nb201_zero`` identity / zeros (no MACs);
``nb201_res`` the benchmark's ``ResNetBasicblock`` with stride 2 (avg-pool + 1×1 shortcut);
``nb201_head`` BN + ReLU + global pool + linear. The cell wiring is in ``nascli.nn.nb201``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nascli.layers import LayerKey
from nascli.spaces.blocks.base import BlockCost, UnitOp

if TYPE_CHECKING:
    from torch import nn


def conv_cost(key: LayerKey) -> BlockCost:
    hw = key.h_out * key.w_out
    k2 = key.kernel * key.kernel
    return BlockCost(
        macs=key.cin * k2 * key.cout * hw,
        params=key.cin * k2 * key.cout + 2 * key.cout,
        peak_values=key.cin * key.h * key.w + key.cout * hw,
        weight_layers=1,
    )


def free_cost(key: LayerKey) -> BlockCost:
    return BlockCost(0, 0, key.cin * key.h * key.w + key.cout * key.h_out * key.w_out, 0)


def res_cost(key: LayerKey) -> BlockCost:
    hw = key.h_out * key.w_out
    macs = key.cin * 9 * key.cout * hw + key.cout * 9 * key.cout * hw + key.cin * key.cout * hw
    params = (
        key.cin * 9 * key.cout + 2 * key.cout + key.cout * 9 * key.cout + 2 * key.cout
        + key.cin * key.cout
    )  # fmt: skip
    peak = key.cin * key.h * key.w * 2 + key.cout * hw
    return BlockCost(macs, params, peak, 2)


def head_cost(key: LayerKey) -> BlockCost:
    return BlockCost(
        macs=key.cin * key.cout,
        params=2 * key.cin + key.cin * key.cout + key.cout,
        peak_values=2 * key.cin * key.h * key.w,
        weight_layers=1,
    )


def build_conv(key: LayerKey) -> nn.Module:
    from nascli.spaces.blocks.nb201_torch import ReLUConvBN

    return ReLUConvBN(key.cin, key.cout, key.kernel, key.stride)


def build_pool(key: LayerKey) -> nn.Module:
    from torch import nn

    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


def build_skip(key: LayerKey) -> nn.Module:
    from torch import nn

    return nn.Identity()


def build_zero(key: LayerKey) -> nn.Module:
    from nascli.spaces.blocks.nb201_torch import Zero

    return Zero()


def build_res(key: LayerKey) -> nn.Module:
    from nascli.spaces.blocks.nb201_torch import ReductionBlock

    return ReductionBlock(key.cin, key.cout)


def build_head(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import PoolClassifier

    return PoolClassifier(key.cin, key.cout, pre=nn.Sequential(nn.BatchNorm2d(key.cin), nn.ReLU()))


CONV = UnitOp("nb201_conv", conv_cost, build_conv, kernel_in_group=True)
POOL = UnitOp("nb201_pool", free_cost, build_pool)
SKIP = UnitOp("nb201_skip", free_cost, build_skip)
ZERO = UnitOp("nb201_zero", free_cost, build_zero)
RES = UnitOp("nb201_res", res_cost, build_res)
HEAD = UnitOp("nb201_head", head_cost, build_head)
