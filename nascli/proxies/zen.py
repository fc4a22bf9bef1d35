"""Zen-score (Lin et al., ICCV 2021): expressivity of a network at Gaussian init.

Follows idstcv/ZenNAS ``ZeroShotProxy/compute_zen_score.py`` as its evolution search
calls it (``repeat=1``, ``mixup_gamma=1e-2``, the network built with ``no_reslink=True``):

* every ``nn.Conv2d``/``nn.Linear`` weight is redrawn from N(0, 1) (biases 0),
  BatchNorm weight 1 and bias 0;
* x and ε are N(0, 1) batches shaped like the input; in train mode and without
  gradients, f = ``forward_features`` (the map before global pooling);
* Δ = mean over the batch of Σ_{c,h,w} |f(x) − f(x + γε)| (the code sums over the
  feature dimensions, then averages over samples — the paper writes an expectation of
  a norm, we follow the code);
* Zen = log Δ + Σ_BN log √(mean_c running_var), the running variances being those the
  two train-mode forwards left in each ``nn.BatchNorm2d`` (PyTorch's momentum 0.1 from a
  fresh running_var of 1, exactly as in the reference). Higher is better.

Residual links are removed by default (``residual=False``, as Zen-NAS scores networks);
NAS-Bench-201 cells ignore the flag. The weights, x and ε come from a
``torch.Generator`` seeded with the candidate's seed: the score is deterministic and
needs no data (only the batch size and input shape: from the first batch when given,
else ``batch_size``/the candidate's resolution). With ``repeat > 1`` the scores of
``repeat`` fresh draws are averaged (each on a freshly built network, whereas the
reference keeps the running statistics across repeats).

A network whose features do not change under the perturbation (Δ = 0) has log Δ = −∞:
the score is ``nan`` (failed architecture).
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

from nascli.errors import ConfigError
from nascli.proxies._common import finite_or_nan, weight_layer_types
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import Option, ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="zen",
    class_name="Zen",
    needs_data=False,
    needs_labels=False,
    cost="2 fwd",
    description="Zen-score: log E|f(x)−f(x+γε)| + Σ log √BN var, Gaussian weights and input",
    options={
        "mixup_gamma": Option(float, 0.01, "perturbation scale γ"),
        "batch_size": Option(int, None, "Gaussian batch size (default: the data's)"),
        "repeat": Option(int, 1, "average over this many Gaussian draws"),
        "residual": residual_option(False),
    },
    aliases=("zen-score", "zennas"),
)
SPECS = (SPEC,)


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """Zen-NAS init: conv/linear weights N(0,1), biases 0; BN/GN weight 1, bias 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, weight_layer_types()):
                module.weight.normal_(0.0, 1.0, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()


def zen_score(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, gamma: float) -> float:
    """Zen-score of ``model`` (weights already set) for input ``x`` and perturbation ``noise``."""
    model.train()
    with torch.no_grad():
        out = model.forward_features(x)
        mixed = model.forward_features(x + gamma * noise)
        delta_t = (out - mixed).abs().flatten(1).sum(dim=1).mean()
        bn_vars = [m.running_var.mean() for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        values = torch.stack([delta_t.to(out.dtype), *(v.to(out.dtype) for v in bn_vars)])
        delta, *variances = values.cpu().tolist()  # one transfer for every layer
    if not delta > 0 or not all(v > 0 for v in variances):
        return math.nan
    log_bn = math.fsum(math.log(math.sqrt(v)) for v in variances)
    return finite_or_nan(math.log(delta) + log_bn)


class Zen(SpecProxy, spec=SPEC):
    """Zen-NAS's Zen-score (see the module docstring)."""

    def __init__(
        self, *, mixup_gamma: float, batch_size: int | None, repeat: int, residual: bool
    ) -> None:
        if not isinstance(mixup_gamma, int | float) or not mixup_gamma > 0:
            raise ConfigError(f"proxy 'zen': mixup_gamma must be > 0, got {mixup_gamma!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 2):
            raise ConfigError(
                f"proxy 'zen': batch_size must be an integer >= 2, got {batch_size!r}"
            )
        if not isinstance(repeat, int) or repeat < 1:
            raise ConfigError(f"proxy 'zen': repeat must be an integer >= 1, got {repeat!r}")
        self.mixup_gamma = float(mixup_gamma)
        self.batch_size = batch_size
        self.repeat = repeat
        self.residual = bool(residual)
        self.cost = f"{2 * repeat} fwd"

    batches_needed = 0

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        if batches:
            shape = list(batches[0][0].shape)
        else:
            shape = [16, 3, candidate.resolution, candidate.resolution]
        if self.batch_size is not None:
            shape[0] = self.batch_size
        generator = torch.Generator().manual_seed(candidate.seed)  # on the CPU: same draws
        scores = []  # on every device
        for _ in range(self.repeat):
            model = candidate.build(
                residual=self.residual, init=lambda m: gaussian_init(m, generator)
            )
            x = torch.randn(shape, generator=generator).to(candidate.device)
            noise = torch.randn(shape, generator=generator).to(candidate.device)
            scores.append(zen_score(model, x, noise, self.mixup_gamma))
        return finite_or_nan(math.fsum(scores) / len(scores))
