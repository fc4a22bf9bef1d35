"""The one place block types and unit ops are registered: name → definition.

Adding a block type is one module (``expand``, ``cost``, ``rows``; its unit op's cost and
builder when it needs a new one) plus one line below. No import-time side effects: the
tables are plain dicts built from the modules' definitions.
"""

from __future__ import annotations

from nascli.errors import ConfigError, suggest
from nascli.spaces.blocks import (
    grouped_ir,
    identity,
    idw,
    inverted_residual,
    nb201_ops,
    resnet,
    stem_head,
)
from nascli.spaces.blocks.base import BlockType, UnitOp

BLOCK_TYPES: dict[str, BlockType] = {
    block.name: block
    for block in (
        idw.BLOCK,
        inverted_residual.IR,
        inverted_residual.IR_RELU,
        resnet.BASIC,
        resnet.BOTTLENECK,
        identity.BLOCK,
        identity.SKIP,
        grouped_ir.FBNET_IR,
        grouped_ir.FBNET_IR_G2,
    )
}

UNIT_OPS: dict[str, UnitOp] = {
    op.name: op
    for op in (
        stem_head.CONV,
        stem_head.MAXPOOL,
        inverted_residual.UNIT,
        resnet.BASIC_UNIT,
        resnet.BOTTLENECK_UNIT,
        stem_head.POOL_FC,
        nb201_ops.CONV,
        nb201_ops.POOL,
        nb201_ops.SKIP,
        nb201_ops.ZERO,
        nb201_ops.RES,
        nb201_ops.HEAD,
        grouped_ir.UNIT,
    )
}


def block_type(name: str) -> BlockType:
    """The registered block type ``name``; unknown names suggest the closest one."""
    found = BLOCK_TYPES.get(name)
    if found is None:
        raise ConfigError(
            f"unknown block type {name!r}{suggest(name, list(BLOCK_TYPES))}; "
            f"known: {', '.join(BLOCK_TYPES)}"
        )
    return found


def unit_op(name: str) -> UnitOp:
    """The registered unit op ``name`` (a ``LayerKey.op``)."""
    found = UNIT_OPS.get(name)
    if found is None:
        raise ConfigError(f"no unit op {name!r}; known: {', '.join(UNIT_OPS)}")
    return found


def vanishes_when_shape_kept(name: str) -> bool:
    """Is block type ``name`` nothing at all at a layer that keeps the shape (a skip)?"""
    return bool(getattr(block_type(name), "vanishes_when_shape_kept", False))
