"""GradNorm: Σ over layers of the Euclidean norm of the weight gradient (Abdelfattah et al. 2021).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/grad_norm.py``: one
forward/backward of the mean cross-entropy of the first batch, network in train mode
with BatchNorm; score = Σ over ``nn.Conv2d``/``nn.Linear`` layers of ‖∂L/∂W‖₂ (the
Frobenius norm of each layer's weight gradient, summed — not the norm of the whole
gradient vector). Higher is better.
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
    name="grad-norm",
    class_name="GradNorm",
    needs_data=True,
    needs_labels=True,
    cost="1 fwd+bwd",
    description="GradNorm: Σ_layers ‖∂L/∂W‖₂",
    options={
        "residual": residual_option(True),
    },
    aliases=("grad norm", "gradnorm", "grad_norm"),
)
SPECS = (SPEC,)


def grad_norm_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return loss_gradient_sum(model, x, y, lambda _weight, grad, dtype: grad.to(dtype).norm())


class GradNorm(SpecProxy, spec=SPEC):
    """GradNorm (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, y = first_batch(batches, self.name)
        return grad_norm_score(candidate.build(residual=self.residual), x, y)
