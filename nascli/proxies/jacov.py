"""JacobCov: correlation of input Jacobians across a batch (Mellor et al. 2020, v1).

Follows SamsungLabs/zero-cost-nas ``foresight/pruners/measures/jacob_cov.py`` (network
in train mode with BatchNorm): x requires grad, y = f(x) for the first batch, and
``y.backward(ones)`` gives per sample J_n = ∂(Σ_k y_nk)/∂x_n, flattened; C =
``corrcoef`` of the rows J_n (N × N); with its eigenvalues λ and k = 1e-5,

    score = −Σ_i [ log(λ_i + k) + 1/(λ_i + k) ].

Higher is better (the code's sign). The reference uses ``np.linalg.eig``; C is symmetric
so we use ``eigvalsh``, which returns the same (real) eigenvalues without spurious
imaginary parts. A Jacobian row with zero variance makes C undefined: ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.proxies._common import finite_or_nan, first_batch
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="jacov",
    class_name="JacobCov",
    needs_data=True,
    needs_labels=False,
    cost="1 fwd+bwd (w.r.t. input)",
    description="JacobCov: −Σ log(λ+k)+1/(λ+k) of the input-Jacobian correlation matrix",
    options={
        "residual": residual_option(True),
    },
    aliases=("jacob_cov",),
)
SPECS = (SPEC,)


EIGEN_EPS = 1e-5


def jacobian_rows(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """(N, C·H·W) float64 array of ∂(Σ_k y_nk)/∂x_n."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    return x.grad.detach().reshape(x.shape[0], -1).cpu().double().numpy()  # one transfer


def jacov_from_jacobian(jacob: np.ndarray) -> float:
    import numpy as np

    with np.errstate(all="ignore"):
        corr = np.corrcoef(jacob)
    if not np.all(np.isfinite(corr)):
        return math.nan
    eigenvalues = np.linalg.eigvalsh(corr)
    with np.errstate(all="ignore"):
        value = -np.sum(np.log(eigenvalues + EIGEN_EPS) + 1.0 / (eigenvalues + EIGEN_EPS))
    return finite_or_nan(float(value))


def jacov_score(model: nn.Module, x: torch.Tensor) -> float:
    return jacov_from_jacobian(jacobian_rows(model, x))


class JacobCov(SpecProxy, spec=SPEC):
    """JacobCov (see the module docstring)."""

    batches_needed = 1

    def __init__(self, *, residual: bool) -> None:
        self.residual = bool(residual)

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, _ = first_batch(batches, self.name)
        return jacov_score(candidate.build(residual=self.residual), x)
