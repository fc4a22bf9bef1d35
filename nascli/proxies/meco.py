"""MeCo: minimum eigenvalue of feature-map correlation (Jiang et al., NeurIPS 2023).

Follows the authors' released NB201 script (HamsterMimi/MeCo, HEAD 0d830dd,
``correlation/NAS_Bench_201.py``, measure ``meco``):

* the network keeps PyTorch's default initialisation (``--init_w_type none``) and its
  default train mode;
* the input is a single real training image (``--batch_size 1``);
* a forward hook on **every** module (containers included) takes the module's output for
  the first sample, reshaped to (channels, positions); its (channels × channels) Pearson
  correlation matrix, with nan/inf entries set to 0, contributes its smallest eigenvalue;
  a module whose output is not a feature map (a vector of logits) gives a matrix of
  zeros, hence 0;
* MeCo = Σ over modules of those minimum eigenvalues (non-finite ones dropped).

**Where nascli differs.** The correlation matrix is symmetric, so ``eigvalsh`` replaces
``eig`` (same eigenvalues, real by construction). The module tree is nascli's, not the
benchmark's model class: the NB201 network wraps its body in one extra ``nn.Sequential``
(``features``), whose output is the last cell's, so that map is counted once more than in
the released code; every other feature map is hooked the same number of times. The image
is the first image of the first input batch.
"""

from __future__ import annotations

import math
import warnings
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
from nascli.proxies.spec import ProxySpec, SpecProxy

SPEC = ProxySpec(
    name="meco",
    class_name="MeCo",
    needs_data=True,
    needs_labels=False,
    cost="1 fwd (1 image)",
    description="MeCo: Σ over modules of the min eigenvalue of the channel correlation (1 image)",
)
SPECS = (SPEC,)


def min_correlation_eigenvalue(feature: torch.Tensor) -> float:
    """Smallest eigenvalue of the channel correlation of one sample's output (C, ...)."""
    return float(min_eigenvalue_tensor(feature))


def min_eigenvalue_tensor(feature: torch.Tensor) -> torch.Tensor:
    """``min_correlation_eigenvalue`` as a 0-dim tensor on the feature's device."""
    rows = feature.detach().reshape(feature.shape[0], -1).to(accumulation_dtype(feature.device))
    with warnings.catch_warnings():  # one position: no variance, corrcoef warns and gives nan
        warnings.simplefilter("ignore", UserWarning)
        corr = torch.corrcoef(rows)
    corr = torch.where(torch.isfinite(corr), corr, torch.zeros_like(corr))
    return torch.linalg.eigvalsh(corr)[0]


def meco_score(model: nn.Module, x: torch.Tensor) -> float:
    """Σ over modules of the minimum correlation eigenvalue of their output on ``x[0]``."""
    values: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
        first = output[0] if isinstance(output, (tuple, list)) else output
        if not isinstance(first, torch.Tensor):
            return
        sample = first[0]
        if sample.dim() == 0:
            return
        values.append(min_eigenvalue_tensor(sample))

    forward_with_hooks(model, x, list(model.modules()), hook)
    if not values:
        return 0.0
    stacked = torch.stack(values).cpu().tolist()  # one transfer for every module
    return math.fsum(v for v in stacked if math.isfinite(v))


class MeCo(SpecProxy, spec=SPEC):
    """MeCo (see the module docstring)."""

    batches_needed = 1

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        x, _ = first_batch(batches, self.name)
        return finite_or_nan(meco_score(candidate.build(residual=True), x[:1]))
