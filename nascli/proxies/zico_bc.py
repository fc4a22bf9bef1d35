"""ZiCo-BC: ZiCo with a bias correction against thin, deep networks (Bhardwaj et al. 2023).

ZiCo-BC (ICCV 2023 workshops, arXiv:2309.14666) observes that ZiCo favours thinner,
deeper networks and subtracts, per layer, a term that grows with the layer's feature
map size relative to its width::

    ZiCo-BC = Σ_l [ log Σ_θ∈l mean|g|/std(g)  −  β · log(H_l · W_l / √C_l) ]

H_l, W_l are the height and width of layer l's *output* feature map and C_l its output
channels (for a ``nn.Linear`` layer H = W = 1 and C = out_features), measured on the
first batch at the proxy-time resolution. β = 1 (the paper's value for classification)
is the default and is configurable. The sum runs over the same layers as ZiCo's: a
layer ZiCo skips (no element with non-zero gradient std) gets no correction either.
Everything else (batches, train mode, independent per-batch gradients as released, residual
links removed by default) is ``nascli.proxies.zico``'s. No authors' code is public;
the formula above is the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

from nascli.errors import ConfigError
from nascli.proxies._common import weight_layers
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import Option, ProxySpec, SpecProxy
from nascli.proxies.zico import SPEC as ZICO
from nascli.proxies.zico import (
    check_batch_option,
    check_batches,
    layer_terms,
    record_gradients,
    zico_from_terms,
)

SPEC = ProxySpec(
    name="zico-bc",
    class_name="ZiCoBC",
    needs_data=True,
    needs_labels=True,
    cost="2 fwd+bwd",
    description="ZiCo-BC: ZiCo − β·Σ_l log(H_l·W_l/√C_l) (bias-corrected ZiCo)",
    options={
        "beta": Option(float, 1.0, "weight β of the bias correction"),
        **ZICO.options,
    },
)
SPECS = (SPEC,)


def bias_correction(shape: Sequence[int]) -> float:
    """``log(H·W/√C)`` of an output of shape (N, C, H, W) or (N, C)."""
    channels = int(shape[1])
    spatial = math.prod(int(s) for s in shape[2:]) if len(shape) > 2 else 1
    return math.log(spatial / math.sqrt(channels))


def zico_bc_score(
    model: nn.Module, batches: Sequence[Batch], *, beta: float = 1.0, accumulate: bool = False
) -> float:
    """ZiCo-BC of ``model`` on ``batches`` (all of them are used)."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in weight_layers(model):

        def hook(_m: nn.Module, _i: object, out: torch.Tensor, name: str = name) -> None:
            shapes.setdefault(name, tuple(out.shape))

        handles.append(module.register_forward_hook(hook))
    try:
        grads = record_gradients(model, batches, accumulate=accumulate)
    finally:
        for handle in handles:
            handle.remove()
    terms = layer_terms(model, grads)
    zico = zico_from_terms(terms)
    if math.isnan(zico):
        return math.nan
    correction = math.fsum(bias_correction(shapes[t.name]) for t in terms if t.name in shapes)
    value = zico - beta * correction
    return value if math.isfinite(value) else math.nan


class ZiCoBC(SpecProxy, spec=SPEC):
    """ZiCo − β·Σ_l log(H_l·W_l/√C_l) (see the module docstring)."""

    def __init__(self, *, beta: float, batches: int, residual: bool, accumulate: bool) -> None:
        if isinstance(beta, bool) or not isinstance(beta, int | float) or not math.isfinite(beta):
            raise ConfigError(
                f"proxy 'zico-bc': option 'beta' must be a finite number, got {beta!r}"
            )
        self.beta = float(beta)
        self.batches = check_batch_option(batches, self.name)
        self.residual = bool(residual)
        self.accumulate = bool(accumulate)
        self.cost = f"{self.batches} fwd+bwd"

    @property
    def batches_needed(self) -> int:
        return self.batches

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        used = check_batches(batches, self.batches, self.name)
        model = candidate.build(residual=self.residual)
        return zico_bc_score(model, used, beta=self.beta, accumulate=self.accumulate)
