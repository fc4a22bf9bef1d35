"""The shipped FBNet space (``fbnet-cifar100``): HW-NAS-Bench's / HELP's CIFAR-100 network.

Params/MACs against HW-NAS-Bench's own ``model_infer.py`` are compared by
``benchmarks/fbnet_reference.py`` (that file is not part of nascli); here the analytic cost
is checked against hand-derived values and torch's counter for every kind of layer.
"""

from __future__ import annotations

import csv
import itertools
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.spaces import get_space, list_spaces, resolve_arch

CSV = "fbnet_latency_dev_devices.csv"
CHOICES = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"]
ROW0 = ("k5_e6-skip-k3_e1_g2-skip-k5_e1-skip-skip-skip-k5_e6-k5_e1-k3_e1_g2-k5_e1-k5_e6-k3_e6-"
        "k3_e3-k5_e6-k3_e6-k3_e3-k5_e1-k3_e3-k5_e1-k5_e1_g2")  # fmt: skip


def test_fbnet_is_a_shipped_space_with_the_v1_skeleton() -> None:
    assert "fbnet-cifar100" in list_spaces()
    info = get_space("fbnet-cifar100").describe()
    assert info["size"] == 9**22 and info["num_classes"] == 100 and info["resolution"] == 32
    widths = [layer["width"] for layer in info["layers"]]
    assert widths == [16] + [24] * 4 + [32] * 4 + [64] * 4 + [112] * 4 + [184] * 4 + [352]
    strides = [i for i, layer in enumerate(info["layers"]) if layer["stride"] == 2]
    assert strides == [5, 9, 17]  # CIFAR: stages 3, 4 and 6 halve the map
    assert all(layer["choices"] == CHOICES for layer in info["layers"])


def test_hand_derived_cost_of_a_grouped_layer_and_a_projecting_skip() -> None:
    """Layer 2 (16→24, stride 1, 32×32) as k3_e1_g2; layer 6 (24→32, stride 2) as skip."""
    space = get_space("fbnet-cifar100")
    keys = space.layers(space.make(["skip"] + ["k3_e1_g2"] + ["skip"] * 20))
    grouped = keys[1]
    assert grouped == LayerKey("ir_g2", 16, 24, 3, 1, 32, 32, mid=16, act="relu")
    # 1×1 16→16 in 2 groups (128 w) + BN, dw 3×3 (144 w) + BN, 1×1 16→24 in 2 groups (192 w) + BN
    params = 128 + 32 + 144 + 32 + 192 + 48
    macs = (128 + 144 + 192) * 32 * 32
    from nascli.cost import block_cost

    assert (block_cost(grouped).params, block_cost(grouped).macs) == (params, macs)
    skip = keys[2]  # layers 3-5 keep the shape: nothing; layer 6 projects 24→32, stride 2
    assert skip == LayerKey("conv", 24, 32, 1, 2, 32, 32, act="relu")
    assert (block_cost(skip).params, block_cost(skip).macs) == (24 * 32 + 64, 24 * 32 * 16 * 16)


def test_expansion_one_keeps_its_1x1_expansion_conv() -> None:
    space = get_space("fbnet-cifar100")
    keys = space.layers(space.make(["k5_e1"] * 22))
    assert keys[1] == LayerKey("ir", 16, 16, 5, 1, 32, 32, mid=16, act="relu", residual="identity")
    assert keys[2].mid == 16 and keys[2].residual == "none"  # 16→24: no shortcut


@pytest.mark.parametrize("choice", CHOICES)
def test_torch_network_has_the_analytic_params_and_macs(choice: str) -> None:
    """Every layer kind, at every layer of the skeleton (a net of one choice throughout)."""
    space = get_space("fbnet-cifar100")
    arch = space.make([choice] * 22)
    cost = space.cost(arch)
    model = space.build(arch).eval()
    assert sum(p.numel() for p in model.parameters()) == cost.params
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        logits = model(torch.zeros(1, 3, 32, 32))
    assert counter.get_total_flops() == 2 * cost.macs
    assert logits.shape == (1, 100)


def test_channel_shuffle_interleaves_the_two_groups() -> None:
    from nascli.spaces.blocks.torch_parts import ChannelShuffle

    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(2)(x).flatten().tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def test_grouped_block_rejects_odd_widths() -> None:
    from nascli.spaces.blocks import Block, block_type

    with pytest.raises(ConfigError, match="multiples of 2"):
        block_type("fbnet_ir_g2").expand(Block("fbnet_ir_g2", 3, 1, 25, 1, 0, 1), 16, 8, True)


def test_skips_move_to_the_end_of_shape_keeping_runs() -> None:
    space = get_space("fbnet-cifar100")
    names = ["k3_e3"] + ["k3_e3", "skip", "skip", "k5_e6"] + ["k3_e3"] * 17
    canonical = space.names(space.canonical(names))
    assert canonical[1:5] == ("k3_e3", "k5_e6", "skip", "skip")
    assert space.cost(space.make(names)) == space.cost(space.canonical(names))
    assert space.parse("-".join(names)).body == "-".join(names)  # parse keeps it as written


@pytest.mark.slow
def test_every_csv_arch_string_is_accepted_as_it_is(shared_file) -> None:
    with shared_file(CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5000
    space = get_space("fbnet-cifar100")
    for row in rows:
        arch = resolve_arch(row["arch"], "fbnet-cifar100")
        assert arch.body == row["arch"]
    assert resolve_arch(f"fbnet-cifar100:{ROW0}").body == ROW0
    with pytest.raises(ConfigError, match="not in"):
        space.parse(ROW0.replace("k5_e6", "k7_e6", 1))
    with pytest.raises(ConfigError, match="21 layers"):
        space.parse(ROW0.rsplit("-", 1)[0])


def test_arch_info_and_proxies_bench_take_the_csv_strings(shared_file, tmp_path) -> None:
    from typer.testing import CliRunner

    from nascli.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["arch", "info", ROW0, "--space", "fbnet-cifar100", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    cost = get_space("fbnet-cifar100").cost(resolve_arch(ROW0, "fbnet-cifar100"))
    assert (info["macs"], info["params"]) == (cost.macs, cost.params)
    with shared_file(CSV).open(newline="") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), 12))
    path = tmp_path / "fbnet.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = ["proxies", "bench", "--space", "fbnet-cifar100", "--ground-truth", str(path),
            "--target", "samsung_a50_ms", "--proxy", "flops", "--sample", "all",
            "--cache-dir", str(tmp_path / "cache"), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_archs"] == 12
