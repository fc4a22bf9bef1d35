"""NAS-Bench-201 cell network (the benchmark's ``TinyNetwork`` for CIFAR).

Stem conv 3×3 + BN, three stages of N cells (C, 2C, 4C channels) joined by ResNet
reduction blocks, BN + ReLU, global pool, linear. A cell has 4 nodes; node j sums
op(i→j)(node i) over i < j. Ops: none (zeros), skip_connect, nor_conv_1x1 and
nor_conv_3x3 (ReLU → conv without bias → BN), avg_pool_3x3 (count_include_pad=False).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nascli.layers import LayerKey
from nascli.spaces.blocks.nb201_torch import ReductionBlock, ReLUConvBN, Zero
from nascli.spaces.blocks.registry import unit_op

__all__ = ["Cell", "NB201Network", "ReLUConvBN", "ReductionBlock", "Zero", "build_nb201_block"]


def build_nb201_block(key: LayerKey) -> nn.Module:
    """Module of one key of an NB201 network (its op's registered builder)."""
    return unit_op(key.op).build(key)


EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class Cell(nn.Module):
    def __init__(self, edge_keys: Sequence[LayerKey]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(build_nb201_block(key) for key in edge_keys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            total = None
            for module, (dst, src) in zip(self.edges, EDGES, strict=True):
                if dst == target:
                    out = module(nodes[src])
                    total = out if total is None else total + out
            nodes.append(total)
        return nodes[-1]


class NB201Network(nn.Module):
    """A NAS-Bench-201 network built from its ``LayerKey`` list (stem, 6 keys per cell, …)."""

    def __init__(self, keys: Sequence[LayerKey]) -> None:
        super().__init__()
        self.keys = tuple(keys)
        stem, *rest = keys
        *body, head = rest
        modules: list[nn.Module] = [build_nb201_block(stem)]
        index = 0
        while index < len(body):
            if body[index].op == "nb201_res":
                modules.append(build_nb201_block(body[index]))
                index += 1
            else:
                modules.append(Cell(body[index : index + 6]))
                index += 6
        self.features = nn.Sequential(*modules)
        self.head = build_nb201_block(head)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.pre(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
