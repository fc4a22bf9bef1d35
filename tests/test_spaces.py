"""Search-space protocol: validation, NB201 indexing, sampling/mutation, Optuna suggestion."""

from __future__ import annotations

import csv
import random

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nascli.errors import ConfigError
from nascli.spaces import get_space, list_spaces, resolve_arch
from nascli.spaces.base import SearchSpace
from nascli.spaces.nb201 import NUM_CELLS, official_order, to_string

from .conftest import REPO


def test_registry_lists_builtin_spaces() -> None:
    names = list_spaces()
    assert {"mobilenet-imagenet", "resnet-imagenet", "nb201"} <= set(names)
    for name in names:
        assert isinstance(get_space(name), SearchSpace)


def test_unknown_space_suggests_close_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'nb201'"):
        get_space("nb210")


def test_nb201_index_mapping_matches_the_benchmark_table(shared_file) -> None:
    path = shared_file("nb201_accuracy.csv")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == NUM_CELLS
    order = official_order()
    space = get_space("nb201")
    for row in rows:
        index = int(row["index"])
        assert "|" + to_string(order[index])[1:] == row["arch_str"]
    for index in (0, 1, 13714, 15624):
        arch = space.from_index(index)
        assert arch.body == rows[index]["arch_str"]
        assert space.index(arch) == index


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|none~1|none~2|",
        "nb201:15625",
        "nb201:-1",
    ],
)
def test_bad_nb201_inputs_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        resolve_arch(bad)


def test_kernel_outside_space_is_rejected(tmp_path) -> None:
    text = (REPO / "configs" / "archs" / "zico-600m.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("kernel: 5", "kernel: 4", 1))
    with pytest.raises(ConfigError, match="kernel 4"):
        resolve_arch(str(bad))


def test_macro_sampling_follows_template_strides() -> None:
    space = get_space("mobilenet-imagenet")
    rng = random.Random(0)
    strides = [stage.stride for stage in space.template]
    for _ in range(20):
        arch = space.sample(rng)
        genome = space.genome(arch)
        assert [b.stride for b in genome.blocks] == strides
        child = space.mutate(arch, rng)
        assert [b.stride for b in space.genome(child).blocks] == strides
        diff = sum(a != b for a, b in zip(genome.blocks, space.genome(child).blocks, strict=True))
        assert diff <= 2


@pytest.mark.parametrize("name", ["mobilenet-imagenet", "resnet-imagenet", "nb201"])
def test_suggest_with_a_real_optuna_trial(name: str) -> None:
    space = get_space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    arch = space.suggest(trial)
    space.validate(arch)
    assert trial.params  # the architecture came from the trial's suggestions


def test_zico_layer_rule_counts_sub_layers() -> None:
    space = get_space("mobilenet-imagenet")
    assert space.num_layers(resolve_arch(str(REPO / "configs/archs/zico-600m.yaml"))) == 14
    assert space.num_layers(resolve_arch(str(REPO / "configs/archs/zico-1g.yaml"))) == 16


def test_user_space_yaml_errors_name_the_key(tmp_path) -> None:
    text = (REPO / "configs" / "spaces" / "resnet-imagenet.yaml").read_text()
    path = tmp_path / "my.yaml"
    path.write_text(text.replace("num_classes: 1000", "num_clases: 1000"))
    with pytest.raises(ConfigError, match="num_clases"):
        get_space(str(path))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    space_name=st.sampled_from(["mobilenet-imagenet", "resnet-imagenet", "nb201"]),
    resolution=st.sampled_from([None, 32, 160]),
)
def test_key_counts_are_layers_counted(seed: int, space_name: str, resolution) -> None:
    """Latency prediction prices (key, count) pairs; they must be exactly ``layers()``."""
    from collections import Counter

    space = get_space(space_name)
    rng = random.Random(seed)
    arch = space.mutate(space.sample(rng), rng)
    pairs = space.key_counts(arch, resolution=resolution)
    assert len({key for key, _ in pairs}) == len(pairs)
    assert Counter(dict(pairs)) == Counter(space.layers(arch, resolution=resolution))
