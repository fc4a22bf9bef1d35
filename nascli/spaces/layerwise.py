"""Layer-wise choice spaces: a fixed skeleton whose every layer picks one candidate block.

NAS-Bench-Macro, FBNet and similar spaces are of this kind: stages of fixed width and
stride, each layer choosing among a few blocks (often including ``identity``). An
architecture is the list of choice names, one per layer; when every name is one
character the list is written as one string (NAS-Bench-Macro's 8-digit ``arch`` code,
e.g. ``nas-bench-macro:01201122``), otherwise names are joined with ``-``.

Each choice is a registered block type (``nascli.spaces.blocks``), so a choice's units,
cost, torch module and latency keys are those of its block type; this module only lays
the layers out. The YAML format is described in ``layerwise_config``.
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
from nascli.spaces.blocks.registry import block_type, vanishes_when_shape_kept
from nascli.spaces.layerwise_config import Choice, LayerSlot, layerwise_space_kwargs

if TYPE_CHECKING:
    import optuna
    from torch import nn

MUTATION_DRAWS = 16  # redraws of a move that gave back the same canonical net

__all__ = ["Choice", "LayerSlot", "LayerwiseSpace"]

_ARCH_META_KEYS = ("name", "description", "source", "reference")


class LayerwiseSpace:
    """stem → one chosen block per layer → 1×1 conv → pool → classifier, read from YAML."""

    family = "layerwise"

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
        stem_width: int,
        head_width: int,
        choices: dict[str, Choice],
        slots: tuple[LayerSlot, ...],
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
        self.stem_width = stem_width
        self.head_width = head_width
        self.choices = choices
        self.slots = slots
        self._compact = all(len(name) == 1 for name in choices)
        self._runs = _shape_keeping_runs(stem_width, choices, slots)
        self._layers_cached = lru_cache(maxsize=16384)(self._layers_uncached)
        self._cost_cached = lru_cache(maxsize=16384)(self._cost_uncached)

    @classmethod
    def from_config(cls, data: Any, source: str) -> LayerwiseSpace:
        """Build a space from its YAML mapping; every bad key is reported by name."""
        return cls(**layerwise_space_kwargs(data, source))

    # ------------------------------------------------------------------ identity
    def names(self, arch: Arch) -> tuple[str, ...]:
        """The choice name of every layer of ``arch``."""
        if arch.space != self.name:
            raise ConfigError(f"architecture of space {arch.space!r} given to {self.name!r}")
        return self._split(arch.body)

    def _split(self, body: str) -> tuple[str, ...]:
        return tuple(body) if self._compact and "-" not in body else tuple(body.split("-"))

    def _join(self, names: tuple[str, ...] | list[str]) -> str:
        return ("" if self._compact else "-").join(names)

    def make(self, names: tuple[str, ...] | list[str]) -> Arch:
        return Arch(self.name, self._join(names))

    def canonical(self, names: tuple[str, ...] | list[str]) -> Arch:
        """The network as its canonical code: no-op identities moved to their run's end.

        An identity at a layer that keeps the shape (stride 1, same width in and out)
        computes nothing, so ``2 0 1`` and ``2 1 0`` in such a run are the same
        network. NAS-Bench-Macro trained each such class once and names it by this
        form (its ``canonical_arch``); the search moves return it so that a search
        never spends an evaluation on a duplicate. ``parse`` keeps a code as written.
        """
        out = list(names)
        for run in self._runs:
            kept = [out[i] for i in run if not self._vanishes(out[i])]
            dropped = [out[i] for i in run if self._vanishes(out[i])]
            for index, name in zip(run, kept + dropped, strict=True):
                out[index] = name
        return self.make(out)

    def _vanishes(self, name: str) -> bool:
        return vanishes_when_shape_kept(self.choices[name].type)

    def parse(self, body: str) -> Arch:
        arch = Arch(self.name, self._join(self._split(body.strip())))
        self.validate(arch)
        return arch

    def validate(self, arch: Arch) -> None:
        names = self.names(arch)
        if len(names) != len(self.slots):
            raise ConfigError(
                f"{arch.canonical}: {len(names)} layers; {self.name} has {len(self.slots)}"
            )
        for index, (name, slot) in enumerate(zip(names, self.slots, strict=True)):
            if name not in slot.choices:
                raise ConfigError(
                    f"{arch.canonical}: layer {index} choice {name!r} not in {list(slot.choices)}"
                )

    def to_dict(self, arch: Arch) -> dict[str, Any]:
        return {"space": self.name, "layers": list(self.names(arch))}

    def from_dict(self, data: dict[str, Any], source: str = "architecture") -> Arch:
        allowed = {"space", "layers", "arch", *_ARCH_META_KEYS}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
        if data.get("space") != self.name:
            raise ConfigError(f"{source}: space must be {self.name!r}")
        try:
            if "layers" in data:
                layers = data["layers"]
                if not isinstance(layers, list):
                    raise ConfigError("layers must be a list of choice names")
                return self.parse(self._join([str(n) for n in layers]))
            if "arch" in data:
                return self.parse(str(data["arch"]))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        raise ConfigError(f"{source}: a {self.name} architecture needs 'layers' or 'arch'")

    # ------------------------------------------------------------------ search moves
    def sample(self, rng: random.Random) -> Arch:
        return self.canonical([rng.choice(slot.choices) for slot in self.slots])

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change the choice of one or two layers (that have an alternative).

        Two changes can cancel in the canonical form (an identity and a block swapped in a
        run that keeps the shape: the same network), so the move is redrawn until the net
        differs, a bounded number of times.
        """
        open_slots = [i for i, slot in enumerate(self.slots) if len(slot.choices) > 1]
        if not open_slots:
            return arch
        child = arch
        for _ in range(MUTATION_DRAWS):
            names = list(self.names(arch))
            for index in rng.sample(open_slots, min(len(open_slots), rng.choice((1, 2)))):
                choices = [c for c in self.slots[index].choices if c != names[index]]
                names[index] = rng.choice(choices)
            child = self.canonical(names)
            if child != arch:
                return child
        return child

    def suggest(self, trial: optuna.Trial) -> Arch:
        return self.canonical(
            [
                trial.suggest_categorical(f"layer{i}", list(slot.choices))
                for i, slot in enumerate(self.slots)
            ]
        )

    # ------------------------------------------------------------------ structure
    def blocks(self, arch: Arch) -> tuple[Block, ...]:
        """Every layer as a ``Block`` of its chosen type (stride and width of its slot)."""
        return tuple(
            self._block(name, slot) for name, slot in zip(self.names(arch), self.slots, strict=True)
        )

    def _block(self, name: str, slot: LayerSlot) -> Block:
        choice = self.choices[name]
        return Block(choice.type, choice.kernel, choice.expansion, slot.width, slot.stride,
                     choice.bottleneck, choice.depth)  # fmt: skip

    def layers(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> list[LayerKey]:
        self.validate(arch)
        return list(self._layers_cached(arch.body, resolution or self.resolution, residual))

    def _layers_uncached(self, body: str, size: int, residual: bool) -> tuple[LayerKey, ...]:
        stem = LayerKey(
            "conv", self.in_channels, self.stem_width, self.stem_kernel, self.stem_stride,
            size, size, act="relu",
        )  # fmt: skip
        keys = [stem]
        size, channels = stem.h_out, self.stem_width
        for block in self.blocks(Arch(self.name, body)):
            units = block_type(block.type).expand(block, channels, size, residual)
            keys.extend(units)
            size, channels = (units[-1].h_out if units else size), block.width
        keys.append(LayerKey("conv", channels, self.head_width, 1, 1, size, size, act="relu"))
        keys.append(LayerKey("pool_fc", self.head_width, self.num_classes, 1, 1, size, size))
        return tuple(keys)

    def key_counts(
        self, arch: Arch, *, resolution: int | None = None
    ) -> tuple[tuple[LayerKey, int], ...]:
        """``layers()`` (residual links on) as (distinct key, how many times) pairs."""
        counts: dict[LayerKey, int] = {}
        for key in self.layers(arch, resolution=resolution):
            counts[key] = counts.get(key, 0) + 1
        return tuple(counts.items())

    def all_keys(self, resolution: int) -> list[LayerKey]:
        """Every distinct key of the space: each layer's input is fixed by its slot, so each
        choice at each layer has one expansion."""
        probe = self.sample(random.Random(0))
        keys = self.layers(probe, resolution=resolution)
        seen: dict[LayerKey, None] = {keys[0]: None}
        size, channels = keys[0].h_out, self.stem_width
        for slot in self.slots:
            out = size
            for name in slot.choices:
                block = self._block(name, slot)
                units = block_type(block.type).expand(block, channels, size, True)
                seen.update(dict.fromkeys(units))
                out = units[-1].h_out if units else size
            size, channels = out, slot.width
        seen.update(dict.fromkeys(keys[-2:]))
        return list(seen)

    def probe_archs(self, count: int, seed: int) -> list[Arch]:
        """Seeded archs that rotate through every choice of every layer (timing probes)."""
        rng = random.Random(seed)
        archs = []
        for i in range(count):
            offset = rng.randrange(1 << 30)
            archs.append(
                self.make([s.choices[(i + offset + j) % len(s.choices)]
                           for j, s in enumerate(self.slots)])
            )  # fmt: skip
        return archs

    def cost(self, arch: Arch, *, resolution: int | None = None) -> Cost:
        self.validate(arch)
        return self._cost_cached(arch.body, resolution or self.resolution)

    def _cost_uncached(self, body: str, size: int) -> Cost:
        return network_cost(list(self._layers_cached(body, size, True)))

    def num_layers(self, arch: Arch) -> int:
        """Weight layers on the main path (convolutions and the classifier)."""
        return self.cost(arch).layers

    def build(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> nn.Module:
        from nascli.nn.blocks import BlockNetwork

        return BlockNetwork(self.layers(arch, resolution=resolution, residual=residual))

    def describe(self) -> dict[str, Any]:
        choices = {
            name: {"type": c.type, "kernel": c.kernel, "expansion": c.expansion,
                   "bottleneck": c.bottleneck, "depth": c.depth}
            for name, c in self.choices.items()
        }  # fmt: skip
        size = 1
        for slot in self.slots:
            size *= len(slot.choices)
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "proxy": self.recommended_proxy,
            "resolution": self.resolution,
            "num_classes": self.num_classes,
            "stem": {"kernel": self.stem_kernel, "stride": self.stem_stride,
                     "width": self.stem_width},
            "head": {"width": self.head_width},
            "choices": choices,
            "layers": [
                {"stride": s.stride, "width": s.width, "choices": list(s.choices)}
                for s in self.slots
            ],
            "size": size,
        }  # fmt: skip


def _shape_keeping_runs(
    stem_width: int, choices: dict[str, Choice], slots: tuple[LayerSlot, ...]
) -> tuple[tuple[int, ...], ...]:
    """Maximal runs of consecutive layers at which an identity choice is a no-op.

    A layer keeps the shape when its stride is 1 and its width equals the previous
    layer's. Runs whose layers offer different choices are left out: moving a choice
    between them could make an invalid code.
    """
    runs: list[list[int]] = []
    width = stem_width
    for index, slot in enumerate(slots):
        keeps = slot.stride == 1 and slot.width == width
        has_identity = any(vanishes_when_shape_kept(choices[n].type) for n in slot.choices)
        if keeps and has_identity:
            if runs and runs[-1][-1] == index - 1 and slots[runs[-1][-1]].choices == slot.choices:
                runs[-1].append(index)
            else:
                runs.append([index])
        width = slot.width
    return tuple(tuple(run) for run in runs if len(run) > 1)
