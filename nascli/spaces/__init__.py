"""Search spaces: the protocol, its optional capabilities, the registry, arch resolving.

Public names are re-exported here; the modules behind them are free to move.
"""

from nascli.spaces.base import (
    BatchKeyRows,
    CountsKeys,
    EnumeratesKeys,
    HasInitial,
    Indexed,
    LayerLimited,
    SearchSpace,
)
from nascli.spaces.registry import get_space, list_spaces
from nascli.spaces.resolve import (
    arch_from_canonical,
    arch_from_dict,
    arch_from_yaml,
    arch_to_dict,
    arch_to_yaml,
    resolve_arch,
)

__all__ = [
    "BatchKeyRows",
    "CountsKeys",
    "EnumeratesKeys",
    "HasInitial",
    "Indexed",
    "LayerLimited",
    "SearchSpace",
    "arch_from_canonical",
    "arch_from_dict",
    "arch_from_yaml",
    "arch_to_dict",
    "arch_to_yaml",
    "get_space",
    "list_spaces",
    "resolve_arch",
]
