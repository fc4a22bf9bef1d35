"""Vectorised latency prediction (``Predictor.predict_many``, ``latency.batch``).

The batch path must price every arch exactly as the scalar ``predict`` does: the same
keys (``key_rows`` == ``key_counts``), the same entries, the same family estimates, the
same errors. These tests compare the two paths on random networks of every shipped space.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nascli.errors import ConfigError
from nascli.latency import batch
from nascli.latency.predict import Predictor
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey
from nascli.spaces import get_space
from nascli.spaces.blocks import BLOCK_TYPES
from nascli.spaces.macro import Block, MacroGenome
from tests.conftest import REPO

TABLES = REPO / "latency_tables"


def _rows_as_counters(rows: batch.KeyRows, n: int) -> list[Counter]:
    counters: list[Counter] = [Counter() for _ in range(n)]
    for arch, count, row in zip(rows.arch, rows.count, rows.keys(), strict=True):
        counters[int(arch)][batch.row_key(row)] += int(count)
    return counters


def _random_genome(rng: random.Random) -> MacroGenome:
    """Any block type, odd and even kernels, widths that do and do not change."""
    blocks = []
    for _ in range(rng.randint(1, 6)):
        width = rng.choice([8, 16, 24, 48, 96])
        blocks.append(
            Block(
                rng.choice(sorted(BLOCK_TYPES)),
                rng.choice([1, 2, 3, 4, 5, 7]),
                rng.choice([1, 2, 3, 4, 6]),
                width,
                rng.choice([1, 2]),
                rng.choice([width, 8, 32, 64]),
                rng.randint(1, 4),
            )
        )
    return MacroGenome(rng.choice([8, 16, 32]), tuple(blocks), rng.choice([256, 1280]))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    space_name=st.sampled_from(["mobilenet-imagenet", "resnet-imagenet"]),
    resolution=st.sampled_from([None, 32, 97, 224]),
)
def test_macro_key_rows_equal_key_counts(seed: int, space_name: str, resolution) -> None:
    space = get_space(space_name)
    rng = random.Random(seed)
    archs = [space.make(_random_genome(rng)) for _ in range(6)]
    archs += [space.mutate(space.sample(rng), rng) for _ in range(6)]
    rows = space.key_rows(archs, resolution=resolution)
    assert (rows.count > 0).all()
    for arch, got in zip(archs, _rows_as_counters(rows, len(archs)), strict=True):
        assert got == Counter(dict(space.key_counts(arch, resolution=resolution)))


def test_nb201_key_rows_equal_key_counts() -> None:
    space = get_space("nb201")
    archs = [space.from_index(i) for i in range(0, 15_625, 97)]
    for resolution in (None, 64):
        rows = space.key_rows(archs, resolution=resolution)
        for arch, got in zip(archs, _rows_as_counters(rows, len(archs)), strict=True):
            assert got == Counter(dict(space.key_counts(arch, resolution=resolution)))


@pytest.mark.parametrize(
    "table_name",
    ["cpu/mobilenet-imagenet-224.json", "cpu-2t/mobilenet-imagenet-224.json", "cpu/nb201-32.json"],
)
def test_predict_many_equals_predict_on_shipped_tables(table_name: str) -> None:
    table = LatencyTable.load(TABLES / table_name)
    space = get_space(table.space)
    rng = random.Random(3)
    archs = [space.mutate(space.sample(rng), rng) for _ in range(300)]
    archs += archs[:5]  # repeats in one batch
    batched = Predictor(table).predict_many(archs)
    scalar = Predictor(table)
    assert len(batched) == len(archs)
    for arch, got in zip(archs, batched, strict=True):
        want = scalar.predict(arch)
        assert got.arch == arch
        assert got.latency_ms == pytest.approx(want.latency_ms, rel=1e-12)
        assert got.raw_sum_ms == pytest.approx(want.raw_sum_ms, rel=1e-12)
        assert got.estimated_keys == want.estimated_keys
    if "mobilenet" in table_name:  # the grid table does estimate keys of random networks
        assert any(p.estimated for p in batched)


def test_predict_many_reuses_and_fills_the_cache(tiny_nb201_table) -> None:
    predictor = Predictor(tiny_nb201_table(fit={"scale": 1.5, "overhead_ms": 0.1}))
    nb201 = get_space("nb201")
    first = predictor.predict(nb201.from_index(7))
    batched = predictor.predict_many([nb201.from_index(7), nb201.from_index(8)])
    assert batched[0] is first
    assert predictor.predict(nb201.from_index(8)) is batched[1]


def test_vectorised_family_estimates_equal_the_scalar_ones() -> None:
    from nascli.latency.estimate import estimate, features, fit_families

    truth = {"one": 0.01, "dw_k3": 2e-6, "dw_k5": 4e-6, "expand": 3e-9, "project": 2.5e-9}
    truth["shortcut"] = 1e-9
    rng = random.Random(0)
    entries = {}
    for _ in range(40):
        key = LayerKey(
            "ir", rng.choice([16, 24, 32]), rng.choice([24, 40, 64]), rng.choice([3, 5]), 2,
            56, 56, mid=rng.choice([32, 96, 192]), act="relu", residual="proj", post_act="relu",
        )  # fmt: skip
        entries[key.to_str()] = sum(truth[n] * v for n, v in features(key).items())
    families = fit_families(entries)
    queries = [
        LayerKey("ir", 40, 56, 5, 2, 56, 56, mid=144, act="relu", residual="proj", post_act="relu"),
        LayerKey("ir", 40, 56, 7, 2, 56, 56, mid=144, act="relu", residual="proj", post_act="relu"),
        # identity unit: no family of its own, priced by the projection family
        LayerKey(
            "ir", 40, 40, 5, 2, 56, 56, mid=144, act="relu", residual="identity", post_act="relu"
        ),
        LayerKey("ir", 40, 56, 5, 1, 56, 56, mid=144, act="relu", residual="proj", post_act="relu"),
    ]
    rows = np.asarray([batch.key_row(key) for key in queries])
    got = batch.FamilyModels(families).estimate(rows)
    for key, value in zip(queries, got, strict=True):
        want = estimate(key, families)
        if want is None:
            assert np.isnan(value), key
        else:
            assert value == pytest.approx(want, rel=1e-12), key
    assert np.isnan(got[1]) and np.isnan(got[3]) and not np.isnan(got[2])


def test_predict_many_missing_key_and_foreign_space_errors(tiny_nb201_table) -> None:
    table = tiny_nb201_table()
    table.path = Path("t.json")
    gone = "nb201_pool:32>32:k3s1:m0:16x16:none:res=none:post=none"
    del table.entries[gone]
    nb201 = get_space("nb201")
    fine = nb201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    lacking = nb201.parse("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ConfigError, match="lacks 1 key") as info:
        Predictor(table).predict_many([fine, lacking])
    assert gone in str(info.value)
    mobilenet = get_space("mobilenet-imagenet").initial()
    with pytest.raises(ConfigError, match="is for space 'nb201'"):
        Predictor(table).predict_many([fine, mobilenet])


def test_out_of_range_fields_take_the_scalar_path() -> None:
    with pytest.raises(batch.OutOfRange):
        batch.group(np.array([0]), 1, 0, 1 << 17, 8, 3, 1, 32, 32, 0, 0, 0, 0)
    assert not batch.fits(channels=1 << 17, mid=8, size=224, kernel=3, stride=2)
    table = LatencyTable.load(TABLES / "cpu/mobilenet-imagenet-224.json")
    huge = LayerKey("conv", 3, 1 << 18, 3, 2, 224, 224, act="relu").to_str()
    table.entries[huge] = dict(next(iter(table.entries.values())))
    space = get_space(table.space)
    rng = random.Random(1)
    archs = [space.sample(rng) for _ in range(20)]
    scalar = Predictor(table)
    for got, arch in zip(Predictor(table).predict_many(archs), archs, strict=True):
        assert got.latency_ms == pytest.approx(scalar.predict(arch).latency_ms, rel=1e-12)
    # A network whose own keys do not pack (an expanded width past 2**22) is priced the same way.
    clean = LatencyTable.load(TABLES / "cpu/mobilenet-imagenet-224.json")
    genome = space.genome(archs[0])
    wide = genome.blocks[-1]._replace(width=1 << 20, expansion=6)
    giant = space.make(MacroGenome(genome.stem, (*genome.blocks[:-1], wide), genome.head))
    batch_only = Predictor(clean).predict_many([giant, archs[1]])
    assert batch_only[0].latency_ms == pytest.approx(Predictor(clean).predict(giant).latency_ms)
    assert batch_only[1].latency_ms == pytest.approx(Predictor(clean).predict(archs[1]).latency_ms)


def test_hash_collisions_cost_speed_not_correctness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every match is verified on the packed words: with a hash that always collides,
    deduplication and the table index step aside and the prices stay exact."""
    table = LatencyTable.load(TABLES / "cpu/mobilenet-imagenet-224.json")
    space = get_space(table.space)
    rng = random.Random(2)
    archs = [space.sample(rng) for _ in range(30)]
    want = [Predictor(table).predict(arch).latency_ms for arch in archs]
    monkeypatch.setattr(batch, "hash_words", lambda w1, w2: np.zeros(len(w1), np.uint64))
    rows = space.key_rows(archs)
    assert batch.distinct(rows) is None
    got = [p.latency_ms for p in Predictor(table).predict_many(archs)]
    assert got == pytest.approx(want, rel=1e-12)
