"""PyTorch modules for ``LayerKey`` blocks; a network is the chain of its blocks.

Building every network from the same per-key modules means a latency-table entry
times exactly the module the network runs, and the analytic cost describes exactly
what torch executes (tests cross-check both). Each op's builder is registered with its
block type in ``nascli.spaces.blocks``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nascli.layers import LayerKey
from nascli.spaces.blocks.registry import unit_op
from nascli.spaces.blocks.torch_parts import PoolClassifier

__all__ = ["BlockNetwork", "PoolClassifier", "build_block"]


def build_block(key: LayerKey) -> nn.Module:
    """The module that runs ``key`` (any registered unit op)."""
    return unit_op(key.op).build(key)


class BlockNetwork(nn.Module):
    """A chain of blocks; the last block is the pooling classifier.

    ``forward_features`` returns the map before global pooling (what Zen-NAS scores).
    """

    def __init__(self, keys: Sequence[LayerKey]) -> None:
        super().__init__()
        *body, head = keys
        self.keys = tuple(keys)
        self.features = nn.Sequential(*(build_block(key) for key in body))
        self.head = build_block(head)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
