"""A macro network's genome (stem width, blocks, head width) and its one-string encoding.

``stem32|idwk3e4w64b32s2d2|...|head1280``: blocks in order, every field named, one order,
so equal strings are equal architectures (the canonical identity of caches and studies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nascli.errors import ConfigError
from nascli.spaces.blocks.base import Block
from nascli.spaces.fields import IntRange

__all__ = ["Block", "MacroGenome", "StageTemplate", "parse_block", "parse_genome"]


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
