"""AZ-NAS's three network scores: expressivity, progressivity, trainability (Lee & Ham, CVPR 2024).

Follows the authors' released NB201 code (cvlab-yonsei/AZ-NAS, HEAD 5e6683a,
``NB201/ZeroShotProxy/compute_az_nas_score.py`` with ``NB201/tss_general.ipynb``):

* the network is re-initialised ``kaiming_norm_fanin`` (conv/linear weights N(0, 2/fan_in),
  zero biases, BatchNorm weight 1 / bias 0) and kept in train mode;
* the input is one batch of N(0, 1) noise (AZ-NAS is not in the notebook's list of
  real-input metrics), batch 64 at 32 px in the paper's NB201 runs;
* the features F_0..F_L are the stem output and every cell output (NB201: 18 maps);
* **expressivity** Σ_l H(F_l): for each map, the (C × C) covariance of its B·H·W channel
  vectors (centred, divided by B·H·W), eigenvalues s, p = s/Σs, H = −Σ p·log(p + 1e-8);
* **progressivity** min_l (H(F_l) − H(F_{l−1}));
* **trainability**: for each consecutive pair, a Rademacher (±1) gradient g_out at F_l is
  pulled back to g_in at F_{l−1}; when the resolution halves, g_in is pixel-unshuffled to
  F_l's size; M = g_inᵀ g_out / (B·H·W) (flattened channel vectors) and, with σ its
  largest singular value, the pair scores −σ − 1/(σ + 1e-6) + 2; the mean over pairs.

**Complexity**, AZ-NAS's fourth score, is the network's FLOPs (nascli's ``flops`` proxy),
and the AZ-NAS score of a population is the rank sum Σ log(rank/N) of the four
(``nascli.proxies.ensemble``; the named ensemble ``az-nas``).

**Where nascli differs.** A pair whose pulled-back gradient equals the one pushed in
(an identity cell: g_in = g_out) scores −∞ in the released code, which ranks the network
last on trainability but still ranks it on the other scores. nascli scores such a pair
``IDENTITY_PAIR`` (−1e12): the same ranking with a finite value, so the network is not a
failed architecture. The float32 eigenvalues of a covariance can come out slightly
negative (rounding, large activations); the released code then takes the log of a
negative probability and stores −∞ for cells that train to 80–86 % on CIFAR-10; nascli
clamps eigenvalues at 0. The Rademacher draw and the noise come from generators seeded
with the candidate's seed (the released code uses the global RNG). A map whose
covariance is zero (a network without a path from the input) has undefined entropy:
``nan`` (failed), where the released code stores −∞.

The three scores come from one forward and one backward pass, so the three proxies share
one computation per candidate (the last result is memoised).
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn
else:  # torch loads on first use, so reading a spec never imports it
    from nascli.proxies.lazy_torch import nn, torch

from nascli.proxies._common import kaiming_fanin_init, proxy_input, stage_features
from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import INPUT_OPTION, ProxySpec, SpecProxy


def _az_spec(name: str, class_name: str, description: str) -> ProxySpec:
    """The three AZ-NAS scores share one pass, so they share needs, cost and options."""
    return ProxySpec(
        name=name,
        class_name=class_name,
        needs_data=False,
        needs_labels=False,
        cost="1 fwd+bwd (shared by the three AZ-NAS scores)",
        description=description,
        options={"input": INPUT_OPTION},
    )


EXPRESSIVITY = _az_spec(
    "az-expressivity",
    "AZExpressivity",
    "AZ-NAS expressivity: Σ entropy of each cell map's channel-covariance spectrum",
)
PROGRESSIVITY = _az_spec(
    "az-progressivity",
    "AZProgressivity",
    "AZ-NAS progressivity: smallest entropy gain from one cell map to the next",
)
TRAINABILITY = _az_spec(
    "az-trainability",
    "AZTrainability",
    "AZ-NAS trainability: mean −σ−1/σ+2 of the cell-to-cell gradient maps",
)
SPECS = (EXPRESSIVITY, PROGRESSIVITY, TRAINABILITY)


ENTROPY_EPS = 1e-8
IDENTITY_PAIR = -1e12


@dataclass(frozen=True)
class AZScores:
    expressivity: float
    progressivity: float
    trainability: float


def feature_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalue spectrum of the channel covariance of a map."""
    return float(entropy_tensor(feature))


def entropy_tensor(feature: torch.Tensor) -> torch.Tensor:
    """``feature_entropy`` as a 0-dim tensor on the map's device (no transfer)."""
    b, c, h, w = feature.shape
    flat = feature.detach().permute(0, 2, 3, 1).reshape(b * h * w, c)
    flat = flat - flat.mean(dim=0, keepdim=True)
    sigma = flat.T @ flat / flat.shape[0]
    s = torch.linalg.eigvalsh(sigma).clamp_min(0.0)  # rounding can make a few negative
    p = s / s.sum()
    return -(p * torch.log(p + ENTROPY_EPS)).sum()


def pair_trainability(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float:
    """−σ − 1/(σ + 1e-6) + 2 for the pulled-back Rademacher gradient between two maps."""
    sigma, identical = pair_tensors(f_in, f_out, generator)
    return IDENTITY_PAIR if bool(identical) else trainability_of(float(sigma))


def trainability_of(sigma: float) -> float:
    """−σ − 1/(σ + 1e-6) + 2, in Python floats (float64) as the released code does."""
    return -sigma - 1.0 / (sigma + 1e-6) + 2.0


def pair_tensors(
    f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ, whether g_in is g_out) as 0-dim tensors on the maps' device.

    The signs come from a CPU generator (the same on every device); nothing is transferred
    per pair. When g_in is g_out (an identity pair) the caller uses ``IDENTITY_PAIR``.
    """
    signs = torch.randint(0, 2, f_out.shape, generator=generator)
    g_out = signs.to(device=f_out.device, dtype=f_out.dtype) * 2 - 1
    (g_in,) = torch.autograd.grad(
        f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True
    )
    if g_in is None:  # f_out does not depend on f_in
        g_in = torch.zeros_like(f_in)
    if g_in.shape == g_out.shape:
        identical = (g_in == g_out).all()
    else:
        identical = torch.zeros((), dtype=torch.bool, device=g_out.device)
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    bo, co, ho, wo = g_out.shape
    rows_out = g_out.permute(0, 2, 3, 1).reshape(bo * ho * wo, co)
    rows_in = g_in.permute(0, 2, 3, 1).reshape(bo * ho * wo, -1)
    sigma = torch.linalg.svdvals(rows_in.T @ rows_out / (bo * ho * wo)).max()
    return sigma, identical


def az_scores(model: nn.Module, x: torch.Tensor, seed: int = 0) -> AZScores:
    """Expressivity, progressivity and trainability of ``model`` on input ``x``."""
    model.train()
    features = stage_features(model, x)
    entropies = torch.stack([entropy_tensor(f) for f in features]).cpu().tolist()
    expressivity = math.fsum(entropies)
    steps = [b - a for a, b in itertools.pairwise(entropies)]
    progressivity = min(steps) if all(math.isfinite(d) for d in steps) else math.nan
    generator = torch.Generator().manual_seed(seed)
    pair_values = [
        pair_tensors(features[i - 1], features[i], generator)
        for i in reversed(range(1, len(features)))
    ]
    values = torch.stack([v for v, _ in pair_values]).cpu().tolist()  # one transfer
    identical = torch.stack([same for _, same in pair_values]).cpu().tolist()
    pairs = [
        IDENTITY_PAIR if same else trainability_of(v)
        for v, same in zip(values, identical, strict=True)
    ]
    trainability = math.fsum(pairs) / len(pairs)
    return AZScores(expressivity, progressivity, trainability)


class LastScores:
    """The AZ scores of the last candidate, which the three AZ proxies read in turn.

    An entry is the candidate (its space object too: a reloaded space file is another
    space), the input kind, and the first input tensor held by a *weak* reference: an
    ``id()`` can be handed to a new tensor once the old one is collected, a reference
    cannot, and the entry is dropped when that tensor goes, so the memo never outlives
    the batches it was computed on (nor keeps them alive).
    """

    def __init__(self) -> None:
        self._entry: tuple[Candidate, str, weakref.ref[Any] | None, AZScores] | None = None

    def get(self, candidate: Candidate, batches: Sequence[Batch], inputs: str) -> AZScores | None:
        if self._entry is None:
            return None
        known, known_inputs, batch_ref, scores = self._entry
        first = batches[0][0] if batches else None
        if batch_ref is None:
            same_batch = first is None
        else:  # a collected tensor (dead reference) matches nothing
            same_batch = first is not None and batch_ref() is first
        same = known == candidate and known.space is candidate.space and known_inputs == inputs
        return scores if same and same_batch else None

    def put(
        self, candidate: Candidate, batches: Sequence[Batch], inputs: str, scores: AZScores
    ) -> None:
        batch_ref = weakref.ref(batches[0][0], self._drop) if batches else None
        self._entry = (candidate, inputs, batch_ref, scores)

    def clear(self) -> None:
        self._entry = None

    def __len__(self) -> int:
        """Entries held: 0 or 1."""
        return 0 if self._entry is None else 1

    def _drop(self, dead: weakref.ref[Any]) -> None:
        if self._entry is not None and self._entry[2] is dead:
            self._entry = None


_last = LastScores()


def clear_memo() -> None:
    """Forget the last candidate's scores (a timing run measures each AZ proxy's own pass)."""
    _last.clear()


def candidate_scores(candidate: Candidate, batches: Sequence[Batch], inputs: str) -> AZScores:
    """AZ scores of a candidate (released settings), memoised for the last candidate."""
    scores = _last.get(candidate, batches, inputs)
    if scores is None:
        model = candidate.build(residual=True, init=kaiming_fanin_init)
        x = proxy_input(batches, candidate.resolution, candidate.seed, inputs, candidate.device)
        scores = az_scores(model, x, candidate.seed)
        _last.put(candidate, batches, inputs, scores)
    return scores


class _AZComponent(SpecProxy):
    field: str = ""
    batches_needed = 1

    def __init__(self, *, input: str) -> None:
        self.input = input

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        value = getattr(candidate_scores(candidate, batches, self.input), self.field)
        return value if math.isfinite(value) else math.nan


class AZExpressivity(_AZComponent, spec=EXPRESSIVITY):
    """AZ-NAS expressivity: Σ over cell maps of the channel-covariance spectrum entropy."""

    field = "expressivity"


class AZProgressivity(_AZComponent, spec=PROGRESSIVITY):
    """AZ-NAS progressivity: the smallest entropy increase from one cell map to the next."""

    field = "progressivity"


class AZTrainability(_AZComponent, spec=TRAINABILITY):
    """AZ-NAS trainability: mean over cell pairs of −σ − 1/σ + 2 of the gradient map."""

    field = "trainability"
