"""The contract every registered block type and unit op keeps (one suite, run for each).

A block type's expansion, closed-form cost, vectorised key rows and torch modules are four
views of one thing; these tests check that they agree for random blocks of every type in
the registry, so a new type is tested as soon as it is registered, and an edit to any one
view (say, a wrong parameter count in ``cost``) fails here.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import partial

import numpy as np
import pytest
import torch

from nascli import keyrows
from nascli.cost import block_cost, network_cost
from nascli.errors import ConfigError
from nascli.layers import OPS, LayerKey
from nascli.nn.blocks import build_block
from nascli.spaces.blocks import BLOCK_TYPES, UNIT_OPS, Block, block_type, unit_op
from nascli.spaces.blocks.base import BYTES_PER_VALUE


def _random_blocks(kind: str, seed: int, count: int = 25) -> list[tuple[Block, int, int]]:
    """(block, input channels, input size) triples with shapes that do and do not change."""
    rng = random.Random(seed)
    uses_bottleneck = block_type(kind).uses_bottleneck
    out = []
    for _ in range(count):
        width = rng.choice([8, 16, 24, 40])
        cin = rng.choice([width, 8, 16, 32])
        block = Block(
            kind,
            rng.choice([1, 3, 5, 7]),
            rng.choice([1, 2, 3, 6]),
            width,
            rng.choice([1, 2]),
            rng.choice([width, 8, 32]) if uses_bottleneck else 0,
            rng.randint(1, 4),
        )
        out.append((block, cin, rng.choice([7, 8, 16, 32])))
    return out


@pytest.mark.parametrize("kind", sorted(BLOCK_TYPES))
def test_closed_form_cost_equals_the_sum_over_expanded_units(kind: str) -> None:
    for block, cin, size in _random_blocks(kind, seed=1):
        units = block_type(kind).expand(block, cin, size, True)
        slow = network_cost(units)
        macs, params, peak, layers, out = block_type(kind).cost(block, cin, size)
        assert (macs, params, peak, layers) == (
            slow.macs,
            slow.params,
            slow.peak_activation_bytes,
            slow.layers,
        ), block
        assert out == (units[-1].h_out if units else size), block


@pytest.mark.parametrize("kind", sorted(BLOCK_TYPES))
def test_vectorised_rows_equal_expanded_unit_counts(kind: str) -> None:
    make = partial(keyrows.group, checked=False)
    for block, cin, size in _random_blocks(kind, seed=2):
        one = np.ones(1, dtype=np.int64)
        fields = [one * v for v in (block.kernel, block.expansion, block.width, block.stride,
                                    block.bottleneck, block.depth)]  # fmt: skip
        parts, out = block_type(kind).rows(
            make, np.zeros(1, dtype=np.int64), one * cin, one * size, *fields
        )
        rows = keyrows.KeyRows.concat(parts)
        got: Counter[LayerKey] = Counter()
        for count, row in zip(rows.count, rows.keys(), strict=True):
            got[keyrows.row_key(row)] += int(count)
        units = block_type(kind).expand(block, cin, size, True)
        assert got == Counter(units), block
        assert int(out[0]) == (units[-1].h_out if units else size), block


@pytest.mark.parametrize("kind", sorted(BLOCK_TYPES))
def test_torch_modules_have_the_analytic_parameters_and_macs(kind: str) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    for block, cin, size in _random_blocks(kind, seed=3, count=4):
        for unit in block_type(kind).expand(block, cin, size, True):
            module = build_block(unit).eval()
            assert sum(p.numel() for p in module.parameters()) == block_cost(unit).params, unit
            counter = FlopCounterMode(display=False)
            with counter, torch.no_grad():
                out = module(torch.zeros(1, unit.cin, unit.h, unit.w))
            assert counter.get_total_flops() == 2 * block_cost(unit).macs, unit
            assert tuple(out.shape[1:]) == (unit.cout, unit.h_out, unit.w_out), unit


@pytest.mark.parametrize("kind", sorted(BLOCK_TYPES))
def test_residual_off_removes_every_shortcut(kind: str) -> None:
    for block, cin, size in _random_blocks(kind, seed=4, count=8):
        for unit in block_type(kind).expand(block, cin, size, False):
            assert unit.residual == "none", unit


def _unit_keys_by_op() -> dict[str, list[LayerKey]]:
    """Unit keys of every op the registered block types and the shipped spaces produce."""
    from nascli.spaces import get_space, list_spaces

    keys: dict[str, list[LayerKey]] = {}
    for kind in sorted(BLOCK_TYPES):
        for block, cin, size in _random_blocks(kind, seed=5, count=6):
            for unit in block_type(kind).expand(block, cin, size, True):
                keys.setdefault(unit.op, []).append(unit)
    rng = random.Random(5)
    for name in list_spaces():
        space = get_space(name)
        for unit in space.layers(space.sample(rng), resolution=32):
            keys.setdefault(unit.op, []).append(unit)
    return keys


def test_each_unit_ops_weight_layers_are_those_its_module_holds() -> None:
    """``UnitOp.weight_layers`` lists the Conv2d/Linear layers ``build`` makes, in
    ``named_modules`` order (channels, kernel, groups, stride, weight count); every op with
    that view is checked on keys the block types and shipped spaces produce."""
    keys = _unit_keys_by_op()
    with_view = {name for name, op in UNIT_OPS.items() if op.weight_layers is not None}
    assert with_view <= set(keys), f"no keys to check {sorted(with_view - set(keys))}"
    assert {"ir", "basic", "bottleneck", "conv", "pool_fc"} <= with_view
    for name in sorted(with_view):
        view = UNIT_OPS[name].weight_layers
        assert view is not None
        for key in keys[name][:12]:
            built = [
                m
                for m in build_block(key).modules()
                if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
            ]
            layers = view(key)
            assert len(layers) == len(built), key
            for layer, module in zip(layers, built, strict=True):
                assert layer.numel == module.weight.numel(), key
                if isinstance(module, torch.nn.Conv2d):
                    got = (module.in_channels, module.out_channels, module.kernel_size[0],
                           module.groups, module.stride[0])  # fmt: skip
                    assert (layer.cin, layer.cout, layer.kernel, layer.groups, layer.stride) == got
                else:
                    assert (layer.cin, layer.cout) == (module.in_features, module.out_features)


def test_every_layer_key_op_has_exactly_one_registered_unit_op() -> None:
    assert set(UNIT_OPS) == set(OPS)
    assert all(op.name == name for name, op in UNIT_OPS.items())
    assert all(block.name == name for name, block in BLOCK_TYPES.items())


def test_unknown_block_type_suggests_a_close_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'idw'"):
        block_type("idv")
    with pytest.raises(ConfigError, match="no unit op"):
        unit_op("nope")


def test_identity_keeps_the_shape_for_free_and_projects_when_it_changes() -> None:
    identity = block_type("identity")
    kept = Block("identity", 1, 1, 64, 1, 0, 1)
    assert identity.expand(kept, 64, 16, True) == []
    assert identity.cost(kept, 64, 16) == (0, 0, 0, 0, 16)
    down = Block("identity", 1, 1, 128, 2, 0, 1)
    (key,) = identity.expand(down, 64, 16, True)
    assert key == LayerKey("conv", 64, 128, 1, 2, 16, 16, act="none")
    macs, params, peak, layers, out = identity.cost(down, 64, 16)
    assert (macs, params, out) == (64 * 128 * 8 * 8, 64 * 128 + 2 * 128, 8)
    assert peak == (64 * 16 * 16 + 128 * 8 * 8) * BYTES_PER_VALUE and layers == 1


def test_each_unit_ops_latency_views_agree_with_each_other() -> None:
    """Every unit op's latency views (``UnitOp``): its family holds keys that differ only in
    channels (and in kernel only where the family spans kernels), the family name gives
    back the key's calibration group, and the family model's columns are finite work
    counts with a constant."""
    import math

    from nascli.latency.calibrate import family_group, op_group
    from nascli.latency.estimate import family_of

    keys = _unit_keys_by_op()
    assert {"ir", "conv", "nb201_conv"} <= set(keys)
    for name, found in sorted(keys.items()):
        op = UNIT_OPS[name]
        for key in found[:12]:
            assert family_of(key) == op.latency_family(key)
            assert family_group(family_of(key)) == op_group(key) == op.calibration_group(key)
            wider = key._replace(cin=key.cin + 8, cout=key.cout + 8)
            assert op.latency_family(wider) == op.latency_family(key), key
            other_kernel = key._replace(kernel=key.kernel + 2)
            same = op.latency_family(other_kernel) == op.latency_family(key)
            assert same == op.family_spans_kernels, key
            columns = op.features(key)
            assert columns["one"] == 1.0
            assert all(math.isfinite(v) and v >= 0 for v in columns.values()), key
    conv = next(k for k in keys["conv"] if k.kernel == 3)
    assert op_group(conv) == "conv:k3"  # a plain conv's scale is per kernel size
    ir = keys["ir"][0]
    assert op_group(ir) == "ir" and "dw_k" + str(ir.kernel) in UNIT_OPS["ir"].features(ir)
