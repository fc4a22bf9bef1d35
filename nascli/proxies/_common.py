"""Helpers shared by the proxy modules (torch is imported here, so import lazily).

Conventions every proxy follows (the zero-cost-nas / ZiCo / Zen-NAS reference code does
the same): *weight layers* are ``nn.Conv2d`` and ``nn.Linear`` modules and a proxy looks
at their ``weight`` only (biases and BatchNorm affine parameters are never scored); the
network is in train mode (BatchNorm normalises with batch statistics); the loss is the
mean cross-entropy of the logits.

Degenerate networks: a proxy never raises for a network whose maths is undefined (all
gradients zero, identical outputs, a singular kernel); it returns ``nan`` and the caller
records a failed architecture (``nascli.proxies.runner`` treats any non-finite score
as a failure).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.errors import ConfigError
from nascli.proxies.base import Batch
from nascli.proxies.device import accumulation_dtype


def weight_layer_types() -> tuple[type, ...]:
    """Conv2d and Linear: the layers whose weights the proxies read (torch loaded on use)."""
    return (nn.Conv2d, nn.Linear)


def batchnorm_types() -> tuple[type, ...]:
    """Every BatchNorm dimensionality (torch loaded on use)."""
    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv2d/Linear modules in ``named_modules`` order (each module once)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, weight_layer_types())]


def first_batch(batches: Sequence[Batch], proxy: str) -> Batch:
    """The batch single-batch proxies use (the first one given)."""
    if not batches:
        raise ConfigError(f"proxy {proxy!r} needs at least one input batch")
    return batches[0]


def input_shape(batches: Sequence[Batch], resolution: int, channels: int = 3) -> list[int]:
    """``[C, H, W]`` of the inputs: from the first batch when given, else from the resolution."""
    if batches:
        return list(batches[0][0].shape[1:])
    return [channels, resolution, resolution]


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``model(x)`` against integer labels ``y``."""
    return nn.functional.cross_entropy(model(x), y)


def disable_batchnorm(model: nn.Module) -> None:
    """Make every BatchNorm the identity (zero-cost-nas ``bn=False``: forward = no-op)."""
    for module in model.modules():
        if isinstance(module, batchnorm_types()):
            module.forward = _identity  # type: ignore[method-assign]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def finite_or_nan(value: float) -> float:
    """``value`` as a float, or ``nan`` when it is not finite (the degenerate-network rule)."""
    value = float(value)
    return value if math.isfinite(value) else math.nan


def kaiming_fanin_init(model: nn.Module) -> None:
    """AZ-NAS / VKDNW ``kaiming_norm_fanin`` init: conv/linear weights N(0, 2/fan_in), zero
    biases, BatchNorm/GroupNorm affine weight 1 and bias 0 (drawn from torch's global RNG)."""
    for module in model.modules():
        if isinstance(module, weight_layer_types()):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (*batchnorm_types(), nn.GroupNorm)) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


INPUTS = ("gaussian", "data")


def proxy_input(
    batches: Sequence[Batch],
    resolution: int,
    seed: int,
    kind: str,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The first batch (``kind="data"``) or N(0, 1) noise shaped like it (``"gaussian"``).

    The noise is drawn from its own CPU generator seeded with ``seed``, so it does not depend
    on how much of torch's global RNG the network build consumed nor on the device; it is
    then moved to the batches' device (``device`` without batches). Without batches the
    shape is 64 × 3 × resolution².
    """
    if kind not in INPUTS:
        raise ConfigError(f"proxy input must be one of {', '.join(INPUTS)}, got {kind!r}")
    if kind == "data":
        return first_batch(batches, "input=data")[0]
    shape = list(batches[0][0].shape) if batches else [64, 3, resolution, resolution]
    target = batches[0][0].device if batches else device
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(target)


def stage_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Output of every child of ``model.features`` (stem, then each cell or block), in order.

    nascli's networks (NB201 and block networks) keep the body in a ``features``
    ``nn.Sequential``; these outputs are what AZ-NAS calls the cell features.
    """
    body = getattr(model, "features", None)
    if not isinstance(body, nn.Sequential):
        raise TypeError(f"{type(model).__name__} has no 'features' nn.Sequential to read")
    out = []
    h = x
    for block in body:
        h = block(h)
        out.append(h)
    return out


def forward_with_hooks(
    model: nn.Module,
    x: torch.Tensor,
    modules: Sequence[nn.Module],
    hook: Callable[..., None],
    *,
    pre: bool = False,
) -> None:
    """One train-mode forward of ``x`` without autograd, ``hook`` on ``modules``.

    Activation-pattern proxies (NASWOT, MeCo, SWAP) read what flows through chosen modules;
    the hooks are removed even when the forward fails. ``pre`` hooks see the inputs only.
    """
    register = "register_forward_pre_hook" if pre else "register_forward_hook"
    handles = [getattr(module, register)(hook) for module in modules]
    try:
        model.train()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()


def loss_gradient_sum(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    term: Callable[[torch.Tensor, torch.Tensor, torch.dtype], torch.Tensor],
) -> float:
    """Σ over weight layers of ``term(weight, ∂loss/∂weight, dtype)`` after one train-mode
    cross-entropy backward of ``(x, y)``: the skeleton of GradNorm and SNIP, which differ
    only in the term. Sums in ``accumulation_dtype`` (float64 where the device has it)."""
    model.train()
    model.zero_grad(set_to_none=True)
    cross_entropy(model, x, y).backward()
    dtype = accumulation_dtype(x.device)
    total = torch.zeros((), dtype=dtype, device=x.device)
    with torch.no_grad():
        for _name, module in weight_layers(model):
            if module.weight.grad is not None:
                total += term(module.weight, module.weight.grad, dtype)
    return finite_or_nan(float(total))
