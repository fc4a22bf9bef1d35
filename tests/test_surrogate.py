"""Surrogate-guided search: weight-layer lists, the layer-term model, proposals."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.proxies._common import weight_layers
from nascli.search.layer_model import (
    FEATURE_NAMES,
    PRIOR_OFFSET,
    LayerTermModel,
    layer_features,
    log_numel,
)
from nascli.search.layer_specs import WeightLayer, weight_layers_of
from nascli.spaces import get_space


@pytest.mark.parametrize("space_name", ["mobilenet-imagenet", "resnet-imagenet"])
@pytest.mark.parametrize("residual", [False, True])
def test_weight_layers_match_the_built_network(space_name: str, residual: bool) -> None:
    """Same Conv2d/Linear layers, in module order: weight count, groups, stride, channels."""
    space = get_space(space_name)
    rng = random.Random(7)
    for _ in range(4):
        arch = space.sample(rng)
        specs = weight_layers_of(space.layers(arch, resolution=64, residual=residual))
        modules = [m for _, m in weight_layers(space.build(arch, resolution=64, residual=residual))]
        assert len(specs) == len(modules)
        for spec, module in zip(specs, modules, strict=True):
            assert spec.numel == module.weight.numel()
            if isinstance(module, torch.nn.Conv2d):
                assert (spec.cin, spec.cout, spec.groups) == (
                    module.in_channels, module.out_channels, module.groups,
                )  # fmt: skip
                assert (spec.kernel, spec.stride) == (module.kernel_size[0], module.stride[0])


def test_inverted_residual_unit_layers_by_hand() -> None:
    """1×1 16→96, depthwise 5×5/2 on 96, 1×1 96→24 at the output size, projection shortcut."""
    key = LayerKey("ir", 16, 24, kernel=5, stride=2, h=28, w=28, mid=96, residual="proj")
    layers = weight_layers_of([key])
    assert [layer.role for layer in layers] == ["expand", "depthwise", "project", "shortcut"]
    assert [layer.numel for layer in layers] == [16 * 96, 96 * 25, 96 * 24, 16 * 24]
    assert layers[2].out_positions == 14 * 14 and layers[1].out_positions == 14 * 14


def test_nb201_cells_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="nb201_conv"):
        weight_layers_of([LayerKey("nb201_conv", 16, 16, kernel=3, h=32, w=32)])


def test_layer_features_by_hand() -> None:
    dw = WeightLayer("depthwise", 32, 32, 3, 32, 2, 8, 8)
    row = dict(zip(FEATURE_NAMES, layer_features([dw])[0], strict=True))
    assert row["depthwise"] == 1 and row["pointwise"] == 0 and row["dense_kxk"] == 0
    assert row["log_fan_in"] == pytest.approx(math.log(9))
    assert row["log_positions"] == pytest.approx(math.log(16))


def test_prior_predicts_log_numel_plus_a_constant_per_layer() -> None:
    layers = [
        WeightLayer("conv", 3, 8, 3, 1, 2, 32, 32),
        WeightLayer("linear", 8, 10, 1, 1, 1, 1, 1),
    ]
    expected = math.log(3 * 8 * 9) + math.log(80) + 2 * PRIOR_OFFSET
    assert LayerTermModel().predict(layers) == pytest.approx(expected)


def test_ridge_fit_recovers_offsets_from_many_rows_and_stays_near_prior_with_few() -> None:
    rng = np.random.default_rng(0)
    features = np.column_stack([np.ones(2000), rng.normal(size=(2000, len(FEATURE_NAMES) - 1))])
    true = rng.normal(size=len(FEATURE_NAMES))
    model = LayerTermModel()
    model.fit(features, features @ true)
    np.testing.assert_allclose(model.weights, true, atol=1e-2)
    # One row x, target y: w = w0 + x (y - x·w0) / (λ + x·x) (Sherman-Morrison, λ = RIDGE = 1).
    x, y = features[0], 50.0
    prior = LayerTermModel().weights
    model.fit(x[None, :], np.array([y]))
    np.testing.assert_allclose(model.weights, prior + x * (y - x @ prior) / (1.0 + x @ x))
    assert log_numel([WeightLayer("linear", 4, 5, 1, 1, 1, 1, 1)])[0] == pytest.approx(math.log(20))


# ----------------------------------------------------------------- proposals and the search
def _feasible(space, macs: float = 450e6, layers: int = 14):
    def check(arch) -> bool:
        cost = space.cost(arch)
        return cost.macs <= macs and cost.layers <= layers

    return check


def test_proposals_are_feasible_new_and_predicted_better_than_random_samples() -> None:
    from nascli.search.surrogate import SurrogateProposer

    space = get_space("mobilenet-imagenet")
    feasible = _feasible(space)
    proposer = SurrogateProposer(
        space, feasible, resolution=96, residual=False, population=8, seed=0
    )
    seen: set[str] = set()
    proposals = []
    for number in range(4):
        proposal = proposer.propose(number, [], seen)
        assert proposal.arch.canonical not in seen and feasible(proposal.arch)
        seen.add(proposal.arch.canonical)
        proposals.append(proposal.arch)
    rng = random.Random(0)
    samples = [a for a in (space.sample(rng) for _ in range(400)) if feasible(a)]
    best_sample = max(proposer.predict(a) for a in samples)
    assert proposer.predict(proposals[0]) > best_sample


def _search_config(tmp_path, **options):
    from nascli.config import resolve_config

    base = {"space": "mobilenet-imagenet", "proxy": "zico", "budgets": ["300MFLOPs", "12Layers"],
            "algo": "surrogate", "iterations": 4, "resolution": 32, "batch_size": 4, "threads": 1,
            "out": str(tmp_path), "export_onnx": False, "seed": 1}  # fmt: skip
    base.update(options)
    return resolve_config(base)


def _run(tmp_path, **options):
    from nascli.search.driver import SearchDriver
    from nascli.search.plan import build_plan
    from nascli.search.storage import storage_url_for
    from nascli.search.workers import configure_threads

    config = _search_config(tmp_path, **options)
    threads = torch.get_num_threads()
    configure_threads(config.workers, config.threads)
    try:
        tmp_path.mkdir(parents=True, exist_ok=True)
        url = storage_url_for(config, tmp_path)
        driver = SearchDriver(build_plan(config), study_name="t", storage_url=url)
        study = driver.open_study()
        driver.run(study, iterations=config.iterations, timeout=None)
        return driver, driver.state(study)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_surrogate_search_records_layer_terms_learns_and_replays(tmp_path) -> None:
    from nascli.search.surrogate import TERMS_KEY
    from nascli.spaces import arch_from_canonical

    driver, state = _run(tmp_path / "a")
    done = [r for r in state.trials if r.state == "COMPLETE"]
    assert len(done) == 4
    space = driver.space
    for record in done:
        arch = arch_from_canonical(record.arch)
        cost = space.cost(arch)
        assert cost.macs <= 300e6 and cost.layers <= 12
        assert record.info["origin"] == "surrogate"
        terms = record.info[TERMS_KEY]
        layers = weight_layers_of(space.layers(arch, resolution=32, residual=False))
        assert len(terms) == len(layers)
        # The score is the sum of the recorded terms (layers ZiCo skips are None).
        assert record.values[0] == pytest.approx(sum(t for t in terms if t is not None))
    assert driver.proposer.model.rows > 0, "the layer-term model was refitted"
    _, again = _run(tmp_path / "b")
    assert [r.arch for r in again.trials] == [r.arch for r in state.trials]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"proxy": "params"}, "has none"),
        ({"space": "nb201", "budgets": ["60MFLOPs"]}, "nb201"),
        ({"proxy": "zico+params"}, "not an ensemble"),
    ],
)
def test_surrogate_refuses_what_it_cannot_predict(tmp_path, options, message) -> None:
    from nascli.search.driver import SearchDriver
    from nascli.search.plan import build_plan
    from nascli.search.storage import storage_url_for

    config = _search_config(tmp_path, **options)
    with pytest.raises(ConfigError, match=message):
        url = storage_url_for(config, tmp_path)
        SearchDriver(build_plan(config), study_name="t", storage_url=url)
