"""A search's inputs resolved once: the ``SearchPlan``.

``build_plan`` turns a ``SearchConfig`` (names, strings, paths) into the objects a search
runs on — the space, budgets, objectives, latency models, the cheap constraint check,
proxies, proxy devices, the proxy batches and the ``--baseline`` nets — and checks each
on the way, so that every mistake is one ``error:`` line before anything touches disk.
The driver, the outputs and the baselines read the plan; nothing resolves an input again.
Each process of a search (its workers too) builds its plan once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from nascli.config import SearchConfig
from nascli.errors import ConfigError
from nascli.search.components import (
    LatencyModel,
    load_latency_model,
    load_proxy_batches,
    resolve_proxies,
)
from nascli.search.constraints import Constraints

if TYPE_CHECKING:
    from nascli.arch import Arch
    from nascli.budget import Budget
    from nascli.data import BatchSet
    from nascli.proxies.base import Proxy
    from nascli.search.objectives import ObjectiveSpec


@dataclass(frozen=True)
class SearchPlan:
    """Everything a search runs on, resolved from its config and checked."""

    config: SearchConfig
    space: Any  # nascli.spaces.base.SearchSpace
    budgets: tuple[Budget, ...]
    objectives: tuple[ObjectiveSpec, ...]
    latency: Mapping[str, LatencyModel]
    constraints: Constraints
    resolution: int  # the proxies' input size
    proxy_names: tuple[str, ...]
    proxies: Mapping[str, Proxy]  # fresh instances; a driver copies the mapping
    devices: tuple[str, ...]  # torch devices of the workers (worker i: devices[i % n])
    data: BatchSet
    baselines: tuple[tuple[str, Arch], ...]  # the ``--baseline`` nets as (name, arch)


def build_plan(config: SearchConfig) -> SearchPlan:
    """Resolve and check every input of ``config`` (one ``ConfigError`` line on a mistake)."""
    from nascli.budget import known_devices, parse_budgets
    from nascli.proxies.device import worker_devices
    from nascli.proxies.runner import default_augment
    from nascli.search.baselines import resolve_baselines
    from nascli.search.objectives import parse_objectives, proxy_resolution
    from nascli.spaces import get_space

    space = get_space(config.space)
    devices = known_devices()
    budgets = tuple(parse_budgets(config.budgets, devices))
    objectives = tuple(parse_objectives(config, devices))
    proxy_names, proxies = resolve_proxies(config.proxy)
    if config.algo == "cascade":
        from nascli.search.cascade import check_screen

        check_screen(config.screen)
    baselines = tuple(resolve_baselines(config))
    torch_devices = tuple(worker_devices(config.proxy_device, config.workers))
    if config.data is not None:
        from nascli.datasets import check_data_spec

        check_data_spec(config.data)
    if config.table is not None and not Path(config.table).exists():
        raise ConfigError(f"--table {config.table}: no such file or folder")
    latency = _latency_models(config, space, budgets, objectives)
    resolution = proxy_resolution(config, space)
    data = load_proxy_batches(
        config.data, num_classes=space.num_classes, resolution=resolution,
        batch_size=config.batch_size, batches=config.batches, seed=config.seed,
        augment=default_augment(proxies, config.augment),
    )  # fmt: skip
    return SearchPlan(
        config=config,
        space=space,
        budgets=budgets,
        objectives=objectives,
        latency=MappingProxyType(latency),
        constraints=Constraints(space, list(budgets), latency),
        resolution=resolution,
        proxy_names=tuple(proxy_names),
        proxies=MappingProxyType(proxies),
        devices=torch_devices,
        data=data,
        baselines=baselines,
    )


def _latency_models(
    config: SearchConfig,
    space: Any,
    budgets: tuple[Budget, ...],
    objectives: tuple[ObjectiveSpec, ...],
) -> dict[str, LatencyModel]:
    """The table of every latency device a budget or objective names, in its unit."""
    names = {b.device for b in budgets if b.kind == "latency"}
    names |= {o.name.split("@", 1)[1] for o in objectives if "@" in o.name}
    latency = {
        d: load_latency_model(d, space.name, space.resolution, config.table)
        for d in sorted(names if None not in names else set())
    }
    for budget in budgets:  # 2Mcycles@DEV needs a cycles table, 8ms@DEV a ms one
        if budget.kind == "latency" and budget.device in latency:
            unit = latency[budget.device].table.meta.get("unit", "ms")
            if unit != budget.unit:
                raise ConfigError(
                    f"budget {budget.text!r} is in {budget.unit} but the {budget.device} "
                    f"table ({latency[budget.device].path}) is in {unit}"
                )
    return latency
