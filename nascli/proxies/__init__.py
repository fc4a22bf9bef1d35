"""The proxy registry: an explicit table from name to module, class and metadata.

Nothing is registered by import side effects and nothing heavy is imported here: the
table holds each proxy's metadata (so ``nascli proxies list`` and ``proxy_info`` never
import torch) and the dotted path of its class, which ``get_proxy`` imports on demand.
Every proxy returns a float where higher is better; a degenerate network gives ``nan``
(the caller records a failed architecture).

``needs_data``: the score depends on the contents of the input batches (real images are
recommended); ``needs_labels``: it uses the labels (a loss). Options are keyword
arguments of ``get_proxy`` (strings from a command line are converted to the option's
type).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nascli.errors import ConfigError, suggest

if TYPE_CHECKING:
    from nascli.proxies.base import Proxy

__all__ = ["REGISTRY", "ProxySpec", "get_proxy", "list_proxies", "proxy_info"]


@dataclass(frozen=True)
class Option:
    """A proxy option: its type, default and one line of help."""

    type: type
    default: Any
    help: str


@dataclass(frozen=True)
class ProxySpec:
    """Everything known about a proxy without importing it."""

    name: str
    target: str  # "module:Class"
    needs_data: bool
    needs_labels: bool
    cost: str
    description: str
    options: dict[str, Option] = field(default_factory=dict)


def _residual(default: bool) -> Option:
    return Option(bool, default, "score the macro network with residual links (NB201 ignores this)")


_ZICO_OPTIONS = {
    "batches": Option(int, 2, "number N of batches, one gradient each (N >= 2)"),
    "residual": _residual(False),
    "accumulate": Option(
        bool,
        False,
        "keep gradients across batches (G_k = g_1+…+g_k), as the first commit bbabe28 of the "
        "released code did; default: each batch's own gradient, as the released code at HEAD",
    ),
}

_INPUT = Option(str, "gaussian", "'gaussian' (N(0,1) shaped like the data, as released) or 'data'")
_AZ_OPTIONS = {"input": _INPUT}
_AZ_COST = "1 fwd+bwd (shared by the three AZ-NAS scores)"

REGISTRY: dict[str, ProxySpec] = {
    spec.name: spec
    for spec in (
        ProxySpec(
            "zico", "nascli.proxies.zico:ZiCo", True, True, "2 fwd+bwd",
            "ZiCo: Σ_layers log Σ mean|g|/std(g) over N batches (released code)",
            _ZICO_OPTIONS,
        ),
        ProxySpec(
            "zico-bc", "nascli.proxies.zico_bc:ZiCoBC", True, True, "2 fwd+bwd",
            "ZiCo-BC: ZiCo − β·Σ_l log(H_l·W_l/√C_l) (bias-corrected ZiCo)",
            {"beta": Option(float, 1.0, "weight β of the bias correction"), **_ZICO_OPTIONS},
        ),
        ProxySpec(
            "zen", "nascli.proxies.zen:Zen", False, False, "2 fwd",
            "Zen-score: log E|f(x)−f(x+γε)| + Σ log √BN var, Gaussian weights and input",
            {
                "mixup_gamma": Option(float, 1e-2, "perturbation scale γ"),
                "batch_size": Option(int, None, "Gaussian batch size (default: the data's)"),
                "repeat": Option(int, 1, "average over this many Gaussian draws"),
                "residual": _residual(False),
            },
        ),
        ProxySpec(
            "naswot", "nascli.proxies.naswot:NASWOT", True, False, "1 fwd",
            "NASWOT: log|det K| of binary ReLU codes over a batch",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "synflow", "nascli.proxies.synflow:SynFlow", False, False,
            "1 fwd+bwd (batch 1, float64)",
            "SynFlow: Σ|θ ⊙ ∂R/∂θ| of the |θ| network on an all-ones input, BN off",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "snip", "nascli.proxies.snip:SNIP", True, True, "1 fwd+bwd",
            "SNIP: Σ|θ ⊙ ∂L/∂θ| (connection sensitivity)",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "grasp", "nascli.proxies.grasp:GraSP", True, True,
            "1 fwd + 2 bwd (Hessian-vector product)",
            "GraSP: Σ −θ ⊙ Hg (zero-cost-nas sign)",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "fisher", "nascli.proxies.fisher:Fisher", True, True, "1 fwd+bwd",
            "Fisher: Σ channel saliency ½·mean(Σ act·grad)² (zero-cost-nas)",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "grad-norm", "nascli.proxies.grad_norm:GradNorm", True, True, "1 fwd+bwd",
            "GradNorm: Σ_layers ‖∂L/∂W‖₂",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "jacov", "nascli.proxies.jacov:JacobCov", True, False,
            "1 fwd+bwd (w.r.t. input)",
            "JacobCov: −Σ log(λ+k)+1/(λ+k) of the input-Jacobian correlation matrix",
            {"residual": _residual(True)},
        ),
        ProxySpec(
            "az-expressivity", "nascli.proxies.az_nas:AZExpressivity", False, False, _AZ_COST,
            "AZ-NAS expressivity: Σ entropy of each cell map's channel-covariance spectrum",
            _AZ_OPTIONS,
        ),
        ProxySpec(
            "az-progressivity", "nascli.proxies.az_nas:AZProgressivity", False, False, _AZ_COST,
            "AZ-NAS progressivity: smallest entropy gain from one cell map to the next",
            _AZ_OPTIONS,
        ),
        ProxySpec(
            "az-trainability", "nascli.proxies.az_nas:AZTrainability", False, False, _AZ_COST,
            "AZ-NAS trainability: mean −σ−1/σ+2 of the cell-to-cell gradient maps",
            _AZ_OPTIONS,
        ),
        ProxySpec(
            "vkdnw", "nascli.proxies.vkdnw:VKDNW", False, False,
            "1 fwd + C input-only bwd (eval mode)",
            "VKDNW: #param tensors, then entropy of the Fisher spectrum deciles (VKDNW_single)",
            {
                "params": Option(int, 128, "first P parameter tensors, one weight each"),
                "samples": Option(int, 16, "inputs the Fisher averages over (released: 64)"),
                "input": _INPUT,
            },
        ),
        ProxySpec(
            "meco", "nascli.proxies.meco:MeCo", True, False, "1 fwd (1 image)",
            "MeCo: Σ over modules of the min eigenvalue of the channel correlation (1 image)",
        ),
        ProxySpec(
            "swap", "nascli.proxies.swap:SWAP", True, False, "repeats × 1 fwd (16 images)",
            "SWAP: distinct ReLU patterns over 16 images × exp(−(kParams−μ)²/σ)",
            {
                "samples": Option(int, 16, "images per pattern (at most 63)"),
                "repeats": Option(int, 1, "average over N(0,1) weight draws (released: 32)"),
                "mu": Option(float, 1500.0, "μ of the size regulariser, thousands of params"),
                "sigma": Option(float, 1e6, "σ of the size regulariser (μ <= 0: off)"),
            },
        ),
        ProxySpec(
            "params", "nascli.proxies.params:Params", False, False, "analytic",
            "#Params (analytic cost model)",
        ),
        ProxySpec(
            "flops", "nascli.proxies.flops:Flops", False, False, "analytic",
            "MACs at the proxy resolution (analytic cost model)",
        ),
    )
}  # fmt: skip


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
    module_name, class_name = spec.target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**kwargs)
