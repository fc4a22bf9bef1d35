"""Proxy evaluations per second: the plain path against networks lent again across proxies.

For each setting (space, proxy or ensemble, resolution, batch size x batches) the same
seeded networks are scored with every component proxy, alternately on the plain path
(``NASCLI_PLAIN_EVAL=1``: each proxy builds its own network) and with the model pool
(``nascli.proxies.model_pool``), ``--rounds`` times each, in one process and one run, so
the ratio is measured under the same load. With ``--workers 2`` two processes score
disjoint halves of the nets at once (what ``nascli search --workers 2`` does) and the
rate is nets over the wall time of both. Prints medians and the min–max spread.

    OMP_NUM_THREADS=1 python benchmarks/proxy_throughput.py --nets 12 --rounds 3
    OMP_NUM_THREADS=1 python benchmarks/proxy_throughput.py --nets 12 --rounds 3 --workers 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

# (label, space, proxy, resolution, batch size, batches): the shipped configs' fidelities,
# then ZiCo at the authors' ImageNet fidelity (224 px x 64 images).
SETTINGS = [
    ("NB201 nb201-rank (search: 32 px, 2 x 32)", "nb201", "nb201-rank", 32, 32, 2),
    ("Macro macro-rank (search: 32 px, 2 x 64)", "nas-bench-macro", "macro-rank", 32, 64, 2),
    ("MobileNet ZiCo (search: 96 px, 2 x 16)", "mobilenet-imagenet", "zico", 96, 16, 2),
    ("MobileNet ZiCo (authors: 224 px, 2 x 64)", "mobilenet-imagenet", "zico", 224, 64, 2),
]


def score_share(args: tuple[str, str, int, int, int, int, int, int, bool]) -> float:
    """Score nets ``start::step`` of the seeded sample; seconds spent."""
    space_name, proxy, resolution, batch_size, batches, nets, start, step, plain = args
    import random

    import torch

    from nascli.proxies.ensemble import parse_proxy_list
    from nascli.proxies.runner import prepare, run_proxy
    from nascli.spaces import get_space

    torch.set_num_threads(1)
    if plain:
        os.environ["NASCLI_PLAIN_EVAL"] = "1"
    else:
        os.environ.pop("NASCLI_PLAIN_EVAL", None)
    (item,) = parse_proxy_list(proxy)
    scorer = prepare(
        list(item.components), space_name=space_name, batch_size=batch_size, batches=batches,
        resolution=resolution, warn=lambda _: None,
    )  # fmt: skip
    space = get_space(space_name)
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(nets)][start::step]
    begin = time.perf_counter()
    for arch in archs:
        candidate = scorer.candidate(arch)
        for name in item.components:
            run_proxy(name, scorer.proxies[name], candidate, scorer.batches)
    return time.perf_counter() - begin


def rate(setting: tuple, nets: int, workers: int, plain: bool, pool: ProcessPoolExecutor) -> float:
    """Nets per second over the wall time of ``workers`` processes scoring at once."""
    _, space, proxy, resolution, batch_size, batches = setting
    jobs = [
        (space, proxy, resolution, batch_size, batches, nets, w, workers, plain)
        for w in range(workers)
    ]
    begin = time.perf_counter()
    list(pool.map(score_share, jobs))
    return nets / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--nets", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", default="", help="run settings whose label contains this")
    args = parser.parse_args()
    print(f"{args.nets} seeded nets, {args.rounds} alternating rounds, {args.workers} worker(s)")
    print("| setting | plain nets/s | pooled nets/s | pooled / plain |")
    print("| --- | --- | --- | --- |")
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for setting in SETTINGS:
            if args.only and args.only not in setting[0]:
                continue
            rate(setting, min(args.nets, args.workers), args.workers, True, pool)  # warm-up
            plain, pooled = [], []
            for _ in range(args.rounds):
                plain.append(rate(setting, args.nets, args.workers, True, pool))
                pooled.append(rate(setting, args.nets, args.workers, False, pool))
            ratios = [b / a for a, b in zip(plain, pooled, strict=True)]
            print(
                f"| {setting[0]} | {statistics.median(plain):.3f} "
                f"[{min(plain):.3f}, {max(plain):.3f}] | {statistics.median(pooled):.3f} "
                f"[{min(pooled):.3f}, {max(pooled):.3f}] | {statistics.median(ratios):.2f} "
                f"[{min(ratios):.2f}, {max(ratios):.2f}] |",
                flush=True,
            )


if __name__ == "__main__":
    main()
