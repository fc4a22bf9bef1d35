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

from nascli.proxies._common import first_batch, loss_gradient_sum
from nascli.proxies.base import Batch, Candidate
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
    return loss_gradient_sum(
        model, x, y, lambda weight, grad, dtype: (grad * weight).abs().sum(dtype=dtype)
    )


class SNIP(SpecProxy, spec=SPEC):
    """SNIP (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, y = first_batch(batches, self.name)
        return snip_score(candidate.build(residual=self.residual), x, y)
