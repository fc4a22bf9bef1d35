"""SynFlow: synaptic flow of the linearised network (Tanaka et al. 2020; Abdelfattah et al. 2021).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/synflow.py`` (the
``synflow`` measure, ``bn=False``):

* BatchNorm layers are disabled (their forward becomes the identity, as zero-cost-nas's
  ``copynet(bn=False)`` does — not eval mode);
* the network is cast to float64 and every floating tensor of its ``state_dict`` is
  replaced by its absolute value |θ| (weights *and* biases);
* one forward of an all-ones input of batch 1 shaped like the data, R = Σ output, one
  backward;
* score = Σ over ``nn.Conv2d``/``nn.Linear`` weights of Σ |θ ⊙ ∂R/∂θ|. Higher is better.

No data is needed (only the input shape: the first batch's, else 3 × resolution²).
The network is scored with its residual links (``residual=True``), as zero-cost-nas
scores the network as trained; NAS-Bench-201 ignores the flag. float64 keeps products of
|θ| over depth finite for the networks nascli builds; an overflow gives ``nan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.proxies._common import disable_batchnorm, finite_or_nan, input_shape, weight_layers
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.device import float64_device
from nascli.proxies.spec import ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="synflow",
    class_name="SynFlow",
    needs_data=False,
    needs_labels=False,
    cost="1 fwd+bwd (batch 1, float64)",
    description="SynFlow: Σ|θ ⊙ ∂R/∂θ| of the |θ| network on an all-ones input, BN off",
    options={
        "residual": residual_option(True),
    },
)
SPECS = (SPEC,)


def synflow_score(model: nn.Module, shape: Sequence[int]) -> float:
    """SynFlow of ``model`` for inputs of shape ``shape`` = [C, H, W] (modifies ``model``).

    Runs on the model's device, which must compute in float64 (``float64_device``)."""
    disable_batchnorm(model)
    model.double()
    device = next(model.parameters()).device
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    model.zero_grad(set_to_none=True)
    output = model(torch.ones([1, *shape], dtype=torch.float64, device=device))
    output.sum().backward()
    total = torch.zeros((), dtype=torch.float64, device=device)
    with torch.no_grad():
        for _name, module in weight_layers(model):
            if module.weight.grad is not None:
                total += (module.weight * module.weight.grad).abs().sum()
    return finite_or_nan(float(total))


class SynFlow(SpecProxy, spec=SPEC):
    """SynFlow (see the module docstring)."""

    batches_needed = 0

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        model = candidate.build(
            residual=self.residual, device=float64_device(candidate.device)
        )  # float64 throughout: on a device without it (MPS), the CPU
        return synflow_score(model, input_shape(batches, candidate.resolution))
