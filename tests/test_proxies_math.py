"""Every proxy against a value derived independently on a tiny network with fixed weights.

The tiny network is Conv2d 1×1 (3→4, no bias) → [BatchNorm] → ReLU → global average pool
→ Linear (4→3, no bias) on 2×2 inputs. Its forward and backward passes are written
out by hand below with numpy (float64), so each expected value comes from the
proxy's formula applied to hand-derived gradients, never from the proxy code itself.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nascli.errors import ConfigError
from nascli.proxies import REGISTRY, get_proxy, list_proxies, proxy_info
from nascli.proxies.base import Candidate, Proxy

from .conftest import REPO

P = 4  # pixels of the 2×2 input


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One intra-op thread: on a loaded 2-core machine two threads spin and run 10-40x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


W1 = np.array(
    [[0.5, -0.3, 0.8], [-0.6, 0.9, 0.2], [0.7, 0.4, -0.5], [-0.4, -0.7, -0.2]]
)  # row 3 is negative: with positive inputs that unit never fires (its gradients are 0)
W2 = np.array([[0.3, -0.8, 0.5, 0.6], [-0.2, 0.4, 0.9, -0.5], [0.7, 0.1, -0.6, 0.3]])
Y1 = np.array([0, 1, 2, 1])
Y2 = np.array([2, 0, 1, 1])


def _inputs(phase: float) -> np.ndarray:
    """Positive (4, 3, 2, 2) inputs from a fixed formula."""
    return 0.6 + 0.5 * np.sin(np.arange(48) * 0.7 + phase).reshape(4, 3, 2, 2)


X1, X2 = _inputs(0.3), _inputs(1.9)


class TinyNet(nn.Module):
    def __init__(self, w1: np.ndarray = W1, w2: np.ndarray = W2, bn: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)
        self.bn = nn.BatchNorm2d(4) if bn else nn.Identity()
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(w1, dtype=torch.float32).reshape(4, 3, 1, 1))
            self.fc.weight.copy_(torch.tensor(w2, dtype=torch.float32))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.forward_features(x)), 1))


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def _batch(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return _t(x), torch.tensor(y, dtype=torch.int64)


# ----------------------------------------------------------------- numpy by hand
def np_forward(w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    xf = x.reshape(len(x), 3, P)
    a = np.einsum("hd,ndp->nhp", w1, xf)  # conv output (pre-ReLU)
    rb = np.maximum(a, 0).mean(axis=2)  # pooled features
    z = rb @ w2.T  # logits
    return {"xf": xf, "a": a, "rb": rb, "z": z}


def np_backward(
    w1: np.ndarray, w2: np.ndarray, x: np.ndarray, dz: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of Σ dz·z with respect to both weights, the conv output and the input."""
    f = np_forward(w1, w2, x)
    drb = dz @ w2
    da = (drb[:, :, None] / P) * (f["a"] > 0)
    return {
        **f,
        "dz": dz,
        "da": da,
        "dW2": dz.T @ f["rb"],
        "dW1": np.einsum("nhp,ndp->hd", da, f["xf"]),
        "dx": np.einsum("hd,nhp->ndp", w1, da).reshape(len(x), -1),
    }


def np_ce_grads(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict:
    """Gradients of the mean cross-entropy: dL/dz = (softmax(z) − onehot(y)) / N."""
    z = np_forward(w1, w2, x)["z"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(3)[y]) / len(y)
    return np_backward(w1, w2, x, dz)


def np_zico(per_layer: list[np.ndarray]) -> float:
    """ZiCo's formula on (N, elements) gradient arrays."""
    total = 0.0
    for g in per_layer:
        std = g.std(axis=0)
        keep = std != 0
        s = (np.abs(g).mean(axis=0)[keep] / std[keep]).sum()
        if s != 0:
            total += math.log(s)
    return total


# ----------------------------------------------------------------- ZiCo / ZiCo-BC
def _zico_grads(accumulate: bool) -> list[np.ndarray]:
    g1, g2 = np_ce_grads(W1, W2, X1, Y1), np_ce_grads(W1, W2, X2, Y2)
    layers = []
    for key in ("dW1", "dW2"):
        a, b = g1[key].ravel(), g2[key].ravel()
        layers.append(np.stack([a, a + b] if accumulate else [a, b]))
    return layers


@pytest.mark.parametrize("accumulate", [True, False])
def test_zico_matches_hand_derived_value(accumulate: bool) -> None:
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    layers = _zico_grads(accumulate)
    assert (layers[0].std(axis=0) == 0).sum() == 3  # the dead unit's weights are dropped
    expected = np_zico(layers)
    model = TinyNet()
    grads = record_gradients(model, [_batch(X1, Y1), _batch(X2, Y2)], accumulate=accumulate)
    assert zico_from_terms(layer_terms(model, grads)) == pytest.approx(expected, rel=1e-5)


def test_zico_with_three_batches() -> None:
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    x3, y3 = _inputs(4.2), np.array([1, 1, 0, 2])
    grads = [np_ce_grads(W1, W2, x, y) for x, y in ((X1, Y1), (X2, Y2), (x3, y3))]
    for accumulate in (True, False):
        layers = []
        for key in ("dW1", "dW2"):
            g = np.stack([d[key].ravel() for d in grads])
            layers.append(np.cumsum(g, axis=0) if accumulate else g)
        model = TinyNet()
        batches = [_batch(X1, Y1), _batch(X2, Y2), _batch(x3, y3)]
        recorded = record_gradients(model, batches, accumulate=accumulate)
        got = zico_from_terms(layer_terms(model, recorded))
        assert got == pytest.approx(np_zico(layers), rel=1e-5)


def test_zico_accumulate_changes_the_value() -> None:
    """``accumulate`` (the first commit's G_k = g_1+…+g_k) gives a different ZiCo than each
    batch's own gradient, and each matches the hand-derived value of its definition."""
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    batches = [_batch(X1, Y1), _batch(X2, Y2)]
    got = {}
    for accumulate in (True, False):
        model = TinyNet()
        recorded = record_gradients(model, batches, accumulate=accumulate)
        got[accumulate] = zico_from_terms(layer_terms(model, recorded))
        assert got[accumulate] == pytest.approx(np_zico(_zico_grads(accumulate)), rel=1e-5)
    assert got[True] != pytest.approx(got[False], rel=1e-3)


def test_zico_default_uses_each_batchs_own_gradient() -> None:
    """The released code at HEAD zeroes gradients before every batch (commit d7076d5)."""
    from nascli.proxies import get_proxy
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    model = TinyNet()
    batches = [_batch(X1, Y1), _batch(X2, Y2)]
    default = zico_from_terms(layer_terms(model, record_gradients(model, batches)))
    assert default == pytest.approx(np_zico(_zico_grads(False)), rel=1e-5)
    assert get_proxy("zico").accumulate is False
    assert get_proxy("zico-bc").accumulate is False


def test_zico_bc_subtracts_beta_log_hw_over_sqrt_c() -> None:
    from nascli.proxies.zico_bc import zico_bc_score

    zico = np_zico(_zico_grads(False))  # default: each batch's own gradient
    # conv output 4 channels at 2×2: log(4/√4); linear output 3 classes at 1×1: log(1/√3)
    correction = math.log(4 / math.sqrt(4)) + math.log(1 / math.sqrt(3))
    batches = [_batch(X1, Y1), _batch(X2, Y2)]
    got = zico_bc_score(TinyNet(), batches, beta=0.5)
    assert got == pytest.approx(zico - 0.5 * correction, rel=1e-5)
    assert zico_bc_score(TinyNet(), batches, beta=0.0) == pytest.approx(zico, rel=1e-5)


def test_zico_skips_a_layer_without_gradient() -> None:
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    w2 = np.zeros_like(W2)  # no gradient reaches the conv; the linear layer still gets one
    g1, g2 = np_ce_grads(W1, w2, X1, Y1), np_ce_grads(W1, w2, X2, Y2)
    assert not g1["dW1"].any()
    fc = np.stack([g1["dW2"].ravel(), g2["dW2"].ravel()])  # default: independent gradients
    std = fc.std(axis=0)
    keep = std != 0
    expected = math.log((np.abs(fc).mean(axis=0)[keep] / std[keep]).sum())
    model = TinyNet(W1, w2)
    terms = layer_terms(model, record_gradients(model, [_batch(X1, Y1), _batch(X2, Y2)]))
    assert [t.name for t in terms] == ["fc"]
    assert zico_from_terms(terms) == pytest.approx(expected, rel=1e-5)


def test_zico_of_a_network_with_zero_gradients_is_nan() -> None:
    from nascli.proxies.zico import layer_terms, record_gradients, zico_from_terms

    model = TinyNet(np.zeros_like(W1), np.zeros_like(W2))
    grads = record_gradients(model, [_batch(X1, Y1), _batch(X2, Y2)])
    assert math.isnan(zico_from_terms(layer_terms(model, grads)))


# ----------------------------------------------------------------- gradient proxies
def test_snip_is_sum_abs_weight_times_grad() -> None:
    from nascli.proxies.snip import snip_score

    g = np_ce_grads(W1, W2, X1, Y1)
    expected = np.abs(g["dW1"] * W1).sum() + np.abs(g["dW2"] * W2).sum()
    assert snip_score(TinyNet(), *_batch(X1, Y1)) == pytest.approx(expected, rel=1e-5)


def test_grad_norm_is_sum_of_layer_norms() -> None:
    from nascli.proxies.grad_norm import grad_norm_score

    g = np_ce_grads(W1, W2, X1, Y1)
    expected = np.linalg.norm(g["dW1"]) + np.linalg.norm(g["dW2"])
    assert grad_norm_score(TinyNet(), *_batch(X1, Y1)) == pytest.approx(expected, rel=1e-5)


def test_grasp_is_minus_theta_hessian_gradient() -> None:
    from nascli.proxies.grasp import grasp_score

    g = np_ce_grads(W1, W2, X1, Y1)
    # Hg by central differences of the hand-derived gradient along g (float64)
    eps = 1e-4
    plus = np_ce_grads(W1 + eps * g["dW1"], W2 + eps * g["dW2"], X1, Y1)
    minus = np_ce_grads(W1 - eps * g["dW1"], W2 - eps * g["dW2"], X1, Y1)
    hg1 = (plus["dW1"] - minus["dW1"]) / (2 * eps)
    hg2 = (plus["dW2"] - minus["dW2"]) / (2 * eps)
    expected = -(W1 * hg1).sum() - (W2 * hg2).sum()
    assert abs(expected) > 1e-4
    assert grasp_score(TinyNet(), *_batch(X1, Y1)) == pytest.approx(expected, rel=1e-3)


def test_fisher_broadcasts_channel_saliency_over_weights() -> None:
    from nascli.proxies.fisher import fisher_score

    g = np_ce_grads(W1, W2, X1, Y1)
    conv = 0.5 * ((g["a"] * g["da"]).sum(axis=2) ** 2).mean(axis=0)  # per channel
    fc = 0.5 * ((g["z"] * g["dz"]) ** 2).mean(axis=0)
    expected = conv.sum() * 3 + fc.sum() * 4  # × elements per output channel (3 and 4)
    assert fisher_score(TinyNet(), *_batch(X1, Y1)) == pytest.approx(expected, rel=1e-5)


def test_jacov_of_input_jacobian_correlations() -> None:
    from nascli.proxies.jacov import jacov_score

    jac = np_backward(W1, W2, X1, np.ones((4, 3)))["dx"]
    eigenvalues = np.linalg.eig(np.corrcoef(jac))[0].real
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5))
    assert jacov_score(TinyNet(), _t(X1)) == pytest.approx(expected, rel=1e-4)


def test_naswot_logdet_of_relu_code_kernel() -> None:
    from nascli.proxies.naswot import naswot_score

    x = X1 - 0.3  # inputs of both signs, so the four samples get independent codes
    a = np_forward(W1, W2, x)["a"]
    assert np.abs(a).min() > 1e-5  # no code flips between float64 and float32
    codes = (a.reshape(4, -1) > 0).astype(float)
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    sign, expected = np.linalg.slogdet(kernel)
    assert sign > 0
    assert naswot_score(TinyNet(), _t(x)) == pytest.approx(expected, rel=1e-6)


def test_naswot_identical_samples_are_nan() -> None:
    from nascli.proxies.naswot import naswot_score

    same = np.repeat(X1[:1], 4, axis=0)
    assert math.isnan(naswot_score(TinyNet(), _t(same)))


def test_synflow_closed_form_with_batchnorm_disabled() -> None:
    from nascli.proxies.synflow import synflow_score

    model = TinyNet(bn=True)
    with torch.no_grad():  # BN would change everything if it were not disabled
        model.bn.weight.fill_(3.0)
        model.bn.bias.fill_(-1.0)
        model.bn.running_var.fill_(4.0)
    # all-ones input through |W|: R = Σ_k Σ_j |W2|_kj Σ_i |W1|_ji, and each layer's
    # Σ|θ ⊙ ∂R/∂θ| equals R for this two-layer positive network
    r = (np.abs(W2) @ np.abs(W1).sum(axis=1)).sum()
    assert synflow_score(model, [3, 2, 2]) == pytest.approx(2 * r, rel=1e-6)


# ----------------------------------------------------------------- Zen
def test_zen_score_by_hand() -> None:
    from nascli.proxies.zen import zen_score

    noise = 0.8 * np.cos(np.arange(48) * 1.3).reshape(4, 3, 2, 2)
    gamma = 0.05

    def features(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.einsum("hd,ndp->nhp", W1, x.reshape(4, 3, P))
        mean, var = a.mean(axis=(0, 2)), a.var(axis=(0, 2))
        out = np.maximum((a - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5), 0)
        return out, var * 16 / 15  # running_var is updated with the unbiased variance

    f1, v1 = features(X1)
    f2, v2 = features(X1 + gamma * noise)
    delta = np.abs(f1 - f2).reshape(4, -1).sum(axis=1).mean()
    running = 0.9 * (0.9 * 1.0 + 0.1 * v1) + 0.1 * v2
    expected = math.log(delta) + math.log(math.sqrt(running.mean()))
    got = zen_score(TinyNet(bn=True), _t(X1), _t(noise), gamma)
    assert got == pytest.approx(expected, rel=1e-4)


def test_zen_gaussian_init() -> None:
    from nascli.proxies.zen import gaussian_init

    def init(seed: int) -> TinyNet:
        model = TinyNet(bn=True)
        with torch.no_grad():
            model.bn.weight.fill_(2.0)
        gaussian_init(model, torch.Generator().manual_seed(seed))
        return model

    model = init(3)
    weights = torch.cat([model.conv.weight.flatten(), model.fc.weight.flatten()])
    assert not torch.allclose(model.conv.weight.flatten(), _t(W1).flatten())
    assert torch.equal(
        weights, torch.cat([init(3).conv.weight.flatten(), init(3).fc.weight.flatten()])
    )
    assert not torch.equal(model.conv.weight, init(4).conv.weight)
    assert torch.equal(model.bn.weight, torch.ones(4))
    assert torch.equal(model.bn.bias, torch.zeros(4))


# ----------------------------------------------------------------- real candidates
NB201_CHEAP = (
    "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
)
NB201_DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def _nb201(body: str, seed: int = 0) -> Candidate:
    from nascli.spaces import get_space

    space = get_space("nb201")
    return Candidate(space.parse(body), space, RES, seed)


RES = 16  # NB201 networks at 16 px keep these tests fast


def _gaussian_batches(n: int = 2, size: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [
        (
            torch.randn(size, 3, RES, RES, generator=gen),
            torch.randint(0, 10, (size,), generator=gen),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("name", ["zico", "zen", "naswot"])
def test_deterministic_under_seed(name: str) -> None:
    proxy = get_proxy(name)
    batches = _gaussian_batches()
    first = proxy.score(_nb201(NB201_CHEAP, seed=1), batches)
    assert math.isfinite(first)
    assert proxy.score(_nb201(NB201_CHEAP, seed=1), batches) == first
    assert proxy.score(_nb201(NB201_CHEAP, seed=2), batches) != first


def test_degenerate_network_never_raises() -> None:
    """An NB201 cell of 'none' ops: no signal reaches the output."""
    batches = _gaussian_batches()
    scores = {name: get_proxy(name).score(_nb201(NB201_DEAD), batches) for name in list_proxies()}
    for name in ("zico", "zico-bc", "zen", "naswot", "jacov"):
        assert math.isnan(scores[name]), name
    assert all(isinstance(v, float) for v in scores.values())


def test_params_and_flops_match_torch_and_nas_bench(shared_file) -> None:
    """Params against torch's count; MACs against NAS-Bench-201's published figure.

    (``tests/test_cost.py`` cross-checks the cost model with torch's FLOP counter.)
    """
    from nascli.spaces import get_space

    space = get_space("nb201")
    best = space.from_index(13714)
    small = Candidate(best, space, RES, 0)
    model = small.build()
    assert get_proxy("params").score(small, []) == sum(p.numel() for p in model.parameters())
    # NAS-Bench-201's own figures for this cell at 32 px
    spot = json.loads(shared_file("reference_spot_values.json").read_text())
    published = spot["nb201_api_examples"]["13714"]["cifar10"]
    full = Candidate(best, space, 32, 0)
    assert get_proxy("params").score(full, []) / 1e6 == pytest.approx(
        published["params_M"], abs=5e-4
    )
    assert get_proxy("flops").score(full, []) / 1e6 == pytest.approx(published["flops_M"], abs=5e-3)


# ----------------------------------------------------------------- registry
def test_registry_metadata_matches_classes() -> None:
    assert list_proxies() == list(REGISTRY) and len(set(list_proxies())) == len(REGISTRY)
    for name in list_proxies():
        proxy = get_proxy(name)
        info = proxy_info(name)
        assert isinstance(proxy, Proxy)
        assert (proxy.name, proxy.needs_data, proxy.needs_labels, proxy.cost) == (
            info["name"], info["needs_data"], info["needs_labels"], info["cost"],
        )  # fmt: skip
        assert set(info["options"]) == set(REGISTRY[name].options)


def test_registry_is_built_from_the_proxy_modules() -> None:
    """One source per proxy: the registry is the listed modules' ``SPECS``, in order; every
    module declaring specs is listed; each class is bound to its spec and its constructor
    takes exactly the spec's options, with no defaults of its own."""
    import importlib
    import inspect

    import nascli.proxies as registry
    from nascli.proxies.spec import SpecProxy

    modules = {m: importlib.import_module(f"nascli.proxies.{m}") for m in registry.PROXY_MODULES}
    declared = [spec for module in modules.values() for spec in module.SPECS]
    assert list(REGISTRY.values()) == declared
    assert all(a is b for a, b in zip(REGISTRY.values(), declared, strict=True))
    folder = Path(registry.__file__).parent
    with_specs = {p.stem for p in folder.glob("*.py") if "\nSPECS = " in p.read_text()}
    assert with_specs == set(registry.PROXY_MODULES)
    for module in modules.values():
        for spec in module.SPECS:
            cls = getattr(module, spec.class_name)
            assert issubclass(cls, SpecProxy) and cls.spec is spec and cls.name == spec.name
            params = dict(inspect.signature(cls.__init__).parameters)
            params.pop("self", None)
            params = {k: v for k, v in params.items() if v.kind is v.KEYWORD_ONLY}
            assert set(params) == set(spec.options), spec.name
            assert all(v.default is inspect.Parameter.empty for v in params.values()), spec.name


def test_published_names_and_layer_terms_come_from_the_specs() -> None:
    from nascli.proxies import layerwise_proxies, published_names

    names = published_names()
    assert names["grad norm"] == names["gradnorm"] == names["grad-norm"] == "grad-norm"
    assert (names["#params"], names["jacob_cov"], names["zen-score"]) == ("params", "jacov", "zen")
    assert names["vkdnw_single"] == "vkdnw" and names["zico"] == "zico"
    assert set(names.values()) == set(REGISTRY)
    assert layerwise_proxies() == tuple(n for n, s in REGISTRY.items() if s.layer_terms)
    assert "zico" in layerwise_proxies() and "naswot" not in layerwise_proxies()


def test_unknown_proxy_and_options() -> None:
    with pytest.raises(ConfigError, match="did you mean 'zico'"):
        get_proxy("zicoo")
    with pytest.raises(ConfigError, match="no option 'gamma'"):
        get_proxy("zico", gamma=1)
    with pytest.raises(ConfigError, match="batches"):
        get_proxy("zico", batches=1)
    with pytest.raises(ConfigError, match="must be a float"):
        get_proxy("zico-bc", beta="big")
    proxy = get_proxy("zico-bc", beta="0.5", batches="3", residual="true")
    assert (proxy.beta, proxy.batches, proxy.residual, proxy.cost) == (0.5, 3, True, "3 fwd+bwd")
    with pytest.raises(ConfigError, match="needs 3 input batches, got 2"):
        proxy.score(_nb201(NB201_CHEAP), _gaussian_batches())


def test_registry_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from nascli.proxies import list_proxies, proxy_info\n"
        "rows = [proxy_info(n) for n in list_proxies()]\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "from nascli.proxies.lazy_torch import nn\n"
        "assert 'torch' not in sys.modules and nn.Conv2d.__module__.startswith('torch.nn')\n"
        "print(len(rows))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(REGISTRY))


# ----------------------------------------------------------------- slow sanity
@pytest.mark.slow
def test_zico_on_zico_600m_is_in_the_hundreds() -> None:
    from nascli.spaces import get_space, resolve_arch

    arch = resolve_arch(str(REPO / "configs" / "archs" / "zico-600m.yaml"))
    space = get_space(arch.space)
    gen = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(16, 3, 96, 96, generator=gen), torch.randint(0, 1000, (16,), generator=gen))
        for _ in range(2)
    ]
    value = get_proxy("zico").score(Candidate(arch, space, 96, 0), batches)
    assert 300 < value < 1500
