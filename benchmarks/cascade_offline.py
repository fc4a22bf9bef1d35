"""Choose a cascade's rule offline, from cached proxy scores of a seeded NB201 sample.

A cascade (``--algo cascade``) screens N budget-feasible networks with a cheap proxy and lets
the strong proxy pick among the screen's best K. Its outcome can be replayed from scores that
``nascli proxies bench`` cached for a seeded sample: draw N networks of the sample (within the
MACs budget), keep the K the screen scores highest (ties in a random order), and return the one
the strong proxy values highest. The strong proxy's value is the search's own definition for an
ensemble, ``Σ_p log F_p`` over a fixed reference (``nascli.proxies.ensemble.ReferenceScores``);
the reference here is every sampled network the strong proxy's components are cached for.

Only draws whose K finalists all have cached strong scores count (the column ``covered`` says
how many did); the strong proxy is typically scored only on the networks some screen ranks
high. Beside each rule, two references on the same draws: the screen alone (its argmax) and a
perfect ranking of the N drawn networks.

    nascli proxies bench --ground-truth ../shared/data/nb201_accuracy.csv --target \\
        test_acc_cifar10 --proxy flops,synflow,meco,naswot --data \\
        ../shared/data/cifar10_test_1000.npz --sample 1000 --seed 0 --batch-size 32 \\
        --cache-dir CACHE        # then the strong proxy on the networks to cover
    python benchmarks/cascade_offline.py --cache-dir CACHE
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--ground-truth", type=Path, default=SHARED / "nb201_accuracy.csv")
    parser.add_argument("--target", default="test_acc_cifar10")
    parser.add_argument("--data", type=Path, default=SHARED / "cifar10_test_1000.npz")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--budget", type=float, default=120e6, help="MACs budget")
    parser.add_argument("--strong", default="nb201-rank", help="comma-separated list")
    parser.add_argument("--screens", default="flops,synflow,meco,naswot")
    parser.add_argument("--sizes", default="250,500,all", help="screen sizes N (of the sample)")
    parser.add_argument("--finalists", default="10,25,50,100", help="K values")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument(
        "--cover-csv", type=Path, default=None,
        help="write the ground-truth rows of each screen's --cover-top best sampled networks "
        "(for nascli proxies bench --sample all with the strong proxy) and stop",
    )  # fmt: skip
    parser.add_argument("--cover-top", type=int, default=150)
    args = parser.parse_args()
    if not args.ground_truth.is_file() or not args.data.is_file():
        print(f"skipped: {args.ground_truth} or {args.data} not found (../shared/data)")
        return 0
    from nascli.bench import load_ground_truth
    from nascli.proxies.ensemble import ReferenceScores, parse_proxy_list
    from nascli.score_cache import ScoreCache, data_fingerprint, settings_key
    from nascli.spaces import get_space

    truth = load_ground_truth(
        args.ground_truth, space="nb201", target=args.target, sample=args.sample, seed=args.seed
    )
    space = get_space("nb201")
    rows = [
        (a.canonical, t)
        for a, t in zip(truth.archs, truth.targets, strict=True)
        if space.cost(a).macs <= args.budget
    ]
    strongs = parse_proxy_list(args.strong)
    screens = [s.strip() for s in args.screens.split(",") if s.strip()]
    names = list(dict.fromkeys([*(n for i in strongs for n in i.components), *screens]))
    scores: dict[str, dict[str, float]] = {}
    with ScoreCache(args.cache_dir) as cache:
        for name in names:
            key = settings_key(
                name, {}, data=data_fingerprint(args.data), batch_size=args.batch_size,
                batches=args.batches, resolution=None, seed=args.seed, space="nb201",
                augment=False,
            )  # fmt: skip
            got = cache.get_many(key, [c for c, _ in rows])
            scores[name] = {c: float(v[0]) for c, v in got.items() if v[0] is not None}
    if args.cover_csv is not None:
        return write_cover(args.cover_csv, args.ground_truth, rows, screens, scores, args.cover_top)
    accuracy = dict(rows)
    print(f"{len(rows)} sampled networks within {args.budget:.3g} MACs ({args.target}); "
          f"{args.draws} draws per size")  # fmt: skip
    print("| strong | screen | N | K | covered | cascade mean (median) | screen alone | "
          "strong on K random | perfect |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ks = [int(k) for k in args.finalists.split(",")]
    for item in strongs:
        strong = strong_values(item.components, scores, [c for c, _ in rows], ReferenceScores)
        if strong is None:
            print(f"| {item.name} | cached for fewer than 2 networks; score it first |")
            continue
        for size_text in args.sizes.split(","):
            size = len(rows) if size_text == "all" else int(size_text)
            for screen in screens:
                for k in ks:
                    row = replay(rows, scores[screen], strong, accuracy, size, k, args.draws)
                    if row is not None:
                        print(f"| {item.name} ({len(strong)} cached) | {screen} | {size} | {k} "
                              f"| {row} |")  # fmt: skip
    return 0


def write_cover(path, ground_truth, rows, screens, scores, top) -> int:
    """The union of every screen's ``top`` best networks, as rows of the ground-truth CSV."""
    import csv

    wanted: set[str] = set()
    for screen in screens:
        ranked = sorted(
            (c for c, _ in rows if c in scores[screen]), key=lambda c: -scores[screen][c]
        )
        wanted.update(ranked[:top])
    with ground_truth.open(newline="") as handle:
        reader = csv.DictReader(handle)
        kept = [r for r in reader if f"nb201:{r['arch_str']}" in wanted]
        fields = reader.fieldnames or []
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    print(f"{path}: {len(kept)} networks (the union of {', '.join(screens)}'s top {top})")
    return 0


def strong_values(components, scores, archs, reference_class) -> dict[str, float] | None:
    """The strong proxy's value of every network its components are cached for, calibrated
    against those networks as the fixed reference (a single proxy: its score)."""
    covered = [c for c in archs if all(c in scores[n] for n in components)]
    if len(covered) < 2:
        return None
    if len(components) == 1:
        return {c: scores[components[0]][c] for c in covered}
    reference = reference_class({n: tuple(scores[n][c] for c in covered) for n in components})
    return {c: reference.value({n: scores[n][c] for n in components}) for c in covered}


def replay(rows, screen, strong, accuracy, size, k, draws) -> str | None:
    """Mean (median) of the cascade's pick over seeded draws, and the references, as a row."""
    picks, alone, plain, perfect = [], [], [], []
    pool = [c for c, _ in rows if c in screen]
    for draw in range(draws):
        rng = random.Random(f"{draw}:{size}")  # the same draws for every rule
        drawn = rng.sample(pool, min(size, len(pool)))
        rng.shuffle(drawn)  # ties of the screen in a random order
        ranked = sorted(drawn, key=lambda c: -screen[c])
        finalists = ranked[:k]
        if not all(c in strong for c in finalists):
            continue
        picks.append(accuracy[max(finalists, key=lambda c: strong[c])])
        alone.append(accuracy[ranked[0]])
        random_k = [c for c in drawn[:k] if c in strong]
        if len(random_k) == k:
            plain.append(accuracy[max(random_k, key=lambda c: strong[c])])
        perfect.append(max(accuracy[c] for c in drawn))
    if not picks:
        return None
    without = f"{statistics.mean(plain):.2f}" if len(plain) == len(picks) else "–"
    return (
        f"{len(picks)}/{draws} | {statistics.mean(picks):.2f} ({statistics.median(picks):.2f}) "
        f"| {statistics.mean(alone):.2f} | {without} | {statistics.mean(perfect):.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
