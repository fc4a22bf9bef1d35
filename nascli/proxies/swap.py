"""SWAP-Score: distinct sample-wise activation patterns (Peng et al., ICLR 2024), regularised.

Follows the authors' released code (pym1024/SWAP, HEAD f6049f7, ``src/metrics/swap.py``
with ``correlation.py`` and ``src/utils/utilities.py``):

* weights re-drawn N(0, 1) for every Conv2d and Linear (biases 0), BatchNorm weight 1 and
  bias 0 (``network_weight_gaussian_init``); the network in train mode;
* the input is a batch of real training images (``--input_samples 16``);
* a forward hook on every ``nn.ReLU`` whose input is a 4-D map records its output; the
  outputs are flattened per sample and concatenated into A (samples × neurons);
* SWAP = the number of distinct rows of sign(A)ᵀ, i.e. of distinct activation patterns a
  neuron shows across the samples (ReLU outputs are ≥ 0, so a pattern is a bit string);
* regularised SWAP multiplies it by exp(−(Θ − μ)²/σ), Θ = number of parameters in
  thousands (``count_parameters``), the paper's model-size control;
* the released correlation script averages the score over ``--repeats 32`` re-draws.

**Where nascli differs.** Each neuron's pattern is packed into one 64-bit integer (bit n =
sample n fires), so counting distinct patterns is a 1-D ``unique`` instead of a
``unique(dim=0)`` over a neurons × samples matrix (same count, far less memory); hence at
most 63 samples. ``repeats`` defaults to 1 rather than 32 to keep the cost at one
forward pass of 16 images (the draws are seeded by the candidate's seed). The released code does not
ship the μ and σ of its NAS-Bench-201 runs; the defaults here (μ = 1,500 K, the upper end
of NB201's parameter counts, σ = 1,000,000 K², a soft preference for larger cells) were
fixed before measuring and are options; μ ≤ 0 switches the regularisation off.
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

from nascli.proxies._common import (
    batchnorm_types,
    finite_or_nan,
    first_batch,
    forward_with_hooks,
    weight_layer_types,
)
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import Option, ProxySpec, SpecProxy

SPEC = ProxySpec(
    name="swap",
    class_name="SWAP",
    needs_data=True,
    needs_labels=False,
    cost="repeats × 1 fwd (16 images)",
    description="SWAP: distinct ReLU patterns over 16 images × exp(−(kParams−μ)²/σ)",
    options={
        "samples": Option(int, 16, "images per pattern (at most 63)"),
        "repeats": Option(int, 1, "average over N(0,1) weight draws (released: 32)"),
        "mu": Option(float, 1500.0, "μ of the size regulariser, thousands of params"),
        "sigma": Option(float, 1e6, "σ of the size regulariser (μ <= 0: off)"),
    },
)
SPECS = (SPEC,)


MAX_SAMPLES = 63


def gaussian_init(model: nn.Module) -> None:
    """SWAP's ``network_weight_gaussian_init`` (weights N(0, 1), biases 0, BN 1/0)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, weight_layer_types()):
                nn.init.normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, batchnorm_types()) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)


def activation_patterns(model: nn.Module, x: torch.Tensor) -> int:
    """Number of distinct per-neuron firing patterns over the samples of ``x``."""
    n = x.shape[0]
    if n > MAX_SAMPLES:
        raise ValueError(f"SWAP packs patterns into 64-bit integers: at most {MAX_SAMPLES} samples")
    weights = (2 ** torch.arange(n, dtype=torch.int64, device=x.device)).view(n, 1)
    codes: list[torch.Tensor] = []

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            fired = (output.detach().reshape(n, -1) > 0).to(torch.int64)
            codes.append((fired * weights).sum(dim=0))

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    forward_with_hooks(model, x, relus, hook)
    if not codes:
        return 0
    return int(torch.unique(torch.cat(codes)).numel())


def size_factor(model: nn.Module, mu: float, sigma: float) -> float:
    """exp(−(Θ − μ)²/σ), Θ in thousands of parameters; 1 when μ ≤ 0 (no regularisation)."""
    if mu <= 0:
        return 1.0
    thousands = sum(p.numel() for p in model.parameters()) / 1e3
    return math.exp(-((thousands - mu) ** 2) / sigma)


class SWAP(SpecProxy, spec=SPEC):
    """Regularised SWAP-Score (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, samples: int, repeats: int, mu: float, sigma: float) -> None:
        self.samples = int(samples)
        self.repeats = int(repeats)
        self.mu = float(mu)
        self.sigma = float(sigma)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, _ = first_batch(batches, self.name)
        x = x[: self.samples]
        model = candidate.build(residual=True, device="cpu")  # re-initialised on the CPU,
        on_device = candidate.build(residual=True)  # copied: the same draws on every device
        counts = []
        for _ in range(max(1, self.repeats)):
            gaussian_init(model)
            on_device.load_state_dict(model.state_dict())
            counts.append(activation_patterns(on_device, x))
        mean = math.fsum(counts) / len(counts)
        return finite_or_nan(mean * size_factor(model, self.mu, self.sigma))
