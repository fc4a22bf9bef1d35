"""Layer-wise choice spaces (``family: layerwise``) and the shipped NAS-Bench-Macro space."""

from __future__ import annotations

import csv
import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.spaces import arch_from_yaml, arch_to_yaml, get_space, list_spaces, resolve_arch
from nascli.spaces.base import SearchSpace
from nascli.spaces.layerwise import LayerwiseSpace

MACRO_CSV = "nas_bench_macro_cifar10.csv"


def test_nas_bench_macro_is_a_shipped_space() -> None:
    assert "nas-bench-macro" in list_spaces()
    space = get_space("nas-bench-macro")
    assert isinstance(space, SearchSpace) and isinstance(space, LayerwiseSpace)
    assert space.describe()["size"] == 3**8


def test_reproduces_params_and_macs_of_every_benchmark_network(shared_file) -> None:
    """All 6,561 rows of the benchmark: params and MACs (conv + linear, 32×32) exactly."""
    path = shared_file(MACRO_CSV)
    space = get_space("nas-bench-macro")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3**8
    wrong = []
    for row in rows:
        cost = space.cost(space.parse(row["arch"]))
        if (cost.params, cost.macs) != (int(row["params"]), int(row["flops"])):
            wrong.append((row["arch"], cost.params, row["params"], cost.macs, row["flops"]))
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("code", ["00000000", "01201122", "22222222", "10101010"])
def test_torch_build_has_the_analytic_params_and_macs(code: str) -> None:
    space = get_space("nas-bench-macro")
    arch = space.parse(code)
    model = space.build(arch).eval()
    cost = space.cost(arch)
    assert sum(p.numel() for p in model.parameters()) == cost.params
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        logits = model(torch.zeros(1, 3, 32, 32))
    assert counter.get_total_flops() == 2 * cost.macs
    assert logits.shape == (1, 10)


def test_identity_at_a_stage_start_is_a_strided_1x1_conv_without_activation() -> None:
    space = get_space("nas-bench-macro")
    keys = space.layers(space.parse("00000000"))
    assert keys[1] == LayerKey("conv", 32, 64, 1, 2, 32, 32, act="none")
    assert [k.op for k in keys] == ["conv"] * 5 + ["pool_fc"]  # stem, 3 downsamples, head
    mb = space.layers(space.parse("01000000"))[2]
    assert (mb.op, mb.cin, mb.mid, mb.kernel, mb.act, mb.residual) == (
        "ir",
        64,
        192,
        3,
        "relu",
        "identity",
    )


def test_arch_codes_keep_leading_zeros_and_round_trip() -> None:
    space = get_space("nas-bench-macro")
    arch = resolve_arch("01201122", "nas-bench-macro")
    assert arch.canonical == "nas-bench-macro:01201122"
    assert resolve_arch("nas-bench-macro:00000001") == Arch("nas-bench-macro", "00000001")
    assert space.to_dict(arch) == {"space": "nas-bench-macro", "layers": list("01201122")}
    assert arch_from_yaml(arch_to_yaml(arch)) == arch
    assert space.from_dict({"space": "nas-bench-macro", "arch": "01201122"}) == arch
    for bad in ("0120112", "012011220", "01201123", "0120112x"):
        with pytest.raises(ConfigError):
            space.parse(bad)


def test_sample_mutate_and_suggest_stay_in_the_space() -> None:
    import optuna

    space = get_space("nas-bench-macro")
    rng = random.Random(0)
    seen = set()
    for _ in range(50):
        arch = space.sample(rng)
        child = space.mutate(arch, rng)
        space.validate(child)
        assert child != arch and space.canonical(space.names(child)) == child
        seen.add(arch)
    assert len(seen) > 40
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    space.validate(space.suggest(trial))


def test_search_moves_return_the_benchmarks_canonical_code(shared_file) -> None:
    """A no-op identity moves to its stage's end, exactly as NAS-Bench-Macro's canonical_arch."""
    space = get_space("nas-bench-macro")
    assert space.canonical(tuple("00000001")).body == "00000010"  # layers 6-7: 0 1 → 1 0
    assert space.canonical(tuple("01000000")).body == "01000000"  # a stage start is a conv
    rows = _macro_rows(shared_file)
    wrong = [r for r in rows if space.canonical(tuple(r["arch"])).body != r["canonical_arch"]]
    assert wrong == []
    assert space.parse("00000001").body == "00000001"  # a code as written stays as written
    rng = random.Random(1)
    assert all(space.sample(rng).body in {r["canonical_arch"] for r in rows} for _ in range(30))


FBNET_LIKE = {
    "name": "fbnet-like",
    "family": "layerwise",
    "resolution": 64,
    "num_classes": 5,
    "stem": {"kernel": 3, "stride": 2, "width": 16},
    "head": {"width": 64},
    "choices": {
        "k3_e1": {"type": "ir_relu", "kernel": 3, "expansion": 1},
        "k5_e6": {"type": "ir_relu", "kernel": 5, "expansion": 6},
        "b3": {"type": "basic", "kernel": 3, "bottleneck": 8},
        "skip": {"type": "identity"},
    },
    "stages": [
        {"width": 16, "stride": 1, "layers": 1, "choices": ["k3_e1"]},
        {"width": 24, "stride": 2, "layers": 2},
        {"width": 32, "stride": 2, "layers": 2, "choices": ["k5_e6", "skip"]},
    ],
}


def test_multi_character_choice_names_are_joined_with_dashes() -> None:
    space = LayerwiseSpace.from_config(FBNET_LIKE, "fbnet-like.yaml")
    arch = space.parse("k3_e1-b3-skip-skip-k5_e6")
    assert space.names(arch) == ("k3_e1", "b3", "skip", "skip", "k5_e6")
    model = space.build(arch).eval()
    assert sum(p.numel() for p in model.parameters()) == space.cost(arch).params
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 5)
    with pytest.raises(ConfigError, match="layer 3 choice 'b3'"):
        space.parse("k3_e1-b3-skip-b3-k5_e6")
    with pytest.raises(ConfigError, match="layer 0 choice 'skip'"):
        space.parse("skip-b3-skip-skip-k5_e6")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"choices": {"a": {"type": "nope"}}}, "type 'nope' not in"),
        ({"choices": {"a": {"type": "basic", "kernel": 3}}}, "needs a bottleneck"),
        ({"choices": {"a": {"type": "identity", "bottleneck": 3}}}, "has no bottleneck"),
        ({"stages": [{"width": 8, "stride": 3}]}, "stride must be 1 or 2"),
        ({"stages": [{"width": 8, "choices": ["zz"]}]}, "not among"),
        ({"colour": "red"}, "unknown keys"),
        ({"name": "nb201"}, "invalid space name"),
        ({"proxy": 3}, "proxy must be a str"),
        ({"proxy": " "}, "proxy must name"),
    ],
)
def test_bad_space_files_name_the_broken_field(edit: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LayerwiseSpace.from_config({**FBNET_LIKE, **edit}, "x.yaml")


def _macro_rows(shared_file) -> list[dict[str, str]]:
    with shared_file(MACRO_CSV).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_ground_truth_csv_keeps_only_canonical_rows_unless_asked(shared_file) -> None:
    from nascli.bench import load_ground_truth

    path = shared_file(MACRO_CSV)
    rows = _macro_rows(shared_file)
    canonical = [r for r in rows if r["is_canonical"] == "1"]
    truth = load_ground_truth(path, space="nas-bench-macro", target="mean_acc", sample=None, seed=0)
    assert len(truth.archs) == len(canonical) == 3969
    assert [a.body for a in truth.archs[:3]] == [r["arch"] for r in canonical[:3]]
    every = load_ground_truth(
        path, space="nas-bench-macro", target="mean_acc", sample=None, seed=0,
        canonical_only=False,
    )  # fmt: skip
    assert len(every.archs) == 6561 and every.archs[0].body == "00000000"


def test_flops_and_params_rank_like_the_issue_states_on_canonical_rows(shared_file) -> None:
    """FLOPs ρ .738 and #params ρ .315 against mean accuracy on the 3,969 canonical nets."""
    from scipy.stats import spearmanr

    space = get_space("nas-bench-macro")
    canonical = [r for r in _macro_rows(shared_file) if r["is_canonical"] == "1"]
    costs = [space.cost(space.parse(r["arch"])) for r in canonical]
    accuracy = [float(r["mean_acc"]) for r in canonical]
    assert spearmanr([c.macs for c in costs], accuracy).statistic == pytest.approx(0.738, abs=5e-4)
    assert spearmanr([c.params for c in costs], accuracy).statistic == pytest.approx(
        0.315, abs=5e-4
    )


def test_cli_bench_reads_the_benchmark_csv_as_it_is(shared_file, tmp_path) -> None:
    """``proxies bench`` on a slice of the shipped CSV (8-digit codes with leading zeros)."""
    import json

    from typer.testing import CliRunner

    from nascli.cli import app

    rows = _macro_rows(shared_file)[:40]
    path = tmp_path / "macro.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = ["proxies", "bench", "--space", "nas-bench-macro", "--ground-truth", str(path),
            "--target", "mean_acc", "--proxy", "flops", "--sample", "all",
            "--cache-dir", str(tmp_path / "cache"), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_archs"] == sum(r["is_canonical"] == "1" for r in rows) < 40
    again = CliRunner().invoke(app, [*args, "--all-rows"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["n_archs"] == 40


def test_all_keys_are_exactly_the_keys_of_every_network() -> None:
    """Latency tables measure ``all_keys`` for this space: it must miss none, add none."""
    import itertools

    from nascli.spaces import EnumeratesKeys

    space = get_space("nas-bench-macro")
    assert isinstance(space, EnumeratesKeys)
    every: set[LayerKey] = set()
    for code in itertools.product("012", repeat=8):
        every.update(space.layers(space.make(code), resolution=32))
    assert set(space.all_keys(32)) == every
    probes = space.probe_archs(3, seed=0)
    assert {k for arch in probes for k in space.layers(arch, resolution=32)} == every


def test_latency_tables_measure_every_key_of_a_layerwise_space() -> None:
    from nascli.latency.grid import profile_keys

    space = get_space("nas-bench-macro")
    keys, how = profile_keys(space, 32)
    assert how["method"] == "exact" and keys == space.all_keys(32)
