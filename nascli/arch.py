"""``Arch``: the one architecture value used everywhere.

An ``Arch`` is a space name plus the space's canonical encoding of the architecture.
Equal strings mean equal architectures, so ``canonical`` is the identity used by caches,
latency tables and Optuna studies. The value is frozen, hashable and knows no space:
turning it into a network, a cost or YAML, or a string into it, goes through the space
registry (``nascli.spaces``: ``resolve_arch``, ``arch_from_canonical``, ``arch_to_yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nascli.yamlio import load_yaml_text, read_yaml_file

__all__ = ["Arch", "load_yaml_text", "read_yaml_file", "resolve_arch"]


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

    # Deprecated aliases of ``nascli.spaces`` functions, kept while branches that call them
    # merge (2026-11-30); remove them with their last caller. New code calls the functions.
    @classmethod
    def from_canonical(cls, text: str) -> Arch:
        """Deprecated: ``nascli.spaces.arch_from_canonical``."""
        from nascli.spaces.resolve import arch_from_canonical

        return arch_from_canonical(text)

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: ``nascli.spaces.arch_to_dict``."""
        from nascli.spaces.resolve import arch_to_dict

        return arch_to_dict(self)

    def to_yaml(self) -> str:
        """Deprecated: ``nascli.spaces.arch_to_yaml``."""
        from nascli.spaces.resolve import arch_to_yaml

        return arch_to_yaml(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "architecture") -> Arch:
        """Deprecated: ``nascli.spaces.arch_from_dict``."""
        from nascli.spaces.resolve import arch_from_dict

        return arch_from_dict(data, source)

    @classmethod
    def from_yaml(cls, text: str, source: str = "architecture") -> Arch:
        """Deprecated: ``nascli.spaces.arch_from_yaml``."""
        from nascli.spaces.resolve import arch_from_yaml

        return arch_from_yaml(text, source)


def resolve_arch(ref: str, space: str | None = None) -> Arch:
    """Deprecated alias of ``nascli.spaces.resolve_arch`` (kept while branches merge)."""
    from nascli.spaces.resolve import resolve_arch as resolve

    return resolve(ref, space)
