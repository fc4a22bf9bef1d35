"""The proxy registry: built from the proxy modules' own specs, in the order listed here.

Each proxy module declares ``SPECS`` (``nascli.proxies.spec.ProxySpec``: name, needs,
cost, options, aliases, whether it reports layer terms) and loads torch only when it
computes (``nascli.proxies.lazy_torch``), so building this table, ``nascli proxies list``
and ``proxy_info`` never import torch; ``get_proxy`` instantiates the class its spec
names. Adding a proxy is one module plus one line in ``PROXY_MODULES``. Nothing is
registered by import side effects.
Every proxy returns a float where higher is better; a degenerate network gives ``nan``
(the caller records a failed architecture). Options are keyword arguments of
``get_proxy`` (strings from a command line are converted to the option's type; options
not given take the spec's default).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nascli.errors import ConfigError, suggest
from nascli.proxies.spec import Option, ProxySpec

if TYPE_CHECKING:
    from nascli.proxies.base import Proxy

__all__ = [
    "PROXY_MODULES",
    "REGISTRY",
    "ProxySpec",
    "get_proxy",
    "layerwise_proxies",
    "list_proxies",
    "proxy_info",
    "published_names",
]

# The proxy modules under ``nascli.proxies``, in the order ``proxies list`` shows them.
PROXY_MODULES = (
    "zico",
    "zico_bc",
    "zen",
    "naswot",
    "synflow",
    "snip",
    "grasp",
    "fisher",
    "grad_norm",
    "jacov",
    "az_nas",
    "vkdnw",
    "meco",
    "swap",
    "params",
    "flops",
)


def _collect(modules: tuple[str, ...]) -> tuple[dict[str, ProxySpec], dict[str, str]]:
    """Every module's ``SPECS`` by proxy name, and the module each proxy lives in."""
    specs: dict[str, ProxySpec] = {}
    homes: dict[str, str] = {}
    for short in modules:
        module = importlib.import_module(f"{__name__}.{short}")
        for spec in module.SPECS:
            if spec.name in specs:
                raise ValueError(f"proxy {spec.name!r} declared by {homes[spec.name]} and {short}")
            specs[spec.name] = spec
            homes[spec.name] = module.__name__
    return specs, homes


REGISTRY, _HOMES = _collect(PROXY_MODULES)


def list_proxies() -> list[str]:
    """Names of every registered proxy, in registry order."""
    return list(REGISTRY)


def _spec(name: str) -> ProxySpec:
    spec = REGISTRY.get(name)
    if spec is None:
        known = list_proxies()
        raise ConfigError(
            f"unknown proxy {name!r}{suggest(name, known)}; known: {', '.join(known)}"
        )
    return spec


def proxy_info(name: str) -> dict[str, Any]:
    """Name, needs_data, needs_labels, cost, description and options (no torch import)."""
    spec = _spec(name)
    return {
        "name": spec.name,
        "needs_data": spec.needs_data,
        "needs_labels": spec.needs_labels,
        "cost": spec.cost,
        "description": spec.description,
        "options": {
            key: {"type": opt.type.__name__, "default": opt.default, "help": opt.help}
            for key, opt in spec.options.items()
        },
    }


def _convert(proxy: str, key: str, option: Option, value: Any) -> Any:
    """Coerce a command-line string to the option's type; ConfigError when impossible."""
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    if option.type is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    else:
        try:
            return option.type(text)
        except ValueError:
            pass
    raise ConfigError(
        f"proxy {proxy!r}: option {key!r} must be a {option.type.__name__}, got {value!r}"
    )


def get_proxy(name: str, **options: Any) -> Proxy:
    """A new instance of the proxy ``name`` configured with ``options``."""
    spec = _spec(name)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise ConfigError(f"proxy {name!r} has no option {unknown[0]!r} (options: {allowed})")
    kwargs = {key: _convert(name, key, spec.options[key], v) for key, v in options.items()}
    defaults = {key: option.default for key, option in spec.options.items()}
    cls = getattr(importlib.import_module(_HOMES[name]), spec.class_name)
    return cls(**{**defaults, **kwargs})


def layerwise_proxies() -> tuple[str, ...]:
    """Proxies whose score is a sum of per-layer terms they report (``--algo surrogate``)."""
    return tuple(name for name, spec in REGISTRY.items() if spec.layer_terms)


def published_names() -> dict[str, str]:
    """Lower-case names the literature uses (each proxy's own name and its aliases) → the
    nascli proxy name."""
    names: dict[str, str] = {}
    for name, spec in REGISTRY.items():
        for alias in (name, *spec.aliases):
            names[alias.lower()] = name
    return names
