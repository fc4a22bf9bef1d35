"""The weight layers of a network built from its ``LayerKey`` chain, without building it.

ZiCo is a sum of per-layer terms, each close to ``log(weight count) + offset``, where the
offset depends on what the layer is (depthwise or pointwise, fan-in, output size, depth).
A search that predicts ZiCo analytically needs, for every candidate, the same list of
Conv2d/Linear layers that ``nascli.nn.blocks`` builds, in the same order as
``named_modules`` visits them. Each unit op derives its part of that list from its key
(``UnitOp.weight_layers``); this module chains them, and tests check the list against the
built modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.spaces.blocks import unit_op
from nascli.spaces.blocks.base import WeightLayer

__all__ = ["WeightLayer", "weight_layers_of"]


def weight_layers_of(keys: Sequence[LayerKey]) -> list[WeightLayer]:
    """Conv2d/Linear layers of the chain ``keys``, in the built network's module order.

    Each unit op knows its own layers (``UnitOp.weight_layers``, beside its torch builder);
    an op without that view (NB201's cell ops) cannot be predicted layer by layer.
    """
    out: list[WeightLayer] = []
    for key in keys:
        view = unit_op(key.op).weight_layers
        if view is None:
            raise ConfigError(
                f"layer-wise prediction covers chains of units that declare their weight "
                f"layers (conv/ir/basic/bottleneck blocks), not {key.op!r} (use another "
                f"--algo for this space)"
            )
        out.extend(view(key))
    return out
