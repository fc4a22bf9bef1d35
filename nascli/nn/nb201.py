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
from nascli.nn.blocks import PoolClassifier, build_block

EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(cout),
        )


class ReductionBlock(nn.Module):
    """NAS-Bench-201 ``ResNetBasicblock`` with stride 2 between stages."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(cin, cout, 1, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


def build_nb201_block(key: LayerKey) -> nn.Module:
    """Module of one NB201 key (edge op, reduction block or head)."""
    if key.op == "nb201_conv":
        return ReLUConvBN(key.cin, key.cout, key.kernel, key.stride)
    if key.op == "nb201_pool":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if key.op == "nb201_skip":
        return nn.Identity()
    if key.op == "nb201_zero":
        return Zero()
    if key.op == "nb201_res":
        return ReductionBlock(key.cin, key.cout)
    if key.op == "nb201_head":
        return PoolClassifier(
            key.cin, key.cout, pre=nn.Sequential(nn.BatchNorm2d(key.cin), nn.ReLU())
        )
    raise ValueError(f"no module for layer op {key.op!r}")


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
        modules: list[nn.Module] = [build_block(stem)]
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
