"""Turning strings, mappings and files into ``Arch`` values, and back, through their space.

``Arch`` itself is a plain value (``nascli.arch``); everything that needs to know which
space an architecture belongs to lives here, beside the space registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.spaces.registry import get_space
from nascli.yamlio import load_yaml_text, read_yaml_file

# A bare string starting with "|" is a NAS-Bench-201 cell string (the benchmark's format).
_CELL_STRING_SPACE = "nb201"


def arch_from_canonical(text: str) -> Arch:
    """Parse ``space:body`` and validate it against its space."""
    space_name, sep, _ = text.partition(":")
    if not sep:
        raise ConfigError(f"not a canonical architecture string (no 'space:'): {text!r}")
    return get_space(space_name).parse(text[len(space_name) + 1 :])


def arch_to_dict(arch: Arch) -> dict[str, Any]:
    """The YAML mapping of ``arch`` (its space's ``to_dict``)."""
    return get_space(arch.space).to_dict(arch)


def arch_to_yaml(arch: Arch) -> str:
    import yaml

    return yaml.safe_dump(arch_to_dict(arch), sort_keys=False, default_flow_style=None)


def arch_from_dict(data: Any, source: str = "architecture") -> Arch:
    """An ``Arch`` from a mapping with a ``space`` key (the rest is the space's)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'space' key")
    space_name = data.get("space")
    if not isinstance(space_name, str):
        raise ConfigError(f"{source}: missing 'space' name")
    return get_space(space_name).from_dict(data, source=source)


def arch_from_yaml(text: str, source: str = "architecture") -> Arch:
    return arch_from_dict(load_yaml_text(text, source), source=source)


def resolve_arch(ref: str, space: str | None = None) -> Arch:
    """Turn a user's ARCH argument into an ``Arch``.

    Accepted: a YAML file path, the name of a shipped or user net (``zico-600m``: ``nascli
    arch list``), ``nb201:INDEX``, a NAS-Bench-201 string ``|op~0|+...``, a canonical string
    ``space:body``, or (with ``space``) any body that space parses, e.g. NAS-Bench-Macro's
    8-digit code.
    """
    from nascli.paths import config_files

    text = ref.strip()
    path = Path(text)
    named = config_files("archs").get(text) if ":" not in text and "/" not in text else None
    if named is not None and not path.is_file():
        path, text = named, str(named)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        arch = arch_from_dict(read_yaml_file(path), source=str(path))
        if space is not None and arch.space != space:
            raise ConfigError(f"{path}: architecture is of space {arch.space!r}, not {space!r}")
        return arch
    if text.startswith("|"):
        return get_space(space or _CELL_STRING_SPACE).parse(text)
    head, sep, rest = text.partition(":")
    if sep:
        return get_space(head).parse(rest)
    if space is not None:
        return get_space(space).parse(text)
    raise ConfigError(
        f"cannot read architecture {ref!r}: give a YAML file, nb201:INDEX, "
        "an NB201 string or a canonical 'space:...' string"
    )
