"""Registry of search spaces: built-in YAML macro spaces, NAS-Bench-201, user YAML files.

The registry is an explicit function, not import-time side effects: ``get_space(name)``
looks in ``configs/spaces/*.yaml`` (macro and layer-wise spaces; working directory, user
folder, shipped: ``nascli.paths``), then at the built-in ``nb201`` space, and accepts a path
to a user's own space YAML.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from nascli.errors import ConfigError, suggest
from nascli.paths import config_files
from nascli.spaces.base import SearchSpace
from nascli.spaces.fields import RESERVED_NAMES
from nascli.yamlio import read_yaml_file

__all__ = ["get_space", "list_spaces"]

_BUILTIN_PYTHON_SPACES = RESERVED_NAMES

#: Spaces read from a file path in this process, by their own name. An architecture stores
#: its space's *name* (``Arch.space``); once a space file is loaded, that name resolves to
#: it, so outputs, baselines, exports and resumed studies never look it up in configs/.
_FILE_SPACES: dict[str, SearchSpace] = {}


def _yaml_spaces() -> dict[str, Path]:
    return config_files("spaces")


def list_spaces() -> list[str]:
    """Names of every space nascli knows, sorted."""
    return sorted(set(_yaml_spaces()) | set(_BUILTIN_PYTHON_SPACES))


@lru_cache(maxsize=64)
def get_space(name: str) -> SearchSpace:
    """The space called ``name`` (or defined in the YAML file ``name``)."""
    if name == "nb201":
        from nascli.spaces.nb201 import NB201Space

        return NB201Space()
    if name in _FILE_SPACES:
        return _FILE_SPACES[name]
    yaml_spaces = _yaml_spaces()
    if name in yaml_spaces:
        return _load_yaml_space(yaml_spaces[name])
    path = Path(name)
    if name.endswith((".yaml", ".yml")) or path.exists():
        return _register_file_space(path, yaml_spaces)
    raise ConfigError(
        f"unknown search space {name!r}{suggest(name, list_spaces())}; "
        f"known: {', '.join(list_spaces())}"
    )


def _register_file_space(path: Path, yaml_spaces: dict[str, Path]) -> SearchSpace:
    """Load the space file ``path`` and make its name resolve to it in this process.

    A file that takes the name of a space in configs/ with a different definition is
    refused: an architecture ``name:...`` must mean the same space in every run. Between
    space files, the one loaded last holds the name (a long-lived process may load an
    edited file again).
    """
    data = read_yaml_file(path)
    space = _space_from_data(data, path)
    other_path = yaml_spaces.get(space.name)
    if other_path is not None and read_yaml_file(other_path) != data:
        raise ConfigError(
            f"{path}: space name {space.name!r} is already the space defined in {other_path}; "
            "give the file's space another name"
        )
    _FILE_SPACES[space.name] = space
    return space


def _load_yaml_space(path: Path) -> SearchSpace:
    return _space_from_data(read_yaml_file(path), path)


def _space_from_data(data: object, path: Path) -> SearchSpace:
    family = data.get("family", "macro") if isinstance(data, dict) else None
    if family == "macro":
        from nascli.spaces.macro import MacroSpace

        return MacroSpace.from_config(data, source=str(path))
    if family == "layerwise":
        from nascli.spaces.layerwise import LayerwiseSpace

        return LayerwiseSpace.from_config(data, source=str(path))
    raise ConfigError(f"{path}: unknown space family {family!r} (supported: macro, layerwise)")
