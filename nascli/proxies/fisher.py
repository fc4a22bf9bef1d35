"""Fisher: channel saliency from activations × gradients (Theis et al. 2018).

As scored by Abdelfattah et al. 2021 (zero-cost-nas).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/fisher.py`` (network in
train mode with BatchNorm, one forward/backward of the mean cross-entropy of the first
batch). For every ``nn.Conv2d``/``nn.Linear`` layer with output a (the layer's own
output, before BatchNorm/activation) and gradient ∂L/∂a:

* per sample n and output channel k: g_nk = Σ_{h,w} a_nkhw · ∂L/∂a_nkhw;
* per channel: F_k = ½ · mean_n g_nk².

zero-cost-nas then broadcasts F_k over the channel's weights (``reshape_elements``:
every element of ``weight[k]`` gets F_k) and sums every element, so a layer contributes
Σ_k F_k · numel(weight[k]) = Σ_k F_k · (C_in/groups · k_h · k_w). We follow the code
(the paper's Fisher sum is Σ_k F_k without the factor). Higher is better.
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
    name="fisher",
    class_name="Fisher",
    needs_data=True,
    needs_labels=True,
    cost="1 fwd+bwd",
    description="Fisher: Σ channel saliency ½·mean(Σ act·grad)² (zero-cost-nas)",
    options={
        "residual": residual_option(True),
    },
)
SPECS = (SPEC,)


def fisher_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    totals: list[torch.Tensor] = []
    handles = []
    dtype = accumulation_dtype(x.device)

    def forward_hook(module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
        act = out.detach()
        per_channel_elements = module.weight[0].numel()

        def grad_hook(grad: torch.Tensor) -> None:
            g = act * grad.detach()
            if g.dim() > 2:
                g = g.flatten(2).sum(dim=2)
            fisher = g.to(dtype).pow(2).mean(dim=0).mul(0.5)
            totals.append(fisher.sum() * per_channel_elements)

        if out.requires_grad:
            out.register_hook(grad_hook)

    for _name, module in weight_layers(model):
        handles.append(module.register_forward_hook(forward_hook))
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        cross_entropy(model, x, y).backward()
    finally:
        for handle in handles:
            handle.remove()
    return finite_or_nan(float(sum(totals, torch.zeros((), dtype=dtype, device=x.device))))


class Fisher(SpecProxy, spec=SPEC):
    """Fisher (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, y = first_batch(batches, self.name)
        return fisher_score(candidate.build(residual=self.residual), x, y)
