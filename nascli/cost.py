"""Analytic cost of a network from its ``LayerKey`` list alone (no torch).

"FLOPs" in nascli follow the mobile-NAS convention (Zen-NAS, ZiCo, OFA): they are
multiply-accumulates (MACs) of convolutions and linear layers. BatchNorm, activations,
pooling, residual additions and bias additions are not counted, which is what
NAS-Bench-201's official counter reports too (index 13714 on CIFAR-10: 153.27 M) and
what ``torch.utils.flop_counter.FlopCounterMode`` counts (its FLOPs are 2 × MACs).

Parameters count every trainable tensor: conv/linear weights and biases and BN affine
weights (running statistics are buffers, not parameters).

Peak activation memory is the largest number of bytes (fp32, batch 1) live at once while
the network runs block by block: the input and output of the primitive being computed,
plus the block input held for a residual shortcut.

Each unit op's formula lives with its block type in ``nascli.spaces.blocks``; this module
sums them over a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nascli.layers import LayerKey
from nascli.spaces.blocks.base import BYTES_PER_VALUE, BlockCost
from nascli.spaces.blocks.registry import UNIT_OPS

__all__ = ["Cost", "block_cost", "network_cost"]


@dataclass(frozen=True, slots=True)
class Cost:
    """Cost of a whole network."""

    macs: int
    params: int
    peak_activation_bytes: int
    layers: int

    def as_dict(self) -> dict[str, int]:
        return {
            "macs": self.macs,
            "params": self.params,
            "peak_activation_bytes": self.peak_activation_bytes,
            "layers": self.layers,
        }


def network_cost(keys: list[LayerKey], layers: int | None = None) -> Cost:
    """Sum block costs; ``layers`` overrides the weight-layer count with a space's own rule."""
    macs = params = peak = weight_layers = 0
    for key in keys:
        block = block_cost(key)
        macs += block.macs
        params += block.params
        weight_layers += block.weight_layers
        if block.peak_values > peak:
            peak = block.peak_values
    return Cost(
        macs=macs,
        params=params,
        peak_activation_bytes=peak * BYTES_PER_VALUE,
        layers=weight_layers if layers is None else layers,
    )


@lru_cache(maxsize=65536)
def block_cost(key: LayerKey) -> BlockCost:
    """Cost of one unit key (its op's registered formula); cached because searches meet
    the same units again and again."""
    return UNIT_OPS[key.op].cost(key)
