"""MobileNetV2 inverted residual: the ``ir`` unit op and the ``ir`` / ``ir_relu`` block types.

Unit ``ir``: [1×1 cin→mid + BN + act] (skipped when ``mid == 0``), depthwise k×k/stride on
the expanded width + BN + act, 1×1 →cout + BN, shortcut (none | identity | proj = 1×1 conv
with bias + BN), then ``post_act`` after the sum. The ``idw`` block type reuses this unit.

Block ``ir`` (MobileNetV2, ReLU6) and ``ir_relu`` (the same with plain ReLU, as in
NAS-Bench-Macro and FBNet): ``depth`` units expanded to in·E (no expansion conv when
E = 1), identity shortcut only when the shape is kept, no activation after the sum.
"""

from __future__ import annotations

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
    shortcut_weight_layers,
    sum_parts,
)

if TYPE_CHECKING:
    from torch import nn

    from nascli.keyrows import KeyRows


@lru_cache(maxsize=65536)
def ir_unit_cost(
    cin: int, cout: int, kernel: int, hw_in: int, hw_out: int, mid: int, residual: str
) -> tuple[int, int, int, int]:
    """(MACs, params, peak values, weight layers) of one ``ir`` unit, from plain integers.

    Block types call this directly when costing a whole block, so a search does not build
    a ``LayerKey`` per unit; the per-key path (``unit_cost``) calls it too, so both agree.
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


def unit_cost(key: LayerKey) -> BlockCost:
    hw_in, hw_out = key.h * key.w, key.h_out * key.w_out
    return BlockCost(
        *ir_unit_cost(key.cin, key.cout, key.kernel, hw_in, hw_out, key.mid, key.residual)
    )


def build_unit(key: LayerKey) -> nn.Module:
    from torch import nn

    from nascli.spaces.blocks.torch_parts import Unit, act, conv_bn, shortcut_module

    layers: list[nn.Module] = []
    width = key.cin
    if key.mid > 0:
        layers += [*conv_bn(key.cin, key.mid, 1, 1), act(key.act)]
        width = key.mid
    layers += [*conv_bn(width, width, key.kernel, key.stride, groups=width), act(key.act)]
    layers += conv_bn(width, key.cout, 1, 1)
    return Unit(nn.Sequential(*layers), shortcut_module(key), key.post_act)


def unit_weight_layers(key: LayerKey) -> list[WeightLayer]:
    """Expansion 1×1 (when ``mid`` > 0), depthwise k×k, projection 1×1, then the shortcut."""
    out: list[WeightLayer] = []
    width = key.cin
    if key.mid > 0:
        out.append(WeightLayer("expand", key.cin, key.mid, 1, 1, 1, key.h, key.w))
        width = key.mid
    out.append(WeightLayer("depthwise", width, width, key.kernel, width, key.stride, key.h, key.w))
    out.append(WeightLayer("project", width, key.cout, 1, 1, 1, key.h_out, key.w_out))
    return out + shortcut_weight_layers(key)


def unit_latency_features(key: LayerKey) -> dict[str, float]:
    """Work of each part of the unit: its depthwise (per kernel), expansion, projection and
    projection shortcut, so one family model covers every kernel size."""
    ho, wo = key.h_out, key.w_out
    inner = key.mid if key.mid > 0 else key.cin
    features = {
        "one": 1.0,
        f"dw_k{key.kernel}": float(ho * wo * inner),
        "expand": float(key.h * key.w * key.cin * key.mid),
        "project": float(ho * wo * inner * key.cout),
    }
    if key.residual == "proj":
        features["shortcut"] = float(ho * wo * key.cin * key.cout)
    return features


UNIT = UnitOp(
    "ir", unit_cost, build_unit, unit_weight_layers,
    family_spans_kernels=True, latency_features=unit_latency_features,
)  # fmt: skip


@dataclass(frozen=True)
class InvertedResidual:
    """MobileNetV2 inverted-residual block type with activation ``act``."""

    name: str
    act: str
    uses_bottleneck: bool = False

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        k, e, w = block.kernel, block.expansion, block.width

        def unit(last: int, stride: int, size: int) -> LayerKey:
            keep = stride == 1 and last == w and residual
            return LayerKey(
                "ir", last, w, k, stride, size, size, mid=last * e if e != 1 else 0,
                act=self.act, residual="identity" if keep else "none", post_act="none",
            )  # fmt: skip

        return chain(block.depth, cin, w, block.stride, size, unit)

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        k, w, e, depth = block.kernel, block.width, block.expansion, block.depth
        out = out_size(size, k, block.stride)
        hw_in, hw_out = size * size, out * out
        keep = "identity" if block.stride == 1 and cin == w else "none"
        parts = [(ir_unit_cost(cin, w, k, hw_in, hw_out, cin * e if e != 1 else 0, keep), 1)]
        if depth > 1:
            repeat = ir_unit_cost(w, w, k, hw_out, hw_out, w * e if e != 1 else 0, "identity")
            parts.append((repeat, depth - 1))
        return sum_parts(parts, out)

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        """First unit (identity only when the shape is kept), then d-1 repeats."""
        ir, o1, act = OP["ir"], out_size(size, k, s), ACT[self.act]
        first_mid = np.where(e != 1, cin * e, 0)
        keep = np.where((s == 1) & (cin == w), RES["identity"], RES["none"])
        parts = [
            make(arch, 1, ir, cin, w, k, s, size, size, first_mid, act, keep, ACT["none"]),
            make(arch, d - 1, ir, w, w, k, 1, o1, o1, np.where(e != 1, w * e, 0), act,
                 RES["identity"], ACT["none"], where=d > 1),
        ]  # fmt: skip
        return parts, np.where(d > 1, out_size(o1, k, 1), o1)


IR = InvertedResidual("ir", act="relu6")
IR_RELU = InvertedResidual("ir_relu", act="relu")
