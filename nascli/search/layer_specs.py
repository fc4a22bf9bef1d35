"""The weight layers of a network built from its ``LayerKey`` chain, without building it.

ZiCo is a sum of per-layer terms, each close to ``log(weight count) + offset``, where the
offset depends on what the layer is (depthwise or pointwise, fan-in, output size, depth).
A search that predicts ZiCo analytically needs, for every candidate, the same list of
Conv2d/Linear layers that ``nascli.nn.blocks`` builds, in the same order as
``named_modules`` visits them. This module derives that list from the keys; a test checks
it against the built modules on random networks of every macro space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from nascli.errors import ConfigError
from nascli.layers import LayerKey


class WeightLayer(NamedTuple):
    """One Conv2d/Linear layer: its shape and the size of the map it reads."""

    role: str  # conv | expand | depthwise | project | shortcut | linear
    cin: int
    cout: int
    kernel: int
    groups: int
    stride: int
    h: int  # input height/width (1 for the classifier)
    w: int

    @property
    def numel(self) -> int:
        return self.cout * (self.cin // self.groups) * self.kernel * self.kernel

    @property
    def out_positions(self) -> int:
        """Output positions per image: how many terms a weight's gradient sums over."""
        return -(-self.h // self.stride) * -(-self.w // self.stride)


def _shortcut(key: LayerKey) -> list[WeightLayer]:
    if key.residual == "proj":
        return [WeightLayer("shortcut", key.cin, key.cout, 1, 1, key.stride, key.h, key.w)]
    return []


def _ir(key: LayerKey) -> list[WeightLayer]:
    out: list[WeightLayer] = []
    width = key.cin
    if key.mid > 0:
        out.append(WeightLayer("expand", key.cin, key.mid, 1, 1, 1, key.h, key.w))
        width = key.mid
    out.append(WeightLayer("depthwise", width, width, key.kernel, width, key.stride, key.h, key.w))
    out.append(WeightLayer("project", width, key.cout, 1, 1, 1, key.h_out, key.w_out))
    return out + _shortcut(key)


def _basic(key: LayerKey) -> list[WeightLayer]:
    return [
        WeightLayer("conv", key.cin, key.mid, key.kernel, 1, key.stride, key.h, key.w),
        WeightLayer("conv", key.mid, key.cout, key.kernel, 1, 1, key.h_out, key.w_out),
        *_shortcut(key),
    ]


def _bottleneck(key: LayerKey) -> list[WeightLayer]:
    return [
        WeightLayer("expand", key.cin, key.mid, 1, 1, 1, key.h, key.w),
        WeightLayer("conv", key.mid, key.mid, key.kernel, 1, key.stride, key.h, key.w),
        WeightLayer("project", key.mid, key.cout, 1, 1, 1, key.h_out, key.w_out),
        *_shortcut(key),
    ]


def weight_layers_of(keys: Sequence[LayerKey]) -> list[WeightLayer]:
    """Conv2d/Linear layers of the chain ``keys``, in the built network's module order."""
    out: list[WeightLayer] = []
    for key in keys:
        if key.op == "conv":
            out.append(
                WeightLayer("conv", key.cin, key.cout, key.kernel, 1, key.stride, key.h, key.w)
            )
        elif key.op == "ir":
            out.extend(_ir(key))
        elif key.op == "basic":
            out.extend(_basic(key))
        elif key.op == "bottleneck":
            out.extend(_bottleneck(key))
        elif key.op == "pool_fc":
            out.append(WeightLayer("linear", key.cin, key.cout, 1, 1, 1, 1, 1))
        elif key.op == "maxpool":
            continue
        else:
            raise ConfigError(
                f"layer-wise prediction covers chains of conv/ir/basic/bottleneck blocks, "
                f"not {key.op!r} (use another --algo for this space)"
            )
    return out
