"""Literature proxies and rank ensembles on NAS-Bench-201, on two disjoint seeded samples.

Sample A is ``nascli proxies bench``'s seeded sample (``--sample N --seed S``, the same
cells); sample B is drawn with ``--seed-b`` from the cells not in A, so a choice made on A
can be checked on cells it never saw. Every proxy is scored once per cell through
``nascli.bench.run_bench`` (the engine of ``nascli proxies bench``) and cached in
``--cache-dir``; rerunning only prints. Printed per target (CIFAR-10 and CIFAR-100 test
accuracy), as markdown tables: Spearman ρ of each proxy and named ensemble with failed
cells ranked last (as the published all-cell figures do), the published figure beside
it; ``--timing N`` prints seconds per cell against ZiCo.

``--choose-on`` names the target on which the generalising ensemble is chosen: every rank
sum of ``--base`` plus up to two ``--extras`` is ranked by its ρ on that target of sample
A only, and the winner is reported on the other target and on sample B.

    nice -n 10 python benchmarks/proxies_nb201_ensembles.py --sample 1000 --sample-b 300
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TARGETS = ("test_acc_cifar10", "test_acc_cifar100")
NEW = "az-expressivity,az-progressivity,az-trainability,vkdnw,meco,swap"
OTHERS = "jacov,synflow,params,flops"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "  —  " if value is None else f"{value:.{digits}f}"


def disjoint_sample(truth, exclude: set, size: int, seed: int):
    """``size`` rows of ``truth`` (a full GroundTruth) whose arch is not in ``exclude``."""
    from nascli.bench import GroundTruth

    pool = [i for i, a in enumerate(truth.archs) if a.canonical not in exclude]
    chosen = random.Random(seed).sample(pool, min(size, len(pool)))
    return GroundTruth(
        [truth.archs[i] for i in chosen], [truth.targets[i] for i in chosen], truth.column
    )


def worker(samples, singles, args, progress) -> int:
    """Score sample A then B one cell at a time; a claim file per cell shares the work."""
    import hashlib
    import os

    from nascli.bench import GroundTruth, cached_subset, run_bench

    claims = Path(args.cache_dir) / "claims"
    claims.mkdir(parents=True, exist_ok=True)
    common = {"space": "nb201", "cache_dir": Path(args.cache_dir), "data": Path(args.data),
              "batch_size": args.batch_size, "seed": args.seed}  # fmt: skip
    done = 0
    for key in args.worker_samples.split(","):
        truth = samples[key]
        for arch, target in zip(truth.archs, truth.targets, strict=True):
            one = GroundTruth([arch], [target], truth.column)
            if cached_subset(one, singles, **common).archs:
                continue
            claim = claims / hashlib.sha1(arch.canonical.encode()).hexdigest()
            try:
                os.close(os.open(claim, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            run_bench(one, singles, **common)
            done += 1
            progress(done, done)
    return 0


def timing(truth, singles, args) -> int:
    """Seconds per cell of each proxy and of ZiCo, interleaved cell by cell (same load)."""
    import statistics

    from nascli.proxies.runner import prepare

    names = [*(i.name for i in singles if i.name not in ("params", "flops")), "zico"]
    scorer = prepare(
        names, space_name="nb201", data=Path(args.data), batch_size=args.batch_size,
        batches=2, seed=args.seed,
    )  # fmt: skip
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for arch in truth.archs[: args.timing]:
        for name in names:  # one at a time: AZ's memo must not hide the cost of its pass
            from nascli.proxies import az_nas

            az_nas.clear_memo()
            seconds[name].append(scorer.score(arch, [name])[name].seconds)
    zico = statistics.median(seconds["zico"])
    print(
        f"seconds per cell, median of {args.timing} cells of sample A, batch "
        f"{args.batch_size} @ 32 px, {args.threads} thread(s), interleaved with ZiCo"
    )
    for name in names:
        mid = statistics.median(seconds[name])
        print(f"{name:<20} {mid:7.3f} s   {mid / zico:5.2f} × ZiCo")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000, help="cells in sample A")
    parser.add_argument("--seed", type=int, default=0, help="seed of sample A and of scoring")
    parser.add_argument("--sample-b", type=int, default=300, help="cells in sample B (0: none)")
    parser.add_argument("--seed-b", type=int, default=1)
    parser.add_argument("--proxies", default=f"{NEW},{OTHERS}")
    parser.add_argument("--named", default="az-nas,vkdnw-agg,nb201-rank")
    parser.add_argument("--base", default="vkdnw-agg", help="ensemble every candidate extends")
    parser.add_argument("--extras", default="meco,swap,synflow,params,az-progressivity")
    parser.add_argument("--choose-on", default="test_acc_cifar100", choices=TARGETS)
    parser.add_argument("--top", type=int, default=8, help="candidate ensembles to print")
    parser.add_argument("--only", choices=("a", "b"), default=None, help="score one sample")
    parser.add_argument("--part", default="0/1", help="with --only: score cells i::n (i/n)")
    parser.add_argument(
        "--worker", action="store_true",
        help="score A then B cell by cell, claiming each cell: run several side by side",
    )  # fmt: skip
    parser.add_argument("--worker-samples", default="A,B", help="samples a worker scores, in order")
    parser.add_argument("--data", default=str(SHARED / "cifar10_test_1000.npz"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--cache-dir", default=str(ROOT / ".nascli-cache"))
    parser.add_argument(
        "--cached-only", action="store_true", help="report the cells already scored, score none"
    )
    parser.add_argument(
        "--timing", type=int, default=0, metavar="N",
        help="only time every proxy and ZiCo, interleaved, on the first N cells of sample A",
    )  # fmt: skip
    args = parser.parse_args()

    import torch

    from nascli.bench import cached_subset, load_ground_truth, load_published, run_bench
    from nascli.proxies.ensemble import parse_proxy_list

    torch.set_num_threads(args.threads)
    truth_csv = SHARED / "nb201_accuracy.csv"
    if not truth_csv.is_file():
        print(f"missing {truth_csv}", file=sys.stderr)
        return 2
    singles = parse_proxy_list(args.proxies)
    named = parse_proxy_list(args.named)
    base = parse_proxy_list(args.base)[0].components
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    candidates = [
        parse_proxy_list("+".join((*base, *combo)))[0]
        for k in range(0, 3)
        for combo in itertools.combinations(extras, k)
    ]
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            elapsed = time.perf_counter() - started
            print(f"  scored {done}/{total} cells ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    samples = {}
    for target in TARGETS:
        a = load_ground_truth(truth_csv, space="nb201", target=target, sample=args.sample,
                              seed=args.seed)  # fmt: skip
        full = load_ground_truth(truth_csv, space="nb201", target=target, sample=None, seed=0)
        b = disjoint_sample(full, {x.canonical for x in a.archs}, args.sample_b, args.seed_b)
        samples[target] = {"A": a, "B": b} if args.sample_b > 0 else {"A": a}
    if args.worker:
        return worker(samples[TARGETS[0]], singles, args, progress)
    if args.only is not None:
        key = args.only.upper()
        truth = samples[TARGETS[0]][key]
        part, parts = (int(v) for v in args.part.split("/"))
        truth = type(truth)(truth.archs[part::parts], truth.targets[part::parts], truth.column)
        run_bench(truth, singles, space="nb201", cache_dir=Path(args.cache_dir),
                  data=Path(args.data), batch_size=args.batch_size, seed=args.seed,
                  progress=progress)  # fmt: skip
        return 0

    if args.timing:
        return timing(samples[TARGETS[0]]["A"], singles, args)
    if args.cached_only:
        every = [*singles, *named, *candidates]
        for target in TARGETS:
            for key, truth in samples[target].items():
                samples[target][key] = cached_subset(
                    truth, every, space="nb201", cache_dir=Path(args.cache_dir),
                    data=Path(args.data), batch_size=args.batch_size, seed=args.seed,
                )  # fmt: skip
    sizes = {k: len(t.archs) for k, t in samples[TARGETS[0]].items()}
    print(f"NB201: sample A = {sizes['A']} cells (seed {args.seed}), sample B = "
          f"{sizes.get('B', 0)} other cells (seed {args.seed_b}); data {args.data}, "
          f"batch {args.batch_size} @ 32 px, {args.threads} thread(s)")  # fmt: skip
    results = {}
    for target in TARGETS:
        published = load_published(SHARED / "published_correlations_nb201.csv", target)
        for key, truth in samples[target].items():
            results[target, key] = {
                r.name: r
                for r in run_bench(
                    truth, [*singles, *named, *candidates], space="nb201",
                    cache_dir=Path(args.cache_dir), data=Path(args.data),
                    batch_size=args.batch_size, seed=args.seed, published=published,
                    progress=progress,
                ).rows
            }  # fmt: skip
    keys = list(samples[TARGETS[0]])
    cols = [(t, k) for k in keys for t in TARGETS]
    names = " | ".join(f"ρ {'C10' if t.endswith('10') else 'C100'} {k}" for t, k in cols)
    print(f"\n| proxy | {names} | published C10 | published C100 | failed in A |")
    print("|---" * (len(cols) + 4) + "|")
    for item in [*singles, *named]:
        rows = [results[t, k][item.name] for t, k in cols]
        pubs = [results[t, "A"][item.name].published for t in TARGETS]
        print(
            f"| {item.name} | "
            + " | ".join(_fmt(r.spearman_worst) for r in rows)
            + f" | {_fmt(pubs[0].spearman if pubs[0] else None, 3)}"
            + f" | {_fmt(pubs[1].spearman if pubs[1] else None, 3)}"
            + f" | {results[TARGETS[0], 'A'][item.name].n_failed} |"
        )
    ranked = sorted(
        candidates, key=lambda c: -(results[args.choose_on, "A"][c.name].spearman_worst or -9)
    )
    print(f"\n{'+'.join(base)} plus extras, best first by ρ on {args.choose_on} of sample A:\n")
    print(f"| extras | {names} |")
    print("|---" * (len(cols) + 1) + "|")
    for item in ranked[: args.top]:
        rows = [results[t, k][item.name] for t, k in cols]
        extra = "+".join(item.components[len(base) :]) or "(none: VKDNW_agg)"
        print(f"| {extra} | " + " | ".join(_fmt(r.spearman_worst) for r in rows) + " |")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
