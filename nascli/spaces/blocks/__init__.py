"""Block types and unit ops, one module each, registered in ``registry``."""

from nascli.spaces.blocks.base import Block, BlockCost, BlockType, UnitOp, smart_round
from nascli.spaces.blocks.registry import BLOCK_TYPES, UNIT_OPS, block_type, unit_op

__all__ = [
    "BLOCK_TYPES",
    "UNIT_OPS",
    "Block",
    "BlockCost",
    "BlockType",
    "UnitOp",
    "block_type",
    "smart_round",
    "unit_op",
]
