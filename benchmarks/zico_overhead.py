"""Does ZiCo's math dominate its cost? ZiCo time per arch vs the bare passes it needs.

ZiCo needs, per network: build + initialise it, then N forward+backward passes (one per
batch). This script times ``nascli``'s ZiCo (``run_proxy``, so exactly what ``nascli score``
and the search pay) against the same build plus N bare forward+backward passes on the
same batches, and prints the ratio (target ≤ 1.2) and the NB201 throughput in archs/s.
Each measurement is the minimum of ``--repeats`` runs (the steadiest statistic on a
shared machine).

    python benchmarks/zico_overhead.py --nb201-cells 5
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nascli.arch import Arch
    from nascli.proxies.base import Candidate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def bare_seconds(candidate: Candidate, batches: list, residual: bool) -> float:
    """Build the network as ZiCo does, then one forward+backward per batch."""
    import torch.nn.functional as F

    start = time.perf_counter()
    model = candidate.build(residual=residual)
    model.train()
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    return time.perf_counter() - start


def measure(
    space_name: str,
    archs: list[Arch],
    data: Path | None,
    resolution: int,
    batch_size: int,
    repeats: int,
) -> tuple[float, float]:
    from nascli.proxies.runner import prepare, run_proxy

    scorer = prepare(["zico"], space_name=space_name, data=data, batch_size=batch_size,
                     batches=2, resolution=resolution, seed=0)  # fmt: skip
    proxy = scorer.proxies["zico"]
    residual = bool(getattr(proxy, "residual", False))
    zico_total = bare_total = 0.0
    for arch in archs:
        candidate = scorer.candidate(arch)
        zico = min(
            run_proxy("zico", proxy, candidate, scorer.data.batches).seconds for _ in range(repeats)
        )
        bare = min(bare_seconds(candidate, scorer.data.batches, residual) for _ in range(repeats))
        zico_total += zico
        bare_total += bare
    n = len(archs)
    return zico_total / n, bare_total / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nb201-cells", type=int, default=5)
    parser.add_argument("--macro-archs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from nascli.spaces import get_space

    torch.set_num_threads(args.threads)
    rng = random.Random(0)
    print(f"ZiCo overhead (threads {args.threads}, min of {args.repeats} runs)")
    print(f"{'setting':<44} {'ZiCo s/arch':>11} {'bare s/arch':>11} {'ratio':>6} {'archs/s':>8}")
    cifar = SHARED / "cifar10_test_1000.npz"
    nb201 = get_space("nb201")
    cells = [nb201.sample(rng) for _ in range(args.nb201_cells)]
    zico, bare = measure("nb201", cells, cifar if cifar.is_file() else None, 32, 64, args.repeats)
    label = f"nb201, {len(cells)} cells, 32 px x 64 x 2"
    print(f"{label:<44} {zico:11.3f} {bare:11.3f} {zico / bare:6.2f} {1 / zico:8.2f}")
    imagenet = SHARED / "imagenet_64_224.npz"
    macro = get_space("mobilenet-imagenet")
    nets = [macro.sample(rng) for _ in range(args.macro_archs)]
    for res, batch in ((96, 16), (128, 32)):
        zico, bare = measure(
            "mobilenet-imagenet", nets, imagenet if imagenet.is_file() else None, res, batch,
            args.repeats,
        )  # fmt: skip
        label = f"mobilenet-imagenet, {len(nets)} archs, {res} px x {batch} x 2"
        print(f"{label:<44} {zico:11.3f} {bare:11.3f} {zico / bare:6.2f} {1 / zico:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
