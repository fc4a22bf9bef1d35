"""Analytic cost: cross-checked with torch's FLOP counter and parameter count, known values."""

from __future__ import annotations

import json
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from nascli.cost import network_cost
from nascli.spaces import get_space, resolve_arch

from .conftest import REPO

# Small resolutions keep the torch side fast; the analytic model takes the same resolution.
_RESOLUTION = {"mobilenet-imagenet": 64, "resnet-imagenet": 64, "nb201": 32}


def _torch_cost(space_name: str, arch, resolution: int) -> tuple[float, int]:
    model = get_space(space_name).build(arch, resolution=resolution).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, resolution, resolution))
    return counter.get_total_flops() / 2, sum(p.numel() for p in model.parameters())


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10**6), space_name=st.sampled_from(sorted(_RESOLUTION)))
def test_analytic_cost_matches_torch(seed: int, space_name: str) -> None:
    space = get_space(space_name)
    arch = space.sample(random.Random(seed))
    resolution = _RESOLUTION[space_name]
    cost = space.cost(arch, resolution=resolution)
    macs, params = _torch_cost(space_name, arch, resolution)
    assert cost.macs == pytest.approx(macs, rel=0.01)
    assert cost.params == pytest.approx(params, rel=0.01)


def test_mobilenetv2_known_cost() -> None:
    arch = resolve_arch(str(REPO / "configs/archs/mobilenetv2-1.0.yaml"))
    cost = get_space(arch.space).cost(arch)
    assert cost.macs == pytest.approx(300.8e6, rel=0.01)
    assert cost.params == pytest.approx(3.50e6, rel=0.01)


@pytest.mark.parametrize(
    ("name", "macs", "params", "layers"),
    [
        ("zico-450m", 438.4e6, 5.72e6, 14),
        ("zico-600m", 590.3e6, 9.65e6, 14),
        ("zico-1g", 979.2e6, 15.25e6, 16),
        # The authors give no layer count for it; 6 = stem + head + four blocks of L = 1.
        ("params-450m", 450.0e6, 11.0e6, 6),
    ],
)
def test_published_zico_nets_match_authors_counter(name, macs, params, layers) -> None:
    """Authors' counter (conv + BN, 224 px) figures; ours counts conv/linear MACs only."""
    arch = resolve_arch(str(REPO / f"configs/archs/{name}.yaml"))
    cost = get_space(arch.space).cost(arch)
    assert cost.macs == pytest.approx(macs, rel=0.01)
    assert cost.params == pytest.approx(params, rel=0.01)
    assert cost.layers == layers


def test_nb201_spot_values_match_official_api(shared_file) -> None:
    reference = json.loads(shared_file("reference_spot_values.json").read_text())
    for index in ("13714", "3558"):
        spot = reference["nb201_api_examples"][index]
        arch = resolve_arch(f"nb201:{index}")
        assert arch.body == spot["arch_str"]
        cost = get_space("nb201").cost(arch)
        assert cost.macs / 1e6 == pytest.approx(spot["cifar10"]["flops_M"], rel=0.001)
        assert cost.params / 1e6 == pytest.approx(spot["cifar10"]["params_M"], rel=0.001)


def test_resolution_changes_macs_but_not_params() -> None:
    arch = resolve_arch(str(REPO / "configs/archs/zico-600m.yaml"))
    space = get_space(arch.space)
    full, small = space.cost(arch), space.cost(arch, resolution=112)
    assert small.params == full.params
    assert small.macs < full.macs / 3
    assert small.peak_activation_bytes < full.peak_activation_bytes


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    space_name=st.sampled_from(["mobilenet-imagenet", "resnet-imagenet"]),
    resolution=st.sampled_from([32, 97, 160, 224]),
    mutations=st.integers(0, 3),
)
def test_closed_form_block_cost_equals_sum_over_expanded_units(
    seed: int, space_name: str, resolution: int, mutations: int
) -> None:
    """``space.cost`` multiplies repeated units without building them; it must equal the
    unit-by-unit sum over ``layers()`` (the keys the latency tables and the builder use)."""
    space = get_space(space_name)
    rng = random.Random(seed)
    arch = space.sample(rng)
    for _ in range(mutations):
        arch = space.mutate(arch, rng)
    fast = space.cost(arch, resolution=resolution)
    slow = network_cost(space.layers(arch, resolution=resolution))
    assert (fast.macs, fast.params, fast.peak_activation_bytes) == (
        slow.macs,
        slow.params,
        slow.peak_activation_bytes,
    )
