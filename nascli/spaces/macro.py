"""Macro search spaces defined in YAML: a stem, a sequence of blocks, a head.

This is the Zen-NAS/ZiCo "MobileNet-like" space generalised so a user can write another
one (ResNet-like, other widths or resolutions) without Python. A space file gives the
allowed block types and choices (kernel, expansion, width/bottleneck ranges, depth),
and a *template*: one entry per searchable block with its fixed stride and, optionally,
narrower ranges used when sampling. Searches sample and mutate within the template
(strides never change, as in ZiCo's search); ``validate`` accepts any legal block
sequence, so published networks with other stride patterns (MobileNetV2) are expressible.

Block types are the registered ones (``nascli.spaces.blocks``: ``idw``, ``ir``,
``ir_relu``, ``basic``, ``bottleneck``, ``identity``), each defined once with its units,
cost, torch module and key rows. This module holds the space itself (identity, legality,
structure); the genome and its encoding, YAML reading, search moves, per-block caches and
vectorised key rows are in the ``macro_*`` modules beside it.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nascli.arch import Arch
from nascli.cost import Cost, network_cost
from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.spaces.blocks.base import Block
from nascli.spaces.blocks.registry import BLOCK_TYPES as _REGISTERED
from nascli.spaces.blocks.registry import block_type
from nascli.spaces.fields import IntRange
from nascli.spaces.macro_genome import (
    MacroGenome,
    StageTemplate,
    genome_from_mapping,
    genome_to_mapping,
    parse_genome,
)
from nascli.spaces.macro_moves import mutate_genome, sample_genome, suggest_genome
from nascli.spaces.macro_units import block_cost, block_key_counts, expand_block

if TYPE_CHECKING:
    from collections.abc import Sequence

    import optuna
    from torch import nn

    from nascli.keyrows import KeyRows

__all__ = ["BLOCK_TYPES", "Block", "IntRange", "MacroGenome", "MacroSpace", "StageTemplate"]

# Names of the registered block types (kept as a tuple for callers of the old constant).
BLOCK_TYPES = tuple(_REGISTERED)


_GENOME_MEMO_SIZE = 65536
_BLOCK_FIELDS = ("type", "kernel", "expansion", "width", "stride", "bottleneck", "depth")
_ARCH_META_KEYS = ("name", "description", "source", "reference")


class MacroSpace:
    """A stem → blocks → final 1×1 conv → pool → classifier space, read from YAML."""

    family = "macro"

    def __init__(
        self,
        *,
        name: str,
        description: str,
        resolution: int,
        num_classes: int,
        in_channels: int,
        stem_kernel: int,
        stem_stride: int,
        stem_maxpool: bool,
        stem_width: IntRange,
        head_width: IntRange,
        head_default: int,
        head_mutable: bool,
        types: tuple[str, ...],
        kernels: tuple[int, ...],
        expansions: tuple[int, ...],
        width: IntRange,
        bottleneck: IntRange,
        depth: IntRange,
        max_blocks: int,
        template: tuple[StageTemplate, ...],
        layer_rule: str,
        initial: dict[str, Any] | None,
        recommended_proxy: str | None = None,
    ) -> None:
        self.name = name
        self.recommended_proxy = recommended_proxy
        self.description = description
        self.resolution = resolution
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.stem_kernel = stem_kernel
        self.stem_stride = stem_stride
        self.stem_maxpool = stem_maxpool
        self.stem_width = stem_width
        self.head_width = head_width
        self.head_default = head_default
        self.head_mutable = head_mutable
        self.types = types
        self.kernels = kernels
        self.expansions = expansions
        self.width = width
        self.bottleneck = bottleneck
        self.depth = depth
        self.max_blocks = max_blocks
        self.template = template
        self.layer_rule = layer_rule
        self._initial_raw = initial
        self._genomes: dict[str, MacroGenome] = {}
        self._layers_cached = lru_cache(maxsize=4096)(self._layers_uncached)
        self._cost_cached = lru_cache(maxsize=65536)(self._cost_uncached)
        self._key_counts_cached = lru_cache(maxsize=4096)(self._key_counts_uncached)
        self._stem_cost = lru_cache(maxsize=4096)(self._stem_cost_uncached)
        self._head_cost = lru_cache(maxsize=65536)(self._head_cost_uncached)

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, data: Any, source: str) -> MacroSpace:
        """Build a space from its YAML mapping; every bad key is reported by name."""
        from nascli.spaces.macro_config import macro_space_kwargs

        kwargs = macro_space_kwargs(data, source)
        space = cls(**kwargs)
        if kwargs["initial"] is not None:
            space.from_dict({"space": space.name, **kwargs["initial"]}, source=f"{source}: initial")
        return space

    # ------------------------------------------------------------------ identity
    def parse(self, body: str) -> Arch:
        genome = self._parse_body(body.strip())
        arch = Arch(self.name, genome.encode())
        self.validate(arch)
        return arch

    def _parse_body(self, body: str) -> MacroGenome:
        """The genome of ``body``: remembered from ``make`` or an earlier parse, else parsed.

        Every architecture a search proposes comes from ``make`` (sample, mutate, suggest),
        so costing it needs no string parsing at all.
        """
        genome = self._genomes.get(body)
        if genome is None:
            genome = self._parse_body_uncached(body)
            self._remember(body, genome)
        return genome

    def _remember(self, body: str, genome: MacroGenome) -> None:
        if len(self._genomes) >= _GENOME_MEMO_SIZE:  # bounded: drop the oldest entry
            del self._genomes[next(iter(self._genomes))]
        self._genomes[body] = genome

    def _parse_body_uncached(self, body: str) -> MacroGenome:
        return parse_genome(body, self.name)

    def genome(self, arch: Arch) -> MacroGenome:
        if arch.space != self.name:
            raise ConfigError(f"architecture of space {arch.space!r} given to {self.name!r}")
        return self._parse_body(arch.body)

    def make(self, genome: MacroGenome) -> Arch:
        body = genome.encode()
        self._remember(body, genome)
        return Arch(self.name, body)

    def to_dict(self, arch: Arch) -> dict[str, Any]:
        return {"space": self.name, **genome_to_mapping(self.genome(arch))}

    def from_dict(self, data: dict[str, Any], source: str = "architecture") -> Arch:
        if data.get("space") != self.name:
            raise ConfigError(f"{source}: space must be {self.name!r}")
        genome = genome_from_mapping(
            data, default_type=self.types[0], default_head=self.head_default, source=source
        )
        arch = self.make(genome)
        try:
            self.validate(arch)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return arch

    # ------------------------------------------------------------------ legality
    def validate(self, arch: Arch) -> None:
        genome = self.genome(arch)
        if not self.stem_width.contains(genome.stem):
            raise ConfigError(
                f"stem width {genome.stem} outside {self.name}'s {self.stem_width.describe()}"
            )
        if not self.head_width.contains(genome.head):
            raise ConfigError(
                f"head width {genome.head} outside {self.name}'s {self.head_width.describe()}"
            )
        if not 1 <= len(genome.blocks) <= self.max_blocks:
            raise ConfigError(
                f"{len(genome.blocks)} blocks; {self.name} allows 1..{self.max_blocks}"
            )
        size = self.resolution // self.stem_stride // (2 if self.stem_maxpool else 1)
        for index, block in enumerate(genome.blocks):
            where = f"block {index} ({block.encode()})"
            if block.type not in self.types:
                raise ConfigError(f"{where}: type {block.type!r} not in {list(self.types)}")
            if block.kernel not in self.kernels:
                raise ConfigError(f"{where}: kernel {block.kernel} not in {list(self.kernels)}")
            if block.expansion not in self.expansions:
                raise ConfigError(
                    f"{where}: expansion {block.expansion} not in {list(self.expansions)}"
                )
            if not self.width.contains(block.width):
                raise ConfigError(f"{where}: width {block.width} outside {self.width.describe()}")
            if block_type(block.type).uses_bottleneck:
                if not self.bottleneck.contains(block.bottleneck):
                    raise ConfigError(
                        f"{where}: bottleneck {block.bottleneck} outside "
                        f"{self.bottleneck.describe()}"
                    )
            elif block.bottleneck != 0:
                raise ConfigError(f"{where}: type {block.type!r} has no bottleneck width")
            if not self.depth.contains(block.depth):
                raise ConfigError(f"{where}: depth {block.depth} outside {self.depth.describe()}")
            if block.stride not in (1, 2):
                raise ConfigError(f"{where}: stride must be 1 or 2")
            size //= block.stride
        if size < 1:
            raise ConfigError(f"{self.name}: too many stride-2 blocks for {self.resolution} px")

    # ------------------------------------------------------------------ search moves
    def initial(self) -> Arch:
        """The net evolution starts from (ZiCo/Zen-NAS seed net), or the smallest template net."""
        if self._initial_raw is not None:
            return self.from_dict({"space": self.name, **self._initial_raw}, "initial")
        blocks = tuple(
            Block(
                type=self.types[0],
                kernel=self.kernels[0],
                expansion=self.expansions[0],
                width=stage.width.lo,
                stride=stage.stride,
                bottleneck=stage.bottleneck.lo if block_type(self.types[0]).uses_bottleneck else 0,
                depth=stage.depth.lo,
            )
            for stage in self.template
        )
        return self.make(MacroGenome(self.stem_width.lo, blocks, self.head_default))

    def sample(self, rng: random.Random) -> Arch:
        return self.make(sample_genome(self, rng))

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change one attribute of one or two blocks (ZiCo/Zen-NAS mutation), stay legal."""
        for _ in range(100):
            candidate = self.make(mutate_genome(self, self.genome(arch), rng))
            if candidate != arch:
                return candidate
        return arch

    def suggest(self, trial: optuna.Trial) -> Arch:
        return self.make(suggest_genome(self, trial))

    # ------------------------------------------------------------------ structure
    def layers(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> list[LayerKey]:
        self.genome(arch)
        return list(self._layers_cached(arch.body, resolution or self.resolution, residual))

    def _layers_uncached(self, body: str, resolution: int, residual: bool) -> tuple[LayerKey, ...]:
        genome = self._parse_body(body)
        keys = list(self._stem_keys(genome.stem, resolution))
        size, channels = keys[-1].h_out, genome.stem
        for block in genome.blocks:
            units = expand_block(block, channels, size, residual)
            keys.extend(units)
            size, channels = (units[-1].h_out if units else size), block.width
        keys.extend(self._head_keys(channels, genome.head, size))
        return tuple(keys)

    def key_counts(
        self, arch: Arch, *, resolution: int | None = None
    ) -> tuple[tuple[LayerKey, int], ...]:
        """``layers()`` (residual links on) as (distinct key, how many times) pairs.

        A block's units repeat after the first one or two, so latency prediction prices
        each distinct unit once per block; per-block results are cached across archs.
        """
        self.genome(arch)
        return self._key_counts_cached(arch.body, resolution or self.resolution)

    def _key_counts_uncached(self, body: str, size: int) -> tuple[tuple[LayerKey, int], ...]:
        genome = self._parse_body(body)
        counts: dict[LayerKey, int] = {}
        stem = self._stem_keys(genome.stem, size)
        for key in stem:
            counts[key] = counts.get(key, 0) + 1
        size, channels = stem[-1].h_out, genome.stem
        for block in genome.blocks:
            pairs, size = block_key_counts(block, channels, size)
            for key, times in pairs:
                counts[key] = counts.get(key, 0) + times
            channels = block.width
        for key in self._head_keys(channels, genome.head, size):
            counts[key] = counts.get(key, 0) + 1
        return tuple(counts.items())

    def key_rows(self, archs: Sequence[Arch], *, resolution: int | None = None) -> KeyRows:
        """``key_counts`` of many archs as arrays (``latency.batch``), vectorised per block."""
        from nascli.spaces.macro_rows import macro_key_rows

        genomes = [self.genome(arch) for arch in archs]
        return macro_key_rows(self, genomes, resolution or self.resolution)

    def num_layers(self, arch: Arch) -> int:
        """Depth for the ``Layers`` budget.

        ``zen`` (ZiCo/Zen-NAS ``MasterNet.get_num_layers``): the stem and the final conv count
        1 each and a block counts its ``depth`` (sub-layers L); ``units``: weight layers on the
        main path.
        """
        return self.cost(arch).layers

    def max_layers(self) -> int | None:
        """The deepest template net under the ``zen`` rule (ZiCo's ``max_layers``); else None."""
        if self.layer_rule != "zen":
            return None
        return 2 + sum(stage.depth.hi for stage in self.template)

    def cost(self, arch: Arch, *, resolution: int | None = None) -> Cost:
        """Sum of cached per-block costs; equals ``network_cost(self.layers(arch))``.

        Blocks are costed (and cached) one by one, so a search that mutates one or two
        blocks re-costs only those.
        """
        if arch.space != self.name:
            self.genome(arch)  # raises the space-mismatch error
        return self._cost_cached(arch.body, resolution or self.resolution)

    def _cost_uncached(self, body: str, size: int) -> Cost:
        genome = self._parse_body(body)
        macs, params, peak, weight_layers, size = self._stem_cost(genome.stem, size)
        channels = genome.stem
        for block in genome.blocks:
            b_macs, b_params, b_peak, b_layers, size = block_cost(block, channels, size)
            macs += b_macs
            params += b_params
            weight_layers += b_layers
            if b_peak > peak:
                peak = b_peak
            channels = block.width
        h_macs, h_params, h_peak, h_layers, _ = self._head_cost(channels, genome.head, size)
        if self.layer_rule == "zen":
            layers = 2 + sum(block.depth for block in genome.blocks)
        else:
            layers = weight_layers + h_layers
        return Cost(
            macs=macs + h_macs,
            params=params + h_params,
            peak_activation_bytes=max(peak, h_peak),
            layers=layers,
        )

    def _stem_cost_uncached(self, width: int, size: int) -> tuple[int, int, int, int, int]:
        """(MACs, params, peak bytes, weight layers, output size) of the stem."""
        keys = self._stem_keys(width, size)
        cost = network_cost(list(keys))
        return cost.macs, cost.params, cost.peak_activation_bytes, cost.layers, keys[-1].h_out

    def _head_cost_uncached(
        self, channels: int, head: int, size: int
    ) -> tuple[int, int, int, int, int]:
        """(MACs, params, peak bytes, weight layers, 1) of the final conv, pool and classifier."""
        cost = network_cost(list(self._head_keys(channels, head, size)))
        return cost.macs, cost.params, cost.peak_activation_bytes, cost.layers, 1

    def _stem_keys(self, width: int, size: int) -> tuple[LayerKey, ...]:
        stem = LayerKey(
            "conv", self.in_channels, width, self.stem_kernel, self.stem_stride, size, size,
            act="relu",
        )  # fmt: skip
        if not self.stem_maxpool:
            return (stem,)
        return stem, LayerKey("maxpool", width, width, 3, 2, stem.h_out, stem.h_out)

    def _head_keys(self, channels: int, head: int, size: int) -> tuple[LayerKey, ...]:
        return (
            LayerKey("conv", channels, head, 1, 1, size, size, act="relu"),
            LayerKey("pool_fc", head, self.num_classes, 1, 1, size, size),
        )

    def build(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> nn.Module:
        from nascli.nn.blocks import BlockNetwork

        return BlockNetwork(self.layers(arch, resolution=resolution, residual=residual))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "proxy": self.recommended_proxy,
            "resolution": self.resolution,
            "num_classes": self.num_classes,
            "stem": {
                "kernel": self.stem_kernel,
                "stride": self.stem_stride,
                "maxpool": self.stem_maxpool,
                "width": self.stem_width.describe(),
            },
            "head": {
                "width": self.head_width.describe(),
                "default": self.head_default,
                "mutable": self.head_mutable,
            },
            "block_types": list(self.types),
            "kernel": list(self.kernels),
            "expansion": list(self.expansions),
            "width": self.width.describe(),
            "bottleneck": self.bottleneck.describe(),
            "depth": self.depth.describe(),
            "template_strides": [stage.stride for stage in self.template],
            "layer_rule": self.layer_rule,
            "initial": self.initial().canonical,
        }
