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
from collections.abc import Sequence

import torch
from torch import nn

from nascli.errors import ConfigError
from nascli.proxies.base import Batch

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv2d/Linear modules in ``named_modules`` order (each module once)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]


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
        if isinstance(module, BATCHNORMS):
            module.forward = _identity  # type: ignore[method-assign]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def finite_or_nan(value: float) -> float:
    """``value`` as a float, or ``nan`` when it is not finite (the degenerate-network rule)."""
    value = float(value)
    return value if math.isfinite(value) else math.nan
