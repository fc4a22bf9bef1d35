"""A macro network's blocks as units, costs and key counts, cached per block.

The work is done by each block type (``nascli.spaces.blocks``); this module only caches
it per (block, input channels, input size): a mutation changes one or two blocks, so a
search re-expands and re-costs few of them.
"""

from __future__ import annotations

from functools import lru_cache

from nascli.layers import LayerKey
from nascli.spaces.blocks.base import Block, BlockTotals
from nascli.spaces.blocks.registry import block_type


@lru_cache(maxsize=65536)
def expand_block(block: Block, cin: int, size: int, residual: bool) -> tuple[LayerKey, ...]:
    """The units (LayerKeys) one block expands into, starting at ``cin`` × ``size``²."""
    return tuple(block_type(block.type).expand(block, cin, size, residual))


@lru_cache(maxsize=65536)
def block_cost(block: Block, cin: int, size: int) -> BlockTotals:
    """(MACs, params, peak bytes, weight layers, output size) of one block, residuals on.

    The block type's closed form; a property test checks that it equals
    ``network_cost`` of the expanded keys for random architectures of every space.
    """
    return block_type(block.type).cost(block, cin, size)


@lru_cache(maxsize=65536)
def block_key_counts(
    block: Block, cin: int, size: int
) -> tuple[tuple[tuple[LayerKey, int], ...], int]:
    """((distinct unit key, count) pairs, output size) of one block, residual links on."""
    units = expand_block(block, cin, size, True)
    counts: dict[LayerKey, int] = {}
    for unit in units:
        counts[unit] = counts.get(unit, 0) + 1
    return tuple(counts.items()), units[-1].h_out if units else size
