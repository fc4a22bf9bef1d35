"""Params and MACs of ``fbnet-cifar100`` next to HW-NAS-Bench's own FBNet network, per layer.

HW-NAS-Bench (Li et al., ICLR 2021; ``GATECH-EIC/HW-NAS-Bench``, MIT) defines the network
behind its and HELP's FBNet latencies in ``hw_nas_bench_api/fbnet_models/model_infer.py``.
This script loads that file from a local git mirror of the repository (nothing of it is in
nascli), builds ``FBNet_Infer`` for the CIFAR-100 setting and compares, for every one of the
22 layers × 9 choices, the reference cell's parameter count and MACs (torch's counter) with
nascli's analytic cost of the same layer; then whole networks (the 9 single-choice nets and
seeded random ones). Exit status 1 when any figure differs.

    python benchmarks/fbnet_reference.py [--git-dir ../.mirror/GATECH-EIC+HW-NAS-Bench/repo]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from nascli.cost import network_cost
from nascli.spaces import get_space
from nascli.spaces.blocks.registry import block_type

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GIT_DIR = ROOT.parent / ".mirror" / "GATECH-EIC+HW-NAS-Bench" / "repo"
MODEL_FILE = "hw_nas_bench_api/fbnet_models/model_infer.py"


def load_reference(git_dir: Path, file: Path | None) -> object:
    """The reference module, from ``file`` or from the mirror's HEAD (a temporary copy)."""
    if file is None:
        text = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"HEAD:{MODEL_FILE}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        file = Path(tempfile.mkdtemp()) / "model_infer.py"
        file.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("hw_nas_bench_model_infer", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_costs(ref: object, choices: list[str]) -> tuple[int, int, list[tuple[int, int]]]:
    """(params, MACs, [(params, MACs) per cell]) of the reference net for ``choices``."""
    primitives = list(ref.PRIMITIVES)  # type: ignore[attr-defined]
    config = {"op_idx_list": [primitives.index(c) for c in choices], "num_classes": 100,
              "dataset": "cifar100"}  # fmt: skip
    model = ref.FBNet_Infer(config).eval()  # type: ignore[attr-defined]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    counts = counter.get_flop_counts()
    cells = []
    for i, cell in enumerate(model.cells):
        flops = sum(counts.get(f"FBNet_Infer.cells.{i}", {}).values())
        cells.append((sum(p.numel() for p in cell.parameters()), int(flops) // 2))
    total = int(counter.get_total_flops()) // 2
    return sum(p.numel() for p in model.parameters()), total, cells


def nascli_layer_costs(space: object, choices: list[str]) -> list[tuple[int, int]]:
    """nascli's analytic (params, MACs) of each searchable layer of ``choices``."""
    arch = space.make(choices)  # type: ignore[attr-defined]
    out, channels, size = [], space.stem_width, space.resolution  # type: ignore[attr-defined]
    for block in space.blocks(arch):  # type: ignore[attr-defined]
        units = block_type(block.type).expand(block, channels, size, True)
        cost = network_cost(units)
        out.append((cost.params, cost.macs))
        size, channels = (units[-1].h_out if units else size), block.width
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--git-dir", type=Path, default=DEFAULT_GIT_DIR)
    parser.add_argument("--file", type=Path, default=None, help="a checkout's model_infer.py")
    parser.add_argument("--random", type=int, default=30, help="seeded random whole networks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = load_reference(args.git_dir, args.file)
    space = get_space("fbnet-cifar100")
    names = list(ref.PRIMITIVES)  # type: ignore[attr-defined]
    print(f"reference: {MODEL_FILE} ({args.file or args.git_dir})")
    print(f"{'choice':10s} {'layers':>6s} {'params equal':>13s} {'MACs equal':>11s}"
          f" {'net params ref / nascli':>26s} {'net MACs ref / nascli':>26s}")  # fmt: skip
    bad = 0
    for choice in names:
        nets = [choice] * 22
        params, macs, cells = reference_costs(ref, nets)
        mine = nascli_layer_costs(space, nets)
        same_p = sum(c[0] == m[0] for c, m in zip(cells, mine, strict=True))
        same_m = sum(c[1] == m[1] for c, m in zip(cells, mine, strict=True))
        cost = space.cost(space.make(nets))
        bad += (22 - same_p) + (22 - same_m) + (params != cost.params) + (macs != cost.macs)
        print(f"{choice:10s} {22:6d} {same_p:13d} {same_m:11d} "
              f"{params:>12,d} / {cost.params:<11,d} {macs:>12,d} / {cost.macs:<11,d}")  # fmt: skip
    rng = random.Random(0)
    wrong = 0
    for _ in range(args.random):
        nets = [rng.choice(names) for _ in range(22)]
        params, macs, _ = reference_costs(ref, nets)
        cost = space.cost(space.make(nets))
        wrong += (params, macs) != (cost.params, cost.macs)
    print(f"random whole networks (seed 0): {args.random - wrong}/{args.random} equal")
    bad += wrong
    print("all equal" if bad == 0 else f"{bad} figures differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
