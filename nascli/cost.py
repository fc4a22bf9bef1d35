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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nascli.layers import LayerKey

BYTES_PER_VALUE = 4


@dataclass(frozen=True, slots=True)
class BlockCost:
    """Cost of one block: MACs, parameters, peak live activation values, weight layers."""

    macs: int
    params: int
    peak_values: int
    weight_layers: int


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
    """Cost of one block; cached because searches meet the same blocks again and again."""
    return _COSTERS[key.op](key)


def _conv(key: LayerKey) -> BlockCost:
    ho, wo = key.h_out, key.w_out
    k2 = key.kernel * key.kernel
    return BlockCost(
        macs=key.cin * k2 * key.cout * ho * wo,
        params=key.cin * k2 * key.cout + 2 * key.cout,
        peak_values=key.cin * key.h * key.w + key.cout * ho * wo,
        weight_layers=1,
    )


def _maxpool(key: LayerKey) -> BlockCost:
    return BlockCost(0, 0, key.cin * key.h * key.w + key.cout * key.h_out * key.w_out, 0)


@lru_cache(maxsize=65536)
def ir_unit_cost(
    cin: int, cout: int, kernel: int, hw_in: int, hw_out: int, mid: int, residual: str
) -> tuple[int, int, int, int]:
    """(MACs, params, peak values, weight layers) of one ``ir`` unit, from plain integers.

    The macro spaces call this directly when costing a whole block, so a search does not
    build a ``LayerKey`` per unit; ``_ir`` (the per-key path) calls it too, so both agree.
    """
    k2 = kernel * kernel
    width = mid if mid > 0 else cin
    held = cin * hw_in if residual != "none" else 0
    macs = width * k2 * hw_out + width * cout * hw_out
    params = width * k2 + 2 * width + width * cout + 2 * cout
    # Live values: depthwise in+out, then projection in+out (+ the held block input).
    peak = width * hw_in + width * hw_out
    project = width * hw_out + cout * hw_out
    if project > peak:
        peak = project
    layers = 2
    if mid > 0:
        macs += cin * mid * hw_in
        params += cin * mid + 2 * mid
        expand = cin * hw_in + mid * hw_in
        if expand > peak:
            peak = expand
        layers = 3
    if residual == "proj":  # 1×1 conv with bias + BN on the shortcut
        macs += cin * cout * hw_out
        params += cin * cout + 3 * cout
    return macs, params, peak + held, layers


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


UNIT_COSTS = {"ir": ir_unit_cost, "basic": basic_unit_cost, "bottleneck": bottleneck_unit_cost}


def _unit(key: LayerKey) -> BlockCost:
    hw_in, hw_out = key.h * key.w, key.h_out * key.w_out
    return BlockCost(
        *UNIT_COSTS[key.op](key.cin, key.cout, key.kernel, hw_in, hw_out, key.mid, key.residual)
    )


def _pool_fc(key: LayerKey) -> BlockCost:
    return BlockCost(
        macs=key.cin * key.cout,
        params=key.cin * key.cout + key.cout,
        peak_values=key.cin * key.h * key.w + key.cin,
        weight_layers=1,
    )


def _nb201_conv(key: LayerKey) -> BlockCost:
    hw = key.h_out * key.w_out
    k2 = key.kernel * key.kernel
    return BlockCost(
        macs=key.cin * k2 * key.cout * hw,
        params=key.cin * k2 * key.cout + 2 * key.cout,
        peak_values=key.cin * key.h * key.w + key.cout * hw,
        weight_layers=1,
    )


def _nb201_free(key: LayerKey) -> BlockCost:
    return BlockCost(0, 0, key.cin * key.h * key.w + key.cout * key.h_out * key.w_out, 0)


def _nb201_res(key: LayerKey) -> BlockCost:
    ho, wo = key.h_out, key.w_out
    hw = ho * wo
    macs = key.cin * 9 * key.cout * hw + key.cout * 9 * key.cout * hw + key.cin * key.cout * hw
    params = (
        key.cin * 9 * key.cout + 2 * key.cout + key.cout * 9 * key.cout + 2 * key.cout
        + key.cin * key.cout
    )  # fmt: skip
    peak = key.cin * key.h * key.w * 2 + key.cout * hw
    return BlockCost(macs, params, peak, 2)


def _nb201_head(key: LayerKey) -> BlockCost:
    return BlockCost(
        macs=key.cin * key.cout,
        params=2 * key.cin + key.cin * key.cout + key.cout,
        peak_values=2 * key.cin * key.h * key.w,
        weight_layers=1,
    )


_COSTERS = {
    "conv": _conv,
    "maxpool": _maxpool,
    "ir": _unit,
    "basic": _unit,
    "bottleneck": _unit,
    "pool_fc": _pool_fc,
    "nb201_conv": _nb201_conv,
    "nb201_pool": _nb201_free,
    "nb201_skip": _nb201_free,
    "nb201_zero": _nb201_free,
    "nb201_res": _nb201_res,
    "nb201_head": _nb201_head,
}
