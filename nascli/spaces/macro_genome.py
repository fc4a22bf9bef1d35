"""A macro network's genome (stem width, blocks, head width) and its one-string encoding.

``stem32|idwk3e4w64b32s2d2|...|head1280``: blocks in order, every field named, one order,
so equal strings are equal architectures (the canonical identity of caches and studies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nascli.errors import ConfigError
from nascli.spaces.blocks.base import Block
from nascli.spaces.blocks.registry import BLOCK_TYPES, block_type
from nascli.spaces.fields import IntRange, check_keys, expect, expect_int

__all__ = [
    "Block",
    "MacroGenome",
    "StageTemplate",
    "genome_from_mapping",
    "genome_to_mapping",
    "parse_block",
    "parse_genome",
]

_BLOCK_FIELDS = ("type", "kernel", "expansion", "width", "stride", "bottleneck", "depth")
_ARCH_META_KEYS = ("name", "description", "source", "reference")


@dataclass(frozen=True, slots=True)
class MacroGenome:
    """Stem width, the blocks in order, head width."""

    stem: int
    blocks: tuple[Block, ...]
    head: int

    def encode(self) -> str:
        inner = "|".join(b.encode() for b in self.blocks)
        return f"stem{self.stem}|{inner}|head{self.head}"


@dataclass(frozen=True, slots=True)
class StageTemplate:
    """A searchable block position: fixed stride, ranges used for sampling."""

    stride: int
    width: IntRange
    bottleneck: IntRange
    depth: IntRange


_BLOCK_RE = re.compile(r"([a-z][a-z0-9_]*?)k(\d+)e(\d+)w(\d+)b(\d+)s(\d+)d(\d+)")
_STEM_RE = re.compile(r"stem(\d+)")
_HEAD_RE = re.compile(r"head(\d+)")


def parse_genome(body: str, space: str) -> MacroGenome:
    """The genome of an encoded body; ConfigError naming ``space`` when malformed."""
    parts = body.split("|")
    if len(parts) < 3:
        raise ConfigError(f"malformed {space} architecture {body!r}")
    stem, head = _STEM_RE.fullmatch(parts[0]), _HEAD_RE.fullmatch(parts[-1])
    if stem is None or head is None:
        raise ConfigError(f"malformed {space} architecture {body!r} (stem/head)")
    blocks = tuple(parse_block(part, space) for part in parts[1:-1])
    return MacroGenome(int(stem.group(1)), blocks, int(head.group(1)))


@lru_cache(maxsize=65536)
def parse_block(part: str, space: str) -> Block:
    """One encoded block (cached: searches see the same blocks in many architectures)."""
    match = _BLOCK_RE.fullmatch(part)
    if match is None:
        raise ConfigError(f"malformed block {part!r} in {space} architecture")
    kind, *numbers = match.groups()
    k, e, w, b, s, d = (int(x) for x in numbers)
    return Block(kind, k, e, w, s, b, d)


def genome_to_mapping(genome: MacroGenome) -> dict[str, Any]:
    """The YAML mapping of a genome (a type without a bottleneck width omits it)."""
    blocks = []
    for block in genome.blocks:
        row = {field: getattr(block, field) for field in _BLOCK_FIELDS}
        if not block_type(block.type).uses_bottleneck:
            row.pop("bottleneck")
        blocks.append(row)
    return {"stem": genome.stem, "blocks": blocks, "head": genome.head}


def genome_from_mapping(
    data: dict[str, Any], *, default_type: str, default_head: int, source: str
) -> MacroGenome:
    """A genome from its YAML mapping; unknown keys and malformed fields are errors."""
    allowed = {"space", "stem", "blocks", "head", *_ARCH_META_KEYS}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    stem = expect_int(data.get("stem"), "stem", source)
    head = expect_int(data.get("head", default_head), "head", source)
    raw_blocks = expect(data.get("blocks"), list, "blocks", source)
    blocks = []
    for index, raw in enumerate(raw_blocks):
        where = f"blocks[{index}]"
        raw = expect(raw, dict, where, source)
        check_keys(raw, set(_BLOCK_FIELDS), where, source)
        kind = raw.get("type", default_type)
        if kind not in BLOCK_TYPES:
            raise ConfigError(f"{source}: {where}.type {kind!r} not in {list(BLOCK_TYPES)}")
        values = {
            field: expect_int(raw.get(field, default), f"{where}.{field}", source)
            for field, default in (
                ("kernel", None),
                ("expansion", 1),
                ("width", None),
                ("stride", 1),
                ("bottleneck", 0),
                ("depth", 1),
            )
        }
        blocks.append(Block(type=kind, **values))
    return MacroGenome(stem, tuple(blocks), head)
