"""Analytic cost throughput: architectures per second for each space (target ≥ 10,000/s).

Three figures per space: cold (random architectures, every one new), search (a mutation
walk, as evolution produces them: each child differs from its parent in one or two blocks,
so per-block caches hit) and warm (the same architectures again).
Timed in CPU seconds of this process (process_time), so other load on a shared
machine disturbs the figures less.

    python benchmarks/cost_speed.py [--n 20000]
"""

from __future__ import annotations

import argparse
import random
import time

from nascli.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'space':<20} {'cold archs/s':>14} {'search archs/s':>15} {'warm archs/s':>14}")
    for name in ("mobilenet-imagenet", "resnet-imagenet", "nb201"):
        space = get_space(name)
        rng = random.Random(0)
        archs = [space.sample(rng) for _ in range(args.n)]
        start = time.process_time()
        for arch in archs:
            space.cost(arch)
        cold = args.n / (time.process_time() - start)
        walk, parent = [], space.sample(random.Random(1))
        for _ in range(args.n):
            parent = space.mutate(parent, rng)
            walk.append(parent)
        start = time.process_time()
        for arch in walk:
            space.cost(arch)
        search = args.n / (time.process_time() - start)
        start = time.process_time()
        for arch in archs[:4000]:
            space.cost(arch)
        warm = 4000 / (time.process_time() - start)
        print(f"{name:<20} {cold:>14,.0f} {search:>15,.0f} {warm:>14,.0f}")


if __name__ == "__main__":
    main()
