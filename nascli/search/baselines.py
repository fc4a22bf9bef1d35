"""The reference nets a search is compared with: the user's ``--baseline`` and shipped nets.

A baseline is scored with the search's exact proxy settings, so its row in the results is
a same-run comparison. A shipped net is a default baseline when it fits every budget and
the latency tables cover it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nascli.arch import Arch
from nascli.config import SearchConfig
from nascli.errors import ConfigError, NascliError

if TYPE_CHECKING:
    from nascli.search.driver import SearchDriver


def resolve_baselines(config: SearchConfig) -> list[tuple[str, Arch]]:
    """The ``--baseline`` nets as (name, arch), each of the search's space (one-line errors)."""
    from nascli.spaces import resolve_arch

    chosen = []
    for ref in config.baselines or ():
        arch = resolve_arch(ref, None if ":" in ref else config.space)
        if arch.space != config.space:
            raise ConfigError(f"baseline {ref!r} is of space {arch.space!r}, not {config.space!r}")
        chosen.append((Path(ref).stem if ref.endswith((".yaml", ".yml")) else ref, arch))
    return chosen


def default_baselines(driver: SearchDriver) -> list[tuple[str, Arch]]:
    """Shipped ``configs/archs/*.yaml`` of the search's space that fit every budget."""
    from nascli.arch import read_yaml_file
    from nascli.paths import config_files
    from nascli.spaces import arch_from_dict

    out = []
    for path in config_files("archs").values():
        data = read_yaml_file(path)
        if not isinstance(data, dict) or data.get("space") != driver.space.name:
            continue
        arch = arch_from_dict(data, source=str(path))
        try:
            fits = driver.constraints.check(arch).feasible
        except NascliError:  # e.g. a latency table that does not cover this net's blocks
            continue
        if fits:
            out.append((path.stem, arch))
    return out
