"""Macro search spaces defined in YAML: a stem, a sequence of blocks, a head.

This is the Zen-NAS/ZiCo "MobileNet-like" space generalised so a user can write another
one (ResNet-like, other widths or resolutions) without Python. A space file gives the
allowed block types and choices (kernel, expansion, width/bottleneck ranges, depth),
and a *template*: one entry per searchable block with its fixed stride and, optionally,
narrower ranges used when sampling. Searches sample and mutate within the template
(strides never change, as in ZiCo's search); ``validate`` accepts any legal block
sequence, so published networks with other stride patterns (MobileNetV2) are expressible.

Block types (the activation is part of the type):

``idw``        ZiCo/Zen-NAS ``SuperResIDWE{E}K{K}(in,out,stride,bottleneck,L)``: L times two
               inverted-residual units, in→bottleneck (expanded to bottleneck·E, stride on the
               first) and bottleneck→out (expanded to out·E); ReLU, a ReLU after each sum.
``ir``         MobileNetV2 inverted residual: ``depth`` units (expanded to in·E; no expansion
               conv when E = 1), ReLU6, identity shortcut when shape allows, no ReLU after sums.
``basic``      ResNet basic units (k×k, k×k) with inner width ``bottleneck``.
``bottleneck`` ResNet bottleneck units (1×1, k×k, 1×1) with inner width ``bottleneck``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from nascli.arch import Arch
from nascli.cost import BYTES_PER_VALUE, UNIT_COSTS, Cost, ir_unit_cost, network_cost
from nascli.errors import ConfigError
from nascli.layers import LayerKey

if TYPE_CHECKING:
    from collections.abc import Sequence

    import optuna
    from torch import nn

    from nascli.latency.batch import KeyRows

BLOCK_TYPES = ("idw", "ir", "basic", "bottleneck")
_TYPE_ACT = {"idw": "relu", "ir": "relu6", "basic": "relu", "bottleneck": "relu"}
_USES_BOTTLENECK = ("idw", "basic", "bottleneck")
# Channel scale factors of a width mutation (Zen-NAS/ZiCo mutate widths multiplicatively).
_WIDTH_SCALES = (0.5, 2 / 3, 0.8, 1.25, 1.5, 2.0)


class Block(NamedTuple):
    """One searchable block of a macro network.

    A NamedTuple (hashing and construction in C): blocks are cache keys of the per-block
    cost, and a search builds and hashes millions of them.
    """

    type: str
    kernel: int
    expansion: int
    width: int
    stride: int
    bottleneck: int
    depth: int

    def encode(self) -> str:
        return (
            f"{self.type}k{self.kernel}e{self.expansion}w{self.width}"
            f"b{self.bottleneck}s{self.stride}d{self.depth}"
        )


@dataclass(frozen=True, slots=True)
class MacroGenome:
    stem: int
    blocks: tuple[Block, ...]
    head: int

    def encode(self) -> str:
        inner = "|".join(b.encode() for b in self.blocks)
        return f"stem{self.stem}|{inner}|head{self.head}"


@dataclass(frozen=True, slots=True)
class IntRange:
    """Integers ``min..max`` in steps of ``step`` (inclusive)."""

    lo: int
    hi: int
    step: int = 1

    def contains(self, value: int) -> bool:
        return self.lo <= value <= self.hi and (value - self.lo) % self.step == 0

    def sample(self, rng: random.Random) -> int:
        return rng.randrange(self.lo, self.hi + 1, self.step)

    def clamp(self, value: float) -> int:
        snapped = self.lo + round((value - self.lo) / self.step) * self.step
        return int(min(self.hi, max(self.lo, snapped)))

    def describe(self) -> str:
        return f"{self.lo}..{self.hi}" + (f" step {self.step}" if self.step != 1 else "")

    @classmethod
    def parse(cls, raw: Any, what: str, source: str) -> IntRange:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return cls(raw, raw, 1)
        if isinstance(raw, dict):
            unknown = set(raw) - {"min", "max", "step"}
            if unknown or not {"min", "max"} <= set(raw):
                raise ConfigError(f"{source}: {what} needs min and max (and optional step)")
            values = [raw["min"], raw["max"], raw.get("step", 1)]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise ConfigError(f"{source}: {what} min/max/step must be integers")
            lo, hi, step = values
            if lo < 1 or hi < lo or step < 1:
                raise ConfigError(f"{source}: {what} must have 1 <= min <= max and step >= 1")
            return cls(lo, hi, step)
        raise ConfigError(f"{source}: {what} must be an integer or {{min, max, step}}")


@dataclass(frozen=True, slots=True)
class StageTemplate:
    """A searchable block position: fixed stride, ranges used for sampling."""

    stride: int
    width: IntRange
    bottleneck: IntRange
    depth: IntRange


_BLOCK_RE = re.compile(r"(idw|ir|basic|bottleneck)k(\d+)e(\d+)w(\d+)b(\d+)s(\d+)d(\d+)")
_STEM_RE = re.compile(r"stem(\d+)")
_HEAD_RE = re.compile(r"head(\d+)")
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
    ) -> None:
        self.name = name
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
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a space file must be a mapping")
        allowed = {
            "name", "family", "description", "resolution", "num_classes", "in_channels",
            "stem", "head", "blocks", "stages", "initial", "max_blocks", "layer_rule",
        }  # fmt: skip
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
        for key in ("name", "resolution", "num_classes", "stem", "head", "blocks", "stages"):
            if key not in data:
                raise ConfigError(f"{source}: missing required key {key!r}")
        name = _expect(data["name"], str, "name", source)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name) or name == "nb201":
            raise ConfigError(f"{source}: invalid space name {name!r} (lowercase, digits, -_.)")
        resolution = _expect_int(data["resolution"], "resolution", source)
        num_classes = _expect_int(data["num_classes"], "num_classes", source)
        in_channels = _expect_int(data.get("in_channels", 3), "in_channels", source)

        stem = _expect(data["stem"], dict, "stem", source)
        _check_keys(stem, {"kernel", "stride", "maxpool", "width"}, "stem", source)
        head = _expect(data["head"], dict, "head", source)
        _check_keys(head, {"width", "default", "mutable"}, "head", source)
        blocks = _expect(data["blocks"], dict, "blocks", source)
        _check_keys(
            blocks,
            {"types", "kernel", "expansion", "width", "bottleneck", "depth"},
            "blocks",
            source,
        )
        types = tuple(_expect(blocks.get("types", ["idw"]), list, "blocks.types", source))
        bad_types = [t for t in types if t not in BLOCK_TYPES]
        if not types or bad_types:
            raise ConfigError(f"{source}: blocks.types must be among {list(BLOCK_TYPES)}")
        kernels = _int_choices(blocks.get("kernel"), "blocks.kernel", source)
        expansions = _int_choices(blocks.get("expansion", [1]), "blocks.expansion", source)
        width = IntRange.parse(blocks.get("width"), "blocks.width", source)
        bottleneck = IntRange.parse(
            blocks.get("bottleneck", blocks.get("width")), "blocks.bottleneck", source
        )
        depth = IntRange.parse(blocks.get("depth", 1), "blocks.depth", source)

        stages_raw = _expect(data["stages"], list, "stages", source)
        if not stages_raw:
            raise ConfigError(f"{source}: stages must list at least one block")
        template = []
        for index, raw in enumerate(stages_raw):
            where = f"stages[{index}]"
            raw = _expect(raw, dict, where, source)
            _check_keys(raw, {"stride", "width", "bottleneck", "depth"}, where, source)
            stride = _expect_int(raw.get("stride"), f"{where}.stride", source)
            if stride not in (1, 2):
                raise ConfigError(f"{source}: {where}.stride must be 1 or 2")
            stage = StageTemplate(
                stride=stride,
                width=_narrow(raw.get("width"), width, f"{where}.width", source),
                bottleneck=_narrow(
                    raw.get("bottleneck"), bottleneck, f"{where}.bottleneck", source
                ),
                depth=_narrow(raw.get("depth"), depth, f"{where}.depth", source),
            )
            template.append(stage)

        head_width = IntRange.parse(head.get("width"), "head.width", source)
        head_default = _expect_int(head.get("default", head_width.lo), "head.default", source)
        if not head_width.contains(head_default):
            raise ConfigError(f"{source}: head.default {head_default} outside head.width")
        layer_rule = data.get("layer_rule", "units")
        if layer_rule not in ("units", "zen"):
            raise ConfigError(f"{source}: layer_rule must be 'units' or 'zen'")
        initial = data.get("initial")
        if initial is not None and not isinstance(initial, dict):
            raise ConfigError(f"{source}: initial must be an architecture mapping")
        space = cls(
            name=name,
            description=str(data.get("description", "")),
            resolution=resolution,
            num_classes=num_classes,
            in_channels=in_channels,
            stem_kernel=_expect_int(stem.get("kernel", 3), "stem.kernel", source),
            stem_stride=_expect_int(stem.get("stride", 2), "stem.stride", source),
            stem_maxpool=bool(stem.get("maxpool", False)),
            stem_width=IntRange.parse(stem.get("width"), "stem.width", source),
            head_width=head_width,
            head_default=head_default,
            head_mutable=bool(head.get("mutable", False)),
            types=types,
            kernels=kernels,
            expansions=expansions,
            width=width,
            bottleneck=bottleneck,
            depth=depth,
            max_blocks=_expect_int(data.get("max_blocks", 24), "max_blocks", source),
            template=tuple(template),
            layer_rule=layer_rule,
            initial=initial,
        )
        if initial is not None:
            space.from_dict({"space": name, **initial}, source=f"{source}: initial")
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
        parts = body.split("|")
        if len(parts) < 3:
            raise ConfigError(f"malformed {self.name} architecture {body!r}")
        stem, head = _STEM_RE.fullmatch(parts[0]), _HEAD_RE.fullmatch(parts[-1])
        if stem is None or head is None:
            raise ConfigError(f"malformed {self.name} architecture {body!r} (stem/head)")
        blocks = tuple(_parse_block(part, self.name) for part in parts[1:-1])
        return MacroGenome(int(stem.group(1)), blocks, int(head.group(1)))

    def genome(self, arch: Arch) -> MacroGenome:
        if arch.space != self.name:
            raise ConfigError(f"architecture of space {arch.space!r} given to {self.name!r}")
        return self._parse_body(arch.body)

    def make(self, genome: MacroGenome) -> Arch:
        body = genome.encode()
        self._remember(body, genome)
        return Arch(self.name, body)

    def to_dict(self, arch: Arch) -> dict[str, Any]:
        genome = self.genome(arch)
        blocks = []
        for block in genome.blocks:
            row = {field: getattr(block, field) for field in _BLOCK_FIELDS}
            if block.type not in _USES_BOTTLENECK:
                row.pop("bottleneck")
            blocks.append(row)
        return {"space": self.name, "stem": genome.stem, "blocks": blocks, "head": genome.head}

    def from_dict(self, data: dict[str, Any], source: str = "architecture") -> Arch:
        allowed = {"space", "stem", "blocks", "head", *_ARCH_META_KEYS}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
        if data.get("space") != self.name:
            raise ConfigError(f"{source}: space must be {self.name!r}")
        stem = _expect_int(data.get("stem"), "stem", source)
        head = _expect_int(data.get("head", self.head_default), "head", source)
        raw_blocks = _expect(data.get("blocks"), list, "blocks", source)
        blocks = []
        for index, raw in enumerate(raw_blocks):
            where = f"blocks[{index}]"
            raw = _expect(raw, dict, where, source)
            _check_keys(raw, set(_BLOCK_FIELDS), where, source)
            kind = raw.get("type", self.types[0])
            if kind not in BLOCK_TYPES:
                raise ConfigError(f"{source}: {where}.type {kind!r} not in {list(BLOCK_TYPES)}")
            values = {
                field: _expect_int(raw.get(field, default), f"{where}.{field}", source)
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
        arch = self.make(MacroGenome(stem, tuple(blocks), head))
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
            if block.type in _USES_BOTTLENECK:
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
                bottleneck=stage.bottleneck.lo if self.types[0] in _USES_BOTTLENECK else 0,
                depth=stage.depth.lo,
            )
            for stage in self.template
        )
        return self.make(MacroGenome(self.stem_width.lo, blocks, self.head_default))

    def sample(self, rng: random.Random) -> Arch:
        kind = self.types[0]
        blocks = tuple(
            Block(
                type=kind,
                kernel=rng.choice(self.kernels),
                expansion=rng.choice(self.expansions),
                width=stage.width.sample(rng),
                stride=stage.stride,
                bottleneck=stage.bottleneck.sample(rng) if kind in _USES_BOTTLENECK else 0,
                depth=stage.depth.sample(rng),
            )
            for stage in self.template
        )
        head = self.head_width.sample(rng) if self.head_mutable else self.head_default
        return self.make(MacroGenome(self.stem_width.sample(rng), blocks, head))

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change one attribute of one or two blocks (ZiCo/Zen-NAS mutation), stay legal."""
        genome = self.genome(arch)
        for _ in range(100):
            blocks = list(genome.blocks)
            stem, head = genome.stem, genome.head
            for _ in range(rng.choice((1, 2))):
                position = rng.randrange(len(blocks) + 1)
                if position == len(blocks):
                    stem = self.stem_width.clamp(stem * rng.choice(_WIDTH_SCALES))
                    if self.head_mutable and rng.random() < 0.5:
                        head = self.head_width.clamp(head * rng.choice(_WIDTH_SCALES))
                    continue
                blocks[position] = self._mutate_block(blocks[position], rng)
            candidate = self.make(MacroGenome(stem, tuple(blocks), head))
            if candidate != arch:
                return candidate
        return arch

    def _mutate_block(self, block: Block, rng: random.Random) -> Block:
        attributes = ["kernel", "expansion", "width", "depth"]
        if block.type in _USES_BOTTLENECK:
            attributes.append("bottleneck")
        attribute = rng.choice(attributes)
        if attribute == "kernel":
            return block._replace(kernel=rng.choice(self.kernels))
        if attribute == "expansion":
            return block._replace(expansion=rng.choice(self.expansions))
        if attribute == "width":
            return block._replace(width=self.width.clamp(block.width * rng.choice(_WIDTH_SCALES)))
        if attribute == "bottleneck":
            scaled = block.bottleneck * rng.choice(_WIDTH_SCALES)
            return block._replace(bottleneck=self.bottleneck.clamp(scaled))
        step = rng.choice((-1, 1))
        return block._replace(depth=self.depth.clamp(block.depth + step))

    def suggest(self, trial: optuna.Trial) -> Arch:
        kind = self.types[0]
        blocks = []
        for index, stage in enumerate(self.template):
            prefix = f"b{index}"
            kernel = trial.suggest_categorical(f"{prefix}.kernel", list(self.kernels))
            expansion = trial.suggest_categorical(f"{prefix}.expansion", list(self.expansions))
            width = _suggest_range(trial, f"{prefix}.width", stage.width)
            bottleneck = (
                _suggest_range(trial, f"{prefix}.bottleneck", stage.bottleneck)
                if kind in _USES_BOTTLENECK
                else 0
            )
            depth = _suggest_range(trial, f"{prefix}.depth", stage.depth)
            blocks.append(Block(kind, kernel, expansion, width, stage.stride, bottleneck, depth))
        stem = _suggest_range(trial, "stem.width", self.stem_width)
        head = (
            _suggest_range(trial, "head.width", self.head_width)
            if self.head_mutable
            else self.head_default
        )
        return self.make(MacroGenome(stem, tuple(blocks), head))

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
            units = _expand_block(block, channels, size, residual)
            keys.extend(units)
            size, channels = units[-1].h_out, block.width
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
            pairs, size = _block_key_counts(block, channels, size)
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
            b_macs, b_params, b_peak, b_layers, size = _block_cost(block, channels, size)
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


@lru_cache(maxsize=65536)
def _parse_block(part: str, space: str) -> Block:
    """One encoded block (cached: searches see the same blocks in many architectures)."""
    match = _BLOCK_RE.fullmatch(part)
    if match is None:
        raise ConfigError(f"malformed block {part!r} in {space} architecture")
    kind, *numbers = match.groups()
    k, e, w, b, s, d = (int(x) for x in numbers)
    return Block(kind, k, e, w, s, b, d)


@lru_cache(maxsize=65536)
def _expand_block(block: Block, cin: int, size: int, residual: bool) -> tuple[LayerKey, ...]:
    """The units (LayerKeys) one block expands into, starting at ``cin`` × ``size``².

    Cached: a mutation changes one or two blocks, so a search re-expands few blocks.
    """
    return tuple(_expand_block_uncached(block, cin, size, residual))


@lru_cache(maxsize=65536)
def _block_cost(block: Block, cin: int, size: int) -> tuple[int, int, int, int, int]:
    """(MACs, params, peak bytes, weight layers, output size) of one block, residuals on.

    A closed form over the units ``_expand_block_uncached`` lists, without building them:
    after the first unit (the first two sub-layers for ``idw``) the units repeat exactly,
    so each distinct unit is costed once and multiplied. A property test checks that this
    equals ``network_cost`` of the expanded keys for random architectures.
    """
    k, w, depth = block.kernel, block.width, block.depth
    out = (size + 2 * (k // 2) - k) // block.stride + 1
    hw_in, hw_out = size * size, out * out
    if block.type == "idw":
        b, e = block.bottleneck, block.expansion
        m_in, m_out = _smart_round(b * e), _smart_round(w * e)
        parts = [
            (ir_unit_cost(cin, b, k, hw_in, hw_out, m_in, "proj"), 1),
            (ir_unit_cost(b, w, k, hw_out, hw_out, m_out, _same(b, w)), depth),
        ]
        if depth > 1:
            parts.append((ir_unit_cost(w, b, k, hw_out, hw_out, m_in, _same(w, b)), depth - 1))
    elif block.type == "ir":
        e = block.expansion
        keep = "identity" if block.stride == 1 and cin == w else "none"
        parts = [(ir_unit_cost(cin, w, k, hw_in, hw_out, cin * e if e != 1 else 0, keep), 1)]
        if depth > 1:
            repeat = ir_unit_cost(w, w, k, hw_out, hw_out, w * e if e != 1 else 0, "identity")
            parts.append((repeat, depth - 1))
    else:
        unit = UNIT_COSTS[block.type]
        first = "proj" if block.stride != 1 or cin != w else "identity"
        parts = [(unit(cin, w, k, hw_in, hw_out, block.bottleneck, first), 1)]
        if depth > 1:
            parts.append((unit(w, w, k, hw_out, hw_out, block.bottleneck, "identity"), depth - 1))
    macs = params = peak = layers = 0
    for (u_macs, u_params, u_peak, u_layers), times in parts:
        macs += u_macs * times
        params += u_params * times
        layers += u_layers * times
        peak = max(peak, u_peak)
    return macs, params, peak * BYTES_PER_VALUE, layers, out


def _same(cin: int, cout: int) -> str:
    """Shortcut of a stride-1 unit: identity when the width is kept, else a projection."""
    return "identity" if cin == cout else "proj"


@lru_cache(maxsize=65536)
def _block_key_counts(
    block: Block, cin: int, size: int
) -> tuple[tuple[tuple[LayerKey, int], ...], int]:
    """((distinct unit key, count) pairs, output size) of one block, residual links on."""
    units = _expand_block(block, cin, size, True)
    counts: dict[LayerKey, int] = {}
    for unit in units:
        counts[unit] = counts.get(unit, 0) + 1
    return tuple(counts.items()), units[-1].h_out


def _expand_block_uncached(block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
    act = _TYPE_ACT[block.type]
    units: list[LayerKey] = []
    k, e, w, b = block.kernel, block.expansion, block.width, block.bottleneck

    def shortcut(unit_in: int, unit_out: int, stride: int, force_proj: bool = False) -> str:
        if not residual:
            return "none"
        if force_proj or stride != 1 or unit_in != unit_out:
            return "proj"
        return "identity"

    if block.type == "idw":
        last, stride = cin, block.stride
        for sub in range(block.depth):
            if sub >= 2:  # sub-layers after the second repeat it exactly: reuse the keys
                units += units[-2:]
                continue
            first = LayerKey(
                "ir", last, b, k, stride, size, size, mid=_smart_round(b * e), act=act,
                residual=shortcut(last, b, stride, force_proj=sub == 0), post_act="relu",
            )  # fmt: skip
            size = first.h_out
            second = LayerKey(
                "ir", b, w, k, 1, size, size, mid=_smart_round(w * e), act=act,
                residual=shortcut(b, w, 1), post_act="relu",
            )  # fmt: skip
            units += [first, second]
            last, stride = w, 1
        return units

    last, stride = cin, block.stride
    for index in range(block.depth):
        if index >= 2:  # units after the second repeat it exactly: reuse the key
            units.append(units[-1])
            continue
        if block.type == "ir":
            # MobileNetV2: identity shortcut only when the shape is kept, otherwise none.
            keep = stride == 1 and last == w and residual
            unit = LayerKey(
                "ir", last, w, k, stride, size, size, mid=last * e if e != 1 else 0, act=act,
                residual="identity" if keep else "none", post_act="none",
            )  # fmt: skip
        else:
            unit = LayerKey(
                block.type, last, w, k, stride, size, size, mid=b, act=act,
                residual=shortcut(last, w, stride), post_act="relu",
            )  # fmt: skip
        units.append(unit)
        size = unit.h_out
        last, stride = w, 1
    return units


@lru_cache(maxsize=4096)
def _smart_round(value: float, base: int = 8) -> int:
    """Round to a multiple of ``base`` (at least ``base``), as Zen-NAS ``smart_round`` does."""
    return int(max(base, round(value / base) * base))


def _suggest_range(trial: optuna.Trial, name: str, rng_: IntRange) -> int:
    if rng_.lo == rng_.hi:
        return rng_.lo
    return trial.suggest_int(name, rng_.lo, rng_.hi, step=rng_.step)


def _narrow(raw: Any, whole: IntRange, what: str, source: str) -> IntRange:
    if raw is None:
        return whole
    part = IntRange.parse(raw, what, source)
    step = raw.get("step", whole.step) if isinstance(raw, dict) else whole.step
    narrowed = IntRange(part.lo, part.hi, step)
    if part.lo < whole.lo or part.hi > whole.hi:
        raise ConfigError(f"{source}: {what} must lie within {whole.describe()}")
    if not (whole.contains(narrowed.lo) and step % whole.step == 0):
        raise ConfigError(f"{source}: {what} must stay on the grid of {whole.describe()}")
    return narrowed


def _expect(value: Any, kind: type, what: str, source: str) -> Any:
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: {what} must be a {kind.__name__}")
    return value


def _expect_int(value: Any, what: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{source}: {what} must be an integer, got {value!r}")
    return value


def _int_choices(raw: Any, what: str, source: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: {what} must be a non-empty list of integers")
    return tuple(_expect_int(v, what, source) for v in raw)


def _check_keys(data: dict[str, Any], allowed: set[str], what: str, source: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown} in {what}; allowed: {sorted(allowed)}")
