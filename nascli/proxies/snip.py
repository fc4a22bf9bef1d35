"""SNIP: connection sensitivity |θ ⊙ ∂L/∂θ| (Lee et al., ICLR 2019; Abdelfattah et al. 2021).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/snip.py``: the reference
multiplies each ``nn.Conv2d``/``nn.Linear`` weight by a mask of ones and takes
|∂L/∂mask| = |∂L/∂θ ⊙ θ|; we compute that product directly. One forward/backward of the
mean cross-entropy of the first batch, network in train mode with BatchNorm
(``bn=True``). Score = Σ over weights of |θ ⊙ ∂L/∂θ|. Higher is better.
"""

from __future__ import annotations

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
    name="snip",
    class_name="SNIP",
    needs_data=True,
    needs_labels=True,
    cost="1 fwd+bwd",
    description="SNIP: Σ|θ ⊙ ∂L/∂θ| (connection sensitivity)",
    options={
        "residual": residual_option(True),
    },
)
SPECS = (SPEC,)


def snip_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.train()
    model.zero_grad(set_to_none=True)
    cross_entropy(model, x, y).backward()
    dtype = accumulation_dtype(x.device)
    total = torch.zeros((), dtype=dtype, device=x.device)
    with torch.no_grad():
        for _name, module in weight_layers(model):
            if module.weight.grad is not None:
                total += (module.weight.grad * module.weight).abs().sum(dtype=dtype)
    return finite_or_nan(float(total))


class SNIP(SpecProxy, spec=SPEC):
    """SNIP (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, y = first_batch(batches, self.name)
        return snip_score(candidate.build(residual=self.residual), x, y)
