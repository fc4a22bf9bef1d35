"""GraSP: gradient signal preservation, Σ −θ ⊙ Hg (Wang et al., ICLR 2020; Abdelfattah et al. 2021).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/grasp.py`` (T = 1, one
iteration, network in train mode with BatchNorm):

* g = ∂L/∂W for every ``nn.Conv2d``/``nn.Linear`` weight W (mean cross-entropy of the
  first batch);
* Hg = ∂(Σ_W ⟨stop_grad(g), ∂L/∂W⟩)/∂W, the Hessian–gradient product;
* score = Σ over weights of −θ ⊙ Hg.

Sign: GraSP's paper prunes the weights with the *largest* θ ⊙ Hg; zero-cost-nas returns
−θ ⊙ Hg summed because "accuracy seems to be negatively correlated with this metric",
and its published NAS-Bench-201 correlations use that sign. We use the same sign, so
higher is better as for every nascli proxy.

The reference runs the forward pass twice (once for g without a graph, once with
``create_graph=True``); both passes see the same batch in train mode and give the same
g, so we run it once with ``create_graph=True`` and detach g from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.proxies._common import cross_entropy, finite_or_nan, first_batch, weight_layers
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.device import accumulation_dtype
from nascli.proxies.spec import ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="grasp",
    class_name="GraSP",
    needs_data=True,
    needs_labels=True,
    cost="1 fwd + 2 bwd (Hessian-vector product)",
    description="GraSP: Σ −θ ⊙ Hg (zero-cost-nas sign)",
    options={
        "residual": residual_option(True),
    },
)
SPECS = (SPEC,)


def grasp_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.train()
    model.zero_grad(set_to_none=True)
    weights = [module.weight for _name, module in weight_layers(model)]
    loss = cross_entropy(model, x, y)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    pairs = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
    if not pairs:
        return math.nan
    z = sum((g.detach() * g).sum() for _w, g in pairs)
    hessian_grads = torch.autograd.grad(z, [w for w, _g in pairs], allow_unused=True)
    dtype = accumulation_dtype(x.device)
    total = torch.zeros((), dtype=dtype, device=x.device)
    with torch.no_grad():
        for (weight, _g), hg in zip(pairs, hessian_grads, strict=True):
            if hg is not None:
                total -= (weight * hg).sum(dtype=dtype)
    return finite_or_nan(float(total))


class GraSP(SpecProxy, spec=SPEC):
    """GraSP with zero-cost-nas's sign (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, y = first_batch(batches, self.name)
        return grasp_score(candidate.build(residual=self.residual), x, y)
