"""How well do the proxies rank NAS-Bench-201 cells? Kendall τ / Spearman ρ vs test accuracy.

Scores a seeded sample of cells with each proxy (``nascli.bench.run_bench``, the engine of
``nascli proxies bench``, cached in ``--cache-dir`` so reruns and the CIFAR-100 pass reuse
every score), prints one table per target with the published values beside ours and the
seconds per architecture, then every training-free rank-aggregation ensemble (AZ-NAS
``Σ log(rank/N)``) of the chosen components, best first.

Caveat printed with the table: picking the *best* ensemble by its correlation is itself a
look at the ground truth; the ensemble's scores are not fitted, its membership is chosen.

``--top-end BUDGET`` adds what a search cares about more than ρ: among the sampled cells
under a MACs budget, the mean accuracy of the proxy's top 5, and the expected accuracy of
the proxy's pick from 100 random cells (what random search with 100 evaluations returns).
When the two are close, optimising the proxy harder than random search does buys nothing.

    python benchmarks/proxies_nb201.py --sample 1000 --proxies zico,naswot,synflow,params
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TARGETS = ("test_acc_cifar10", "test_acc_cifar100")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "   —  " if value is None else f"{value:6.{digits}f}"


def top_end(truth, rows, budget: float, draws: int = 400, pool: int = 100) -> None:
    """Top-5 mean accuracy vs the expected pick of a 100-cell random search, per proxy."""
    import numpy as np

    from nascli.proxies.ensemble import rank_aggregate
    from nascli.spaces import get_space

    space = get_space("nb201")
    feasible = np.array([space.cost(a).macs <= budget for a in truth.archs])
    index = np.flatnonzero(feasible)
    target = np.asarray(truth.targets)[index]
    rng = np.random.default_rng(0)
    subsets = [rng.choice(len(index), size=min(pool, len(index)), replace=False)
               for _ in range(draws)]  # fmt: skip
    print(f"top end under {budget / 1e6:g} M MACs: {len(index)} cells, best {target.max():.2f}, "
          f"top-5 by accuracy {np.sort(target)[-5:].mean():.2f}")  # fmt: skip
    print(f"{'proxy':<34} {'top-5 mean':>10} {f'pick of {pool} random':>20}")
    by_name = {row.name: row for row in rows}

    def finite(values) -> np.ndarray:
        return np.array([-np.inf if v is None else v for v in values], dtype=float)

    for row in rows:
        parts = row.name.split("+")
        if len(parts) > 1 and not all(p in by_name for p in parts):
            continue  # a component's own scores are not in this run
        score = finite(row.scores[i] for i in index)
        top5 = target[np.argsort(-score, kind="stable")[:5]].mean()
        picks = []
        for subset in subsets:
            if len(parts) > 1:  # an ensemble ranks within the population it searched
                members = {p: [by_name[p].scores[index[i]] for i in subset] for p in parts}
                ranked = finite(rank_aggregate(members))
            else:
                ranked = score[subset]
            picks.append(target[subset[int(np.argmax(ranked))]])
        print(f"{row.name:<34} {top5:10.2f} {np.mean(picks):20.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="1000", help="cells to sample, or 'all'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--proxies",
        default="zico,naswot,synflow,jacov,snip,grasp,fisher,grad-norm,zen,params,flops",
    )
    parser.add_argument(
        "--ensemble-from",
        default="zico,naswot,synflow,jacov,params,flops",
        help="components whose ensembles (all subsets of size >= 2) are reported",
    )
    parser.add_argument("--data", default=str(SHARED / "cifar10_test_1000.npz"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--cache-dir", default=str(ROOT / ".nascli-cache"))
    parser.add_argument("--top", type=int, default=12, help="ensembles to print")
    parser.add_argument(
        "--top-end",
        type=float,
        default=None,
        metavar="MACS",
        help="also report top-end accuracy under this MACs budget, e.g. 120e6",
    )
    args = parser.parse_args()

    import torch

    from nascli.bench import load_ground_truth, load_published, run_bench
    from nascli.proxies.ensemble import ProxyItem, parse_proxy_list

    torch.set_num_threads(args.threads)
    truth_csv = SHARED / "nb201_accuracy.csv"
    if not truth_csv.is_file():
        print(f"missing {truth_csv}", file=sys.stderr)
        return 2
    sample = None if args.sample == "all" else int(args.sample)
    singles = parse_proxy_list(args.proxies)
    pool = [n.strip() for n in args.ensemble_from.split(",") if n.strip()]
    ensembles = [
        ProxyItem(tuple(c))
        for k in range(2, len(pool) + 1)
        for c in itertools.combinations(pool, k)
    ]
    data = Path(args.data) if args.data != "gaussian" else None
    print(
        f"NB201 proxies: sample={args.sample} seed={args.seed} data={args.data} "
        f"batch={args.batches}x{args.batch_size} @32px threads={args.threads}",
        flush=True,
    )
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            elapsed = time.perf_counter() - started
            print(f"  scored {done}/{total} cells ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    for target in TARGETS:
        truth = load_ground_truth(truth_csv, space="nb201", target=target, sample=sample,
                                  seed=args.seed)  # fmt: skip
        published = load_published(SHARED / "published_correlations_nb201.csv", target)
        result = run_bench(
            truth, [*singles, *ensembles], space="nb201", cache_dir=Path(args.cache_dir),
            data=data, batch_size=args.batch_size, batches=args.batches, seed=args.seed,
            published=published, progress=progress,
        )  # fmt: skip
        print(f"\n{target}: {result.n_archs} cells")
        print(f"{'proxy':<34} {'tau':>6} {'rho':>6} | {'pub tau':>7} {'pub rho':>7} "
              f"| {'s/arch':>7} {'failed':>6} | {'rho, failed=worst':>17}")  # fmt: skip
        rows = {r.name: r for r in result.rows}
        for item in singles:
            r = rows[item.name]
            pub_t = r.published.kendall if r.published else None
            pub_r = r.published.spearman if r.published else None
            print(
                f"{r.name:<34} {_fmt(r.kendall)} {_fmt(r.spearman)} | {_fmt(pub_t, 2):>7} "
                f"{_fmt(pub_r, 2):>7} | {r.seconds_per_arch or 0:7.3f} {r.n_failed:6d} "
                f"| {_fmt(r.spearman_worst):>17}"
            )
        ranked = sorted((rows[e.name] for e in ensembles), key=lambda r: -(r.spearman or -9))
        print(f"ensembles of {{{', '.join(pool)}}} (AZ-NAS rank sum), best {args.top}:")
        for r in ranked[: args.top]:
            print(
                f"{r.name:<34} {_fmt(r.kendall)} {_fmt(r.spearman)} | {'':>7} {'':>7} "
                f"| {r.seconds_per_arch or 0:7.3f} {r.n_failed:6d} | {_fmt(r.spearman_worst):>17}"
            )
        if args.top_end is not None:
            top_end(truth, [rows[i.name] for i in singles] + ranked[: args.top], args.top_end)
        sources = sorted({r.published.source for r in result.rows if r.published})
        for source in sources:
            print(f"published: {source}")
    print(
        "\nnote: ensemble scores use no ground truth; choosing the best-listed membership does."
        f"\ntotal wall time {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
