"""The protocol every search space implements, and the optional capabilities.

Searchers depend on this protocol only: the evolution needs ``sample``/``mutate``,
Optuna samplers need ``suggest``, the cost model and latency tables need ``layers``.
What only some spaces can do (a starting network, fast key counts, an official index...)
is a protocol of its own below, checked with ``isinstance``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nascli.arch import Arch
from nascli.layers import LayerKey

if TYPE_CHECKING:
    from collections.abc import Sequence

    import optuna
    from torch import nn

    from nascli.cost import Cost
    from nascli.keyrows import KeyRows


@runtime_checkable
class SearchSpace(Protocol):
    """A family of architectures a search can sample, mutate, build and cost."""

    name: str
    family: str
    resolution: int
    num_classes: int
    description: str
    recommended_proxy: str | None  # what a search uses here without --proxy (None: ZiCo)

    def sample(self, rng: random.Random) -> Arch:
        """A random valid architecture."""

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """A valid neighbour of ``arch`` (differs in one or two blocks)."""

    def suggest(self, trial: optuna.Trial) -> Arch:
        """An architecture from an Optuna trial's suggestions (for TPE, NSGA-II, random)."""

    def validate(self, arch: Arch) -> None:
        """Raise ConfigError naming the first thing that puts ``arch`` outside the space."""

    def parse(self, body: str) -> Arch:
        """Parse (and validate) the body of a canonical string, or another accepted form."""

    def from_dict(self, data: dict[str, Any], source: str = "architecture") -> Arch:
        """Build an Arch from its YAML mapping; unknown keys are errors."""

    def to_dict(self, arch: Arch) -> dict[str, Any]:
        """The YAML mapping of ``arch`` (``from_dict(to_dict(a)) == a``)."""

    def layers(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> list[LayerKey]:
        """Every block with all that changes its cost or its kernel."""

    def num_layers(self, arch: Arch) -> int:
        """Depth as the space's literature counts it (the ``Layers`` budget)."""

    def cost(self, arch: Arch, *, resolution: int | None = None) -> Cost:
        """Analytic MACs/params/peak activations/layers from ``layers()`` alone."""

    def build(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> nn.Module:
        """The PyTorch module; it has ``forward_features`` (pre-pooling map) and ``forward``."""

    def describe(self) -> dict[str, Any]:
        """A JSON-able description for ``nascli spaces show``."""


# Optional capabilities. A caller that can use one checks ``isinstance(space, Capability)``
# (never a space's name or ``getattr``); a space gains it by defining the method.


@runtime_checkable
class HasInitial(Protocol):
    """A space with a published starting network (ZiCo/Zen-NAS evolution mutates it first)."""

    def initial(self) -> Arch:
        """The network a search starts from."""


@runtime_checkable
class CountsKeys(Protocol):
    """A space that lists an arch's distinct keys with counts faster than ``layers()``."""

    def key_counts(
        self, arch: Arch, *, resolution: int | None = None
    ) -> tuple[tuple[LayerKey, int], ...]:
        """``layers()`` (residual links on) as (distinct key, how many times) pairs."""


@runtime_checkable
class BatchKeyRows(Protocol):
    """A space that writes the key counts of many archs at once, vectorised."""

    def key_rows(self, archs: Sequence[Arch], *, resolution: int | None = None) -> KeyRows:
        """``key_counts`` of ``archs`` as packed rows (``nascli.keyrows``)."""


@runtime_checkable
class LayerLimited(Protocol):
    """A space whose template bounds the depth a search can reach (the ``Layers`` budget)."""

    def max_layers(self) -> int | None:
        """The most layers (as ``num_layers`` counts them) the template allows, if bounded."""


@runtime_checkable
class Indexed(Protocol):
    """A benchmark space whose archs have an official index (ground-truth tables use it)."""

    def index(self, arch: Arch) -> int:
        """The benchmark's index of ``arch``."""

    def from_index(self, index: int) -> Arch:
        """The arch with the benchmark's index ``index``."""


@runtime_checkable
class EnumeratesKeys(Protocol):
    """A small space whose distinct keys can all be listed (latency tables measure all)."""

    def all_keys(self, resolution: int) -> list[LayerKey]:
        """Every distinct key of every arch of the space at ``resolution``."""

    def probe_archs(self, count: int, seed: int) -> list[Arch]:
        """``count`` seeded archs that together use every key (in-context timing probes)."""
