"""AZ-NAS, VKDNW, MeCo and SWAP against values worked out by hand on tiny networks.

Each expected value is computed here from the formula with plain numpy algebra on
weights fixed in the test (closed-form eigenvalues, hand-written gradients), never by
calling the proxy's own helpers for the same quantity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from nascli.proxies.base import Candidate


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _conv1x1(weight: np.ndarray) -> nn.Conv2d:
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(weight, dtype=torch.float32)[:, :, None, None])
    return conv


def _x(shape: tuple[int, ...], phase: float = 0.0) -> np.ndarray:
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 1.3 + phase) + 0.3 * np.cos(np.arange(n) * 0.7)).reshape(shape)


def _entropy_2x2(cov: np.ndarray) -> float:
    """Entropy of the normalised eigenvalues of a symmetric 2×2 matrix (closed form)."""
    a, b, c = cov[0, 0], cov[0, 1], cov[1, 1]
    root = math.sqrt(((a - c) / 2) ** 2 + b**2)
    lam = np.array([(a + c) / 2 - root, (a + c) / 2 + root])
    p = lam / lam.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def _channel_cov(feature: np.ndarray) -> np.ndarray:
    rows = feature.transpose(0, 2, 3, 1).reshape(-1, feature.shape[1])
    rows = rows - rows.mean(axis=0)
    return rows.T @ rows / len(rows)


# ----------------------------------------------------------------- AZ-NAS
A1 = np.array([[0.9, -0.4, 0.3], [0.2, 0.7, -0.5]])  # stem 3 → 2
A2 = np.array([[1.1, 0.4], [-0.3, 0.8]])  # linear "cell" 2 → 2


class _Linear2Stage(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(_conv1x1(A1), _conv1x1(A2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def test_az_expressivity_progressivity_trainability_by_hand() -> None:
    from nascli.proxies.az_nas import az_scores

    x = _x((3, 3, 2, 2))
    f0 = np.einsum("oc,nchw->nohw", A1, x)
    f1 = np.einsum("oc,nchw->nohw", A2, f0)
    h0, h1 = _entropy_2x2(_channel_cov(f0)), _entropy_2x2(_channel_cov(f1))
    # trainability: the Rademacher draw the proxy makes with its seeded generator
    g_out = torch.randint(0, 2, (3, 2, 2, 2), generator=torch.Generator().manual_seed(5))
    g_out = (g_out.double() * 2 - 1).numpy()
    g_in = np.einsum("oc,nohw->nchw", A2, g_out)  # a 1×1 conv pulls back by Wᵀ
    rows_in = g_in.transpose(0, 2, 3, 1).reshape(-1, 2)
    rows_out = g_out.transpose(0, 2, 3, 1).reshape(-1, 2)
    sigma = np.linalg.svd(rows_in.T @ rows_out / len(rows_out), compute_uv=False).max()

    scores = az_scores(_Linear2Stage(), torch.tensor(x, dtype=torch.float32), seed=5)
    assert scores.expressivity == pytest.approx(h0 + h1, rel=1e-4)
    assert scores.progressivity == pytest.approx(h1 - h0, abs=1e-4)
    assert scores.trainability == pytest.approx(-sigma - 1 / (sigma + 1e-6) + 2, rel=1e-4)


def test_az_identity_pair_ranks_last_but_stays_finite() -> None:
    from nascli.proxies.az_nas import IDENTITY_PAIR, az_scores

    class _WithIdentity(_Linear2Stage):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(_conv1x1(A1), nn.Identity())

    scores = az_scores(_WithIdentity(), torch.tensor(_x((3, 3, 2, 2)), dtype=torch.float32))
    assert scores.trainability == IDENTITY_PAIR and scores.progressivity == pytest.approx(0)


def test_az_pixel_unshuffle_on_stride_two() -> None:
    """A stride-2 1×1 conv: g_in lives on the even pixels only; unshuffled it is Wᵀg_out."""
    from nascli.proxies.az_nas import pair_trainability

    f_in = torch.tensor(_x((2, 2, 4, 4)), dtype=torch.float32, requires_grad=True)
    conv = _conv1x1(A2)
    conv.stride = (2, 2)
    f_out = conv(f_in)
    g_out = torch.randint(0, 2, (2, 2, 2, 2), generator=torch.Generator().manual_seed(1))
    g_out = (g_out.double() * 2 - 1).numpy()
    g_in = np.zeros((2, 8, 2, 2))  # pixel-unshuffle: channel c·4 + (dy·2 + dx); only dy=dx=0
    g_in[:, [0, 4]] = np.einsum("oc,nohw->nchw", A2, g_out)
    rows_in = g_in.transpose(0, 2, 3, 1).reshape(-1, 8)
    rows_out = g_out.transpose(0, 2, 3, 1).reshape(-1, 2)
    sigma = np.linalg.svd(rows_in.T @ rows_out / 8, compute_uv=False).max()
    value = pair_trainability(f_in, f_out, torch.Generator().manual_seed(1))
    assert value == pytest.approx(-sigma - 1 / (sigma + 1e-6) + 2, rel=1e-4)


# ----------------------------------------------------------------- VKDNW
V1 = np.array([[0.8, -0.5, 0.3], [0.4, 0.6, -0.9]])
B1 = np.array([0.1, -0.2])
V2 = np.array([[0.7, -0.6], [-0.4, 0.9]])
B2 = np.array([0.05, -0.1])


class _MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 2), nn.Linear(2, 2)
        with torch.no_grad():
            for layer, w, b in ((self.fc1, V1, B1), (self.fc2, V2, B2)):
                layer.weight.copy_(torch.tensor(w, dtype=torch.float32))
                layer.bias.copy_(torch.tensor(b, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def test_vkdnw_two_class_fisher_by_hand() -> None:
    """C = 2: L = √(p₀p₁)·[[1, 0], [−1, 0]], so F = mean_n 2·p₀p₁·j₀j₀ᵀ (j₀ = ∂z₀/∂θ)."""
    from nascli.proxies.vkdnw import vkdnw_parts, vkdnw_value

    x = _x((5, 3), phase=0.4)
    a = x @ V1.T + B1
    h = np.maximum(a, 0)
    z = h @ V2.T + B2
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) * 0.95 + 0.025
    # θ = (W1[0,0], b1[0], W2[0,0], b2[0]); ∂z₀/∂θ per sample
    fires = (a[:, 0] > 0).astype(float)
    j0 = np.stack([V2[0, 0] * fires * x[:, 0], V2[0, 0] * fires, h[:, 0], np.ones(5)], axis=1)
    fisher = sum(2 * p[n, 0] * p[n, 1] * np.outer(j0[n], j0[n]) for n in range(5)) / 5
    lam = np.linalg.eigvalsh(fisher)
    q = np.quantile(lam, np.arange(1, 10) / 10)
    t = q / (np.abs(q).sum() + 1e-10)
    entropy = -(t * np.log(t + 1e-10)).sum()

    dim, value = vkdnw_parts(_MLP(), torch.tensor(x, dtype=torch.float32), limit=128)
    assert dim == 4
    assert value == pytest.approx(entropy, abs=1e-4)
    assert vkdnw_value(dim, value) == pytest.approx(4 + entropy / (1 + math.log(9)))


def test_vkdnw_rows_equal_per_sample_jacobians_for_conv_and_batchnorm() -> None:
    """Padded, strided 3×3 conv + BN (eval) + linear head, against ``torch.func`` per sample."""
    from torch.func import functional_call, jacrev, vmap

    from nascli.proxies.vkdnw import cholesky_factor, fisher_rows

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=True), nn.BatchNorm2d(3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4),
    )  # fmt: skip
    with torch.no_grad():
        model[1].running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
        model[1].running_var.copy_(torch.tensor([1.5, 0.7, 2.0]))
    model.eval()
    x = torch.randn(3, 2, 5, 5)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def logits_of(first: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        local = dict(params)
        for i, key in enumerate(params):
            flat = params[key].reshape(-1).clone()
            flat[0] = first[i]
            local[key] = flat.reshape(params[key].shape)
        return functional_call(model, (local, buffers), (sample[None],))[0]

    first = torch.stack([v.reshape(-1)[0] for v in params.values()])
    jac = vmap(jacrev(logits_of), in_dims=(None, 0))(first, x)  # (B, C, P)
    expected = (cholesky_factor(model(x)).float() @ jac).reshape(-1, len(params))
    assert torch.allclose(fisher_rows(model, x, 128).float(), expected, atol=1e-5)


def test_cholesky_factor_reproduces_the_softmax_covariance() -> None:
    from nascli.proxies.vkdnw import cholesky_factor

    logits = torch.tensor([[0.3, -1.2, 0.8, 0.1], [2.0, 0.0, -0.5, 1.0]])
    p = torch.softmax(logits.double(), dim=1) * 0.95 + 0.05 / 4
    factor = cholesky_factor(logits)
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    assert torch.allclose(factor @ factor.transpose(1, 2), cov, atol=1e-12)
    assert torch.all(torch.triu(factor, diagonal=1) == 0)


# ----------------------------------------------------------------- MeCo
def test_meco_two_channels_is_one_minus_abs_correlation_per_hooked_module() -> None:
    from nascli.proxies.meco import meco_score

    weight = np.array([[0.6, -0.2, 0.9], [0.3, 0.8, -0.4]])
    model = nn.Sequential(_conv1x1(weight))  # hooks fire on the conv and the Sequential
    x = _x((1, 3, 3, 3), phase=0.2)
    out = np.einsum("oc,nchw->nohw", weight, x)[0].reshape(2, -1)
    r = np.corrcoef(out)[0, 1]
    assert meco_score(model, torch.tensor(x, dtype=torch.float32)) == pytest.approx(
        2 * (1 - abs(r)), rel=1e-5
    )


def test_meco_ignores_logits_and_constant_channels() -> None:
    from nascli.proxies.meco import min_correlation_eigenvalue

    constant = torch.ones(2, 4)  # nan correlations become 0 → eigenvalues 0
    assert min_correlation_eigenvalue(constant) == pytest.approx(0.0)
    assert min_correlation_eigenvalue(torch.tensor([1.0, 2.0, 3.0])) == pytest.approx(0.0)


# ----------------------------------------------------------------- SWAP
def test_swap_counts_distinct_firing_patterns() -> None:
    from nascli.proxies.swap import activation_patterns, size_factor

    weight = np.array([[1.0, -1.0], [0.5, 0.5], [-1.0, 0.0]])
    model = nn.Sequential(_conv1x1(weight), nn.ReLU())
    x = _x((4, 2, 1, 2), phase=0.9)
    pre = np.einsum("oc,nchw->nohw", weight, x)
    neurons = (pre > 0).reshape(4, -1).T  # one row per neuron: its pattern over samples
    expected = len({tuple(row) for row in neurons.tolist()})
    assert activation_patterns(model, torch.tensor(x, dtype=torch.float32)) == expected
    thousands = sum(p.numel() for p in model.parameters()) / 1e3
    assert size_factor(model, 0.1, 0.02) == pytest.approx(
        math.exp(-((thousands - 0.1) ** 2) / 0.02)
    )
    assert size_factor(model, 0.0, 1.0) == 1.0


def test_swap_refuses_more_samples_than_bits() -> None:
    from nascli.proxies.swap import activation_patterns

    model = nn.Sequential(_conv1x1(np.ones((1, 3))), nn.ReLU())
    with pytest.raises(ValueError, match="at most 63"):
        activation_patterns(model, torch.zeros(64, 3, 1, 1))


# ----------------------------------------------------------------- on real cells
CELL = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.mark.parametrize(
    "name", ["az-expressivity", "az-progressivity", "az-trainability", "vkdnw", "meco", "swap"]
)
def test_literature_proxies_are_seeded_and_finite_on_a_cell(name: str) -> None:
    from nascli.proxies import get_proxy
    from nascli.spaces import get_space

    space = get_space("nb201")
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(32, 3, 16, 16, generator=gen), torch.randint(0, 10, (32,)))]
    cell = space.parse(CELL)
    first = get_proxy(name).score(Candidate(cell, space, 16, 1), batches)
    assert math.isfinite(first)
    assert get_proxy(name).score(Candidate(cell, space, 16, 1), batches) == first
    assert get_proxy(name).score(Candidate(cell, space, 16, 2), batches) != first


# ----------------------------------------------------------------- named ensembles
def test_named_ensembles_expand_to_registered_members() -> None:
    from nascli.proxies import REGISTRY
    from nascli.proxies.ensemble import NAMED_ENSEMBLES, parse_proxy_list

    for name, entry in NAMED_ENSEMBLES.items():
        (item,) = parse_proxy_list(name)
        assert item.name == name and item.components == entry.components
        assert all(member in REGISTRY for member in entry.components), name
    (joined,) = parse_proxy_list("az-nas+meco")
    assert joined.components[-1] == "meco" and joined.name == "+".join(joined.components)
    with pytest.raises(Exception, match="repeats a proxy"):
        parse_proxy_list("az-nas+vkdnw-agg")


def test_az_entropy_of_a_rank_one_map_is_zero_and_finite() -> None:
    """Two identical large channels: one eigenvalue carries everything (rounding clamped)."""
    from nascli.proxies.az_nas import feature_entropy

    base = torch.tensor(_x((4, 1, 3, 3)), dtype=torch.float32) * 1e3
    assert feature_entropy(torch.cat([base, base], dim=1)) == pytest.approx(0.0, abs=1e-6)
