"""ZiCo: the inverse coefficient of variation of gradients (Li et al., ICLR 2023).

Follows the authors' released ``ZeroShotProxy/compute_zico.py`` (SLDGroup/ZiCo):

* the network is in train mode; for each of the first N batches (N = ``batches``,
  2 in the authors' search, their ``--maxbatch``), one forward and one backward of the
  mean cross-entropy;
* after each backward the ``weight.grad`` of every ``nn.Conv2d``/``nn.Linear`` is
  recorded (biases, BatchNorm parameters are not);
* per weight element: ``mean_k |G_k|`` and ``std_k G_k`` over the N recorded gradients
  (std of the *signed* values, ddof 0); elements whose std is 0 are dropped;
* per layer: ``log Σ mean/std``; a layer whose sum is 0 (no element left) is skipped;
  ZiCo is the sum over layers. Higher is better.

**Independent gradients (default).** The released code at HEAD (``b0fec65``) calls
``network.zero_grad()`` before every batch — added in commit ``d7076d5`` ("Update
compute_zico.py") — so the k-th recorded gradient is the k-th batch's own ``g_k``, as the
paper's formula has it. The repository's first commit (``bbabe28``) lacked that call, so
its k-th gradient was the running sum ``g_1 + … + g_k``; ``accumulate=True`` reproduces that
first commit (kept for comparing with results computed from it, never the default).
Batches must differ: the authors draw training views (random-resized crop + flip), and
``nascli.data`` refuses two batches holding the same images without augmentation.

**Residual links.** The authors score macro-space networks built with
``no_reslink=True`` (``evolution_search.compute_nas_score``), so ``residual=False`` is
the default here too; ``residual=True`` scores the network with its shortcuts, as it
will be trained. NAS-Bench-201 cells ignore the flag (skips are part of the cell).

**Degenerate networks.** When no layer contributes (every gradient element has zero
std, e.g. a network whose gradients are all zero) the released code returns 0.0, which
would rank a dead network above any network with a negative layer term; we return
``nan`` instead so the caller records a failed architecture.

Cost: the N forward+backward passes plus O(N·params) element-wise arithmetic on the
recorded gradients (no Python loop over elements).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.errors import ConfigError
from nascli.proxies._common import cross_entropy, weight_layers
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.device import accumulation_dtype
from nascli.proxies.spec import Option, ProxySpec, SpecProxy, residual_option

SPEC = ProxySpec(
    name="zico",
    class_name="ZiCo",
    needs_data=True,
    needs_labels=True,
    cost="2 fwd+bwd",
    description="ZiCo: Σ_layers log Σ mean|g|/std(g) over N batches (released code)",
    options={
        "batches": Option(int, 2, "number N of batches, one gradient each (N >= 2)"),
        "residual": residual_option(False),
        "accumulate": Option(
            bool,
            False,
            "keep gradients across batches (G_k = g_1+…+g_k), as the first commit bbabe28 of "
            "the released code did; default: each batch's own gradient, as the released code "
            "at HEAD",
        ),
    },
    layer_terms=True,
)
SPECS = (SPEC,)


@dataclass(frozen=True)
class LayerTerm:
    """One weight layer's contribution ``log Σ mean|G|/std(G)``."""

    name: str
    log_sum: float
    module: nn.Module


def record_gradients(
    model: nn.Module, batches: Sequence[Batch], *, accumulate: bool = False
) -> dict[str, list[torch.Tensor]]:
    """Per weight layer, the N recorded gradients (flattened copies of ``weight.grad``).

    Gradients are zeroed before each batch (the released code at HEAD); ``accumulate``
    keeps ``.grad`` across batches (its first commit). A layer that gets no gradient
    (unused) records zeros.
    """
    layers = weight_layers(model)
    model.train()
    model.zero_grad(set_to_none=True)
    recorded: dict[str, list[torch.Tensor]] = {name: [] for name, _ in layers}
    for x, y in batches:
        if not accumulate:
            model.zero_grad(set_to_none=True)
        cross_entropy(model, x, y).backward()
        for name, module in layers:
            grad = module.weight.grad
            if grad is None:
                recorded[name].append(torch.zeros_like(module.weight).reshape(-1))
            else:
                recorded[name].append(grad.detach().reshape(-1).clone())
    return recorded


def layer_terms(model: nn.Module, grads: dict[str, list[torch.Tensor]]) -> list[LayerTerm]:
    """The layers that contribute to ZiCo and their ``log Σ mean|G|/std(G)``.

    The per-layer sums stay on the gradients' device and come back in one transfer.
    """
    modules = dict(weight_layers(model))
    terms: list[LayerTerm] = []
    if not grads:
        return terms
    sums = torch.stack([inverse_cv_sum(recorded) for recorded in grads.values()])
    for name, total in zip(grads, sums.cpu().tolist(), strict=True):
        if total == 0.0:
            continue
        terms.append(LayerTerm(name, math.log(total), modules[name]))
    return terms


def inverse_cv_sum(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ over elements with std ≠ 0 of mean_k|G_k| / std_k(G_k), for N flat gradients G_k.

    Element-wise over the N tensors, without stacking them (``torch.std`` over a short
    leading dimension is ~20x slower than these passes). For N = 2, mean|G|/std(G) is
    (|G_1|+|G_2|)/|G_1−G_2| exactly, which takes the fewest passes over memory. Otherwise
    the std is numpy's two-pass formula (mean, then mean squared deviation, ddof 0), as
    the reference's ``np.std``. (Rounding differences between such formulas move a
    layer's log-sum by ~1e-6.)
    """
    n = len(grads)
    if n == 2:
        first, second = grads
        spread = (first - second).abs_()
        keep = spread != 0
        numerator = first.abs().add_(second.abs())
        ratio = numerator.div_(torch.where(keep, spread, 1.0))
        return torch.where(keep, ratio, 0.0).sum(dtype=accumulation_dtype(first.device))
    mean = grads[0].clone()
    for grad in grads[1:]:
        mean.add_(grad)
    mean.div_(n)
    variance = torch.zeros_like(mean)
    mean_abs = torch.zeros_like(mean)
    for grad in grads:
        variance.add_((grad - mean).square_())
        mean_abs.add_(grad.abs())
    std = variance.div_(n).sqrt_()
    keep = std != 0
    ratio = mean_abs.div_(n).div_(torch.where(keep, std, 1.0))
    return torch.where(keep, ratio, 0.0).sum(dtype=accumulation_dtype(mean.device))


def zico_from_terms(terms: Sequence[LayerTerm]) -> float:
    """Σ of the layer terms, ``nan`` when no layer contributes (see module docstring)."""
    if not terms:
        return math.nan
    value = math.fsum(term.log_sum for term in terms)
    return value if math.isfinite(value) else math.nan


def check_batches(batches: Sequence[Batch], wanted: int, proxy: str) -> Sequence[Batch]:
    """The first ``wanted`` batches, or ConfigError naming how many were given."""
    if len(batches) < wanted:
        raise ConfigError(
            f"proxy {proxy!r} needs {wanted} input batches, got {len(batches)} "
            f"(raise --batches or lower the proxy's 'batches' option)"
        )
    return batches[:wanted]


def check_batch_option(batches: int, proxy: str) -> int:
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 2:
        raise ConfigError(
            f"proxy {proxy!r}: option 'batches' must be an integer >= 2 (a standard "
            f"deviation over fewer than 2 gradients is 0), got {batches!r}"
        )
    return batches


class ZiCo(SpecProxy, spec=SPEC):
    """ZiCo as released by the authors (see the module docstring)."""

    def __init__(self, *, batches: int, residual: bool, accumulate: bool) -> None:
        self.batches = check_batch_option(batches, self.name)
        self.residual = bool(residual)
        self.accumulate = bool(accumulate)
        self.cost = f"{self.batches} fwd+bwd"

    @property
    def batches_needed(self) -> int:
        return self.batches

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        return self.score_layers(candidate, batches)[0]

    def score_layers(
        self, candidate: Candidate, batches: Sequence[Batch]
    ) -> tuple[float, list[float | None]]:
        """ZiCo and every weight layer's term, in ``weight_layers`` order (None: skipped).

        The layer terms are free by-products of the score; a search learns from them which
        layers pay off (``nascli.search.surrogate``).
        """
        used = check_batches(batches, self.batches, self.name)
        model = candidate.build(residual=self.residual)
        grads = record_gradients(model, used, accumulate=self.accumulate)
        terms = layer_terms(model, grads)
        by_name = {term.name: term.log_sum for term in terms}
        per_layer = [by_name.get(name) for name, _ in weight_layers(model)]
        return zico_from_terms(terms), per_layer
