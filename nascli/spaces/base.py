"""The protocol every search space implements.

Searchers depend on this protocol only: the evolution needs ``sample``/``mutate``,
Optuna samplers need ``suggest``, the cost model and latency tables need ``layers``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nascli.arch import Arch
from nascli.layers import LayerKey

if TYPE_CHECKING:
    import optuna
    from torch import nn

    from nascli.cost import Cost


@runtime_checkable
class SearchSpace(Protocol):
    """A family of architectures a search can sample, mutate, build and cost."""

    name: str
    family: str
    resolution: int
    num_classes: int
    description: str

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
