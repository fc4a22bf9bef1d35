"""NASWOT: how differently a network's ReLUs partition a batch (Mellor et al., ICML 2021).

Follows the second version of the paper and its code (BayesWatch/nas-without-training,
as vendored in NASLib ``measures/nwot.py``): every ReLU's *input* is binarised
(c = input > 0, flattened per sample); the kernel accumulates, over all ReLUs,
``K += c·cᵀ + (1−c)·(1−c)ᵀ`` (the number of units on which two samples agree); the
score is ``log |det K|`` (``slogdet``). Higher is better.

ReLU modules are ``nn.ReLU`` and ``nn.ReLU6`` (the reference hooks every module whose
type name contains "ReLU"). One forward pass of the first batch, network in train mode
(as built; BatchNorm normalises with batch statistics). The original code first runs a
backward pass to skip ReLUs not on the path to the output; in nascli's networks every
ReLU is on that path, so the single forward is the same computation.

``(1−c)(1−c)ᵀ`` is computed as ``D − s_i − s_j + (c·cᵀ)_ij`` (D units, s = row sums of
c), the same integers with one matrix product instead of two. Products run in float32,
exact for counts below 2²⁴ per ReLU; the sum over ReLUs is float64.

A singular K (two samples with identical codes, or no ReLU at all) has log|det| = −∞:
the score is ``nan`` (failed architecture).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.proxies._common import finite_or_nan, first_batch, forward_with_hooks
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.device import accumulation_dtype
from nascli.proxies.spec import ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="naswot",
    class_name="NASWOT",
    needs_data=True,
    needs_labels=False,
    cost="1 fwd",
    description="NASWOT: log|det K| of binary ReLU codes over a batch",
    options={
        "residual": residual_option(True),
    },
)
SPECS = (SPEC,)


def naswot_kernel(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The (N, N) float64 kernel K summed over every ReLU of one forward of ``x``."""
    n = x.shape[0]
    dtype = accumulation_dtype(x.device)  # float64 counts (float32 on MPS: exact to 2^24)
    kernel = torch.zeros(n, n, dtype=dtype, device=x.device)

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).to(torch.float32)
        units = codes.shape[1]
        agree_on = codes @ codes.T
        ones = codes.sum(dim=1)
        agree_off = units - ones[:, None] - ones[None, :] + agree_on
        kernel.add_((agree_on + agree_off).to(dtype))

    relus = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    forward_with_hooks(model, x, relus, hook, pre=True)
    return kernel


def naswot_score(model: nn.Module, x: torch.Tensor) -> float:
    """``log |det K|`` of the ReLU-code kernel, ``nan`` when K is singular."""
    _sign, logabsdet = torch.linalg.slogdet(naswot_kernel(model, x))
    return finite_or_nan(float(logabsdet))


class NASWOT(SpecProxy, spec=SPEC):
    """NASWOT log|det K| of binary ReLU codes (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, _ = first_batch(batches, self.name)
        return naswot_score(candidate.build(residual=self.residual), x)
