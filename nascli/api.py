"""The Python entry point: ``nascli.create_model`` builds a found (or named) net, timm-style.

``create_model("runs/.../best.yaml", num_classes=10)`` or ``create_model("zico-600m")``
returns a freshly initialised ``torch.nn.Module`` ready to train; any ARCH the command line
accepts works (a YAML file, a named net from ``nascli arch list``, ``nb201:INDEX``, a
canonical ``space:...`` string).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nascli.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn


def create_model(
    arch: str,
    *,
    num_classes: int | None = None,
    resolution: int | None = None,
    seed: int | None = None,
) -> nn.Module:
    """Build ``arch``; ``num_classes`` replaces the classifier (the space's classes otherwise).

    ``resolution`` is the input size the net is laid out for (the space's by default);
    ``seed`` makes the initial weights reproducible.
    """
    import torch

    from nascli.spaces import get_space, resolve_arch

    if num_classes is not None and num_classes < 1:
        raise ConfigError(f"num_classes must be at least 1, got {num_classes}")
    resolved = resolve_arch(str(arch))
    space = get_space(resolved.space)
    if seed is not None:
        torch.manual_seed(seed)
    model = space.build(resolved, resolution=resolution)
    if num_classes is not None and num_classes != space.num_classes:
        reset_classifier(model, num_classes)
    model.nascli_arch = resolved.canonical  # type: ignore[assignment]
    return model


def reset_classifier(model: nn.Module, num_classes: int) -> None:
    """Replace the last ``nn.Linear`` (the classifier) by a fresh one with ``num_classes``."""
    from torch import nn

    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = (name, module)
    if last is None:
        raise ConfigError("the network has no linear classifier to resize")
    name, linear = last
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    setattr(parent, name.rpartition(".")[2], nn.Linear(linear.in_features, num_classes))
