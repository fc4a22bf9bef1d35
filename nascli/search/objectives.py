"""What a search optimises: the proxy first, then optional cheap costs (latency, MACs, ...).

Kept apart from the driver so commands can check ``--objectives`` before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nascli.config import LOW_COST_RESOLUTION, SearchConfig
from nascli.errors import ConfigError


@dataclass(frozen=True)
class ObjectiveSpec:
    """One optimised quantity: the proxy (↑) or a cheap cost such as latency@cpu (↓)."""

    name: str
    maximize: bool

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


def parse_objectives(config: SearchConfig, devices: list[str]) -> list[ObjectiveSpec]:
    """``zico,latency@cpu`` → [proxy ↑, latency@cpu ↓]; the proxy always comes first."""
    if not config.objectives:
        return [ObjectiveSpec("proxy", True)]
    specs = []
    for raw in config.objectives:
        name = raw.strip()
        if name in (config.proxy, "proxy"):
            specs.append(ObjectiveSpec("proxy", True))
        elif name in ("macs", "flops", "params", "layers"):
            specs.append(ObjectiveSpec("macs" if name == "flops" else name, False))
        elif name.startswith("latency@"):
            device = name.split("@", 1)[1]
            if device not in devices:
                raise ConfigError(f"objective {name!r}: unknown device {device!r}")
            specs.append(ObjectiveSpec(name, False))
        else:
            raise ConfigError(
                f"unknown objective {name!r}: use the proxy ({config.proxy}), latency@DEVICE, "
                "macs, params or layers"
            )
    if [s.name for s in specs].count("proxy") != 1 or specs[0].name != "proxy":
        raise ConfigError("--objectives must start with the proxy, once (e.g. zico,latency@cpu)")
    if len({s.name for s in specs}) != len(specs):
        raise ConfigError("--objectives lists an objective twice")
    return specs


def proxy_resolution(config: SearchConfig, space: Any) -> int:
    """Proxy-time resolution: the option, else the space's capped at the low-cost 96 px."""
    return config.resolution or min(space.resolution, LOW_COST_RESOLUTION)
