"""Unit ops of stems, heads and downsampling shortcuts: ``conv``, ``maxpool``, ``pool_fc``.

``conv`` is conv k×k + BN + ``act`` (``act: none`` gives the 1×1 stride-2 conv + BN that a
layer-wise space's identity becomes where the shape changes); ``pool_fc`` is global
average pooling + a linear classifier with bias.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nascli.layers import LayerKey
from nascli.spaces.blocks.base import BlockCost, UnitOp, WeightLayer

if TYPE_CHECKING:
    from torch import nn


def conv_cost(key: LayerKey) -> BlockCost:
    ho, wo = key.h_out, key.w_out
    k2 = key.kernel * key.kernel
    return BlockCost(
        macs=key.cin * k2 * key.cout * ho * wo,
        params=key.cin * k2 * key.cout + 2 * key.cout,
        peak_values=key.cin * key.h * key.w + key.cout * ho * wo,
        weight_layers=1,
    )


def build_conv(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import act, conv_bn

    return nn.Sequential(*conv_bn(key.cin, key.cout, key.kernel, key.stride), act(key.act))


def maxpool_cost(key: LayerKey) -> BlockCost:
    return BlockCost(0, 0, key.cin * key.h * key.w + key.cout * key.h_out * key.w_out, 0)


def build_maxpool(key: LayerKey) -> nn.Module:
    from torch import nn

    return nn.MaxPool2d(key.kernel, key.stride, key.kernel // 2)


def pool_fc_cost(key: LayerKey) -> BlockCost:
    return BlockCost(
        macs=key.cin * key.cout,
        params=key.cin * key.cout + key.cout,
        peak_values=key.cin * key.h * key.w + key.cin,
        weight_layers=1,
    )


def build_pool_fc(key: LayerKey) -> nn.Module:
    from nascli.spaces.blocks.torch_parts import PoolClassifier

    return PoolClassifier(key.cin, key.cout)


def conv_weight_layers(key: LayerKey) -> list[WeightLayer]:
    return [WeightLayer("conv", key.cin, key.cout, key.kernel, 1, key.stride, key.h, key.w)]


def pool_fc_weight_layers(key: LayerKey) -> list[WeightLayer]:
    return [WeightLayer("linear", key.cin, key.cout, 1, 1, 1, 1, 1)]


CONV = UnitOp("conv", conv_cost, build_conv, conv_weight_layers, kernel_in_group=True)
MAXPOOL = UnitOp("maxpool", maxpool_cost, build_maxpool, lambda key: [])
POOL_FC = UnitOp("pool_fc", pool_fc_cost, build_pool_fc, pool_fc_weight_layers)
