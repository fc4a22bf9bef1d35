"""Search moves of a macro space: random sampling, ZiCo/Zen-NAS mutation, Optuna suggestion.

Every move stays inside the space's template (strides never change, as in ZiCo's search)
and works on genomes; ``MacroSpace`` turns the result into an ``Arch``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from nascli.spaces.blocks.base import Block
from nascli.spaces.blocks.registry import block_type
from nascli.spaces.fields import IntRange
from nascli.spaces.macro_genome import MacroGenome

if TYPE_CHECKING:
    import optuna

    from nascli.spaces.macro import MacroSpace

# Channel scale factors of a width mutation (Zen-NAS/ZiCo mutate widths multiplicatively).
WIDTH_SCALES = (0.5, 2 / 3, 0.8, 1.25, 1.5, 2.0)


def sample_genome(space: MacroSpace, rng: random.Random) -> MacroGenome:
    """A random template network of the space's first block type."""
    kind = space.types[0]
    uses_bottleneck = block_type(kind).uses_bottleneck
    blocks = tuple(
        Block(
            type=kind,
            kernel=rng.choice(space.kernels),
            expansion=rng.choice(space.expansions),
            width=stage.width.sample(rng),
            stride=stage.stride,
            bottleneck=stage.bottleneck.sample(rng) if uses_bottleneck else 0,
            depth=stage.depth.sample(rng),
        )
        for stage in space.template
    )
    head = space.head_width.sample(rng) if space.head_mutable else space.head_default
    return MacroGenome(space.stem_width.sample(rng), blocks, head)


def mutate_genome(space: MacroSpace, genome: MacroGenome, rng: random.Random) -> MacroGenome:
    """One attribute of one or two blocks (or the stem/head width) changed, clamped legal."""
    blocks = list(genome.blocks)
    stem, head = genome.stem, genome.head
    for _ in range(rng.choice((1, 2))):
        position = rng.randrange(len(blocks) + 1)
        if position == len(blocks):
            stem = space.stem_width.clamp(stem * rng.choice(WIDTH_SCALES))
            if space.head_mutable and rng.random() < 0.5:
                head = space.head_width.clamp(head * rng.choice(WIDTH_SCALES))
            continue
        blocks[position] = _mutate_block(space, blocks[position], rng)
    return MacroGenome(stem, tuple(blocks), head)


def _mutate_block(space: MacroSpace, block: Block, rng: random.Random) -> Block:
    attributes = ["kernel", "expansion", "width", "depth"]
    if block_type(block.type).uses_bottleneck:
        attributes.append("bottleneck")
    attribute = rng.choice(attributes)
    if attribute == "kernel":
        return block._replace(kernel=rng.choice(space.kernels))
    if attribute == "expansion":
        return block._replace(expansion=rng.choice(space.expansions))
    if attribute == "width":
        return block._replace(width=space.width.clamp(block.width * rng.choice(WIDTH_SCALES)))
    if attribute == "bottleneck":
        scaled = block.bottleneck * rng.choice(WIDTH_SCALES)
        return block._replace(bottleneck=space.bottleneck.clamp(scaled))
    step = rng.choice((-1, 1))
    return block._replace(depth=space.depth.clamp(block.depth + step))


def suggest_genome(space: MacroSpace, trial: optuna.Trial) -> MacroGenome:
    """A template network from an Optuna trial's suggestions (one parameter per field)."""
    kind = space.types[0]
    blocks = []
    for index, stage in enumerate(space.template):
        prefix = f"b{index}"
        kernel = trial.suggest_categorical(f"{prefix}.kernel", list(space.kernels))
        expansion = trial.suggest_categorical(f"{prefix}.expansion", list(space.expansions))
        width = _suggest_range(trial, f"{prefix}.width", stage.width)
        bottleneck = (
            _suggest_range(trial, f"{prefix}.bottleneck", stage.bottleneck)
            if block_type(kind).uses_bottleneck
            else 0
        )
        depth = _suggest_range(trial, f"{prefix}.depth", stage.depth)
        blocks.append(Block(kind, kernel, expansion, width, stage.stride, bottleneck, depth))
    stem = _suggest_range(trial, "stem.width", space.stem_width)
    head = (
        _suggest_range(trial, "head.width", space.head_width)
        if space.head_mutable
        else space.head_default
    )
    return MacroGenome(stem, tuple(blocks), head)


def _suggest_range(trial: optuna.Trial, name: str, rng_: IntRange) -> int:
    if rng_.lo == rng_.hi:
        return rng_.lo
    return trial.suggest_int(name, rng_.lo, rng_.hi, step=rng_.step)
