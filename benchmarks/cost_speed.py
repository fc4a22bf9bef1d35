"""Analytic cost throughput: architectures per second for each space (target ≥ 10,000/s).

Four figures per space: cold (random architectures, every one new, made by the space as
a search makes them, so the space already holds their parsed form), from text (the same
kind of new architectures given only as canonical strings: parsing included), search (a
mutation walk, as evolution produces them: each child differs from its parent in one or
two blocks, so per-block caches hit) and warm (the same architectures again).
Timed in CPU seconds of this process (process_time), so other load on a shared
machine disturbs the figures less.

    python benchmarks/cost_speed.py [--n 20000]
"""

from __future__ import annotations

import argparse
import random
import time

from nascli.spaces import arch_from_canonical, get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    print(
        f"{'space':<20} {'cold archs/s':>14} {'from text':>11} {'search archs/s':>15} "
        f"{'warm archs/s':>14}"
    )
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
        texts = [space.sample(rng).canonical for _ in range(args.n)]
        _forget(space)
        start = time.process_time()
        for text in texts:
            space.cost(arch_from_canonical(text))
        from_text = args.n / (time.process_time() - start)
        print(f"{name:<20} {cold:>14,.0f} {from_text:>11,.0f} {search:>15,.0f} {warm:>14,.0f}")


def _forget(space: object) -> None:
    """Drop a space's memory of parsed genomes and costs (the strings arrive from outside)."""
    genomes = getattr(space, "_genomes", None)
    if genomes is not None:
        genomes.clear()
    cost_cache = getattr(space, "_cost_cached", None)
    if cost_cache is not None:
        cost_cache.cache_clear()


if __name__ == "__main__":
    main()
