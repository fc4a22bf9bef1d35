"""``Arch``: the one architecture value used everywhere.

An ``Arch`` is a space name plus the space's canonical encoding of the architecture.
Equal strings mean equal architectures, so ``canonical`` is the identity used by caches,
latency tables and Optuna studies. The value is frozen, hashable and knows no space:
turning it into a network, a cost or YAML, or a string into it, goes through the space
registry (``nascli.spaces``: ``resolve_arch``, ``arch_from_canonical``, ``arch_to_yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nascli.yamlio import load_yaml_text, read_yaml_file

__all__ = ["Arch", "load_yaml_text", "read_yaml_file"]


@dataclass(frozen=True, order=True)
class Arch:
    """An architecture of a named space; ``body`` is the space's canonical encoding."""

    space: str
    body: str

    @property
    def canonical(self) -> str:
        return f"{self.space}:{self.body}"

    def __str__(self) -> str:
        return self.canonical
