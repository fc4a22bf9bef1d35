"""Is the top end of an ensemble limited by the noise of one initialisation, or by the proxy?

A proxy scores a network at one random initialisation and on one draw of batches. If the order
of the best-scored networks were mostly that noise, re-scoring them under other seeds and
averaging would order them better. This script takes the N networks an ensemble ranks highest
on a seeded NB201 sample (seed 0, scores cached by ``nascli proxies bench``), scores those N
again under other seeds with ``nascli proxies bench`` exactly as a user would, and prints, within
the N: how stable each member and the ensemble's order are across seeds (Spearman ρ), how well
each seed's order and the seeds' mean order follow the trained accuracy, and the accuracy of
the top 10 and of the argmax each of them would return.

    nascli proxies bench --ground-truth ../shared/data/nb201_accuracy.csv \\
        --target test_acc_cifar10 --proxy nb201-rank --data ../shared/data/cifar10_test_1000.npz \\
        --sample 1000 --seed 0 --batch-size 32 --cache-dir CACHE
    python benchmarks/top_end_seeds.py --cache-dir CACHE --proxy nb201-rank --top 50 --seeds 1,2
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TARGETS = ("test_acc_cifar10", "test_acc_cifar100")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--ground-truth", type=Path, default=SHARED / "nb201_accuracy.csv")
    parser.add_argument("--data", type=Path, default=SHARED / "cifar10_test_1000.npz")
    parser.add_argument("--proxy", default="nb201-rank", help="an ensemble or a single proxy")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--top", type=int, default=50, help="networks re-scored (N)")
    parser.add_argument("--seeds", default="1,2", help="extra seeds, comma-separated")
    parser.add_argument("--level", type=float, default=93.9, help="C10 accuracy of 'best' cells")
    args = parser.parse_args()
    if not args.ground_truth.is_file() or not args.data.is_file():
        print(f"skipped: {args.ground_truth} or {args.data} not found (../shared/data)")
        return 0
    import numpy as np

    from nascli.bench import load_ground_truth
    from nascli.proxies.ensemble import parse_proxy_list

    items = parse_proxy_list(args.proxy)
    if len(items) != 1:
        parser.error(f"--proxy {args.proxy!r}: one proxy or one ensemble (a+b+c)")
    members = list(items[0].components)
    from nascli.proxies import list_proxies

    unknown = sorted(set(members) - set(list_proxies()))
    if unknown:
        parser.error(f"--proxy {args.proxy!r}: unknown {', '.join(unknown)} (nascli proxies list)")
    try:
        seeds = [0, *(int(s) for s in args.seeds.split(","))]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: comma-separated integers, e.g. 1,2")
    truth = load_ground_truth(
        args.ground_truth, space="nb201", target=TARGETS[0], sample=args.sample, seed=0
    )
    archs = [str(a) for a in truth.archs]
    base = cached_scores(args, members, 0, archs)
    scored = [a for a in archs if all(a in base[m] for m in members)]
    if len(scored) < args.top:
        print(f"{len(scored)} of {len(archs)} sampled networks have every member cached at "
              "seed 0; run the nascli proxies bench command of the docstring first")  # fmt: skip
        return 1
    order = rank_sum(base, members, scored)
    top = [scored[i] for i in np.argsort(-order, kind="stable")[: args.top]]
    accuracy = read_accuracy(args.ground_truth, top)
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "top.csv"
        write_rows(args.ground_truth, top, subset)
        for seed in seeds[1:]:
            score_seed(args, subset, seed)
    per_seed = {s: cached_scores(args, members, s, top) for s in seeds}
    report(args, members, seeds, top, per_seed, accuracy)
    return 0


def cached_scores(args, members, seed, archs) -> dict[str, dict[str, float]]:
    """``{member: {arch: score}}`` of the finite scores cached for ``seed``."""
    import math

    from nascli.score_cache import ScoreCache, data_fingerprint, settings_key

    out: dict[str, dict[str, float]] = {}
    with ScoreCache(args.cache_dir) as cache:
        for name in members:
            key = settings_key(
                name, {}, data=data_fingerprint(args.data), batch_size=args.batch_size,
                batches=args.batches, resolution=None, seed=seed, space="nb201", augment=False,
            )  # fmt: skip
            got = cache.get_many(key, archs)
            out[name] = {
                a: float(v[0]) for a, v in got.items() if v[0] is not None and math.isfinite(v[0])
            }
    return out


def rank_sum(scores, members, archs):
    """The AZ-NAS-style rank sum of ``archs`` (higher is better), a network failed by a
    member ranked below every other."""
    import numpy as np

    total = np.zeros(len(archs))
    for name in members:
        values = np.array([scores[name].get(a, -np.inf) for a in archs])
        total += np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return total


def score_seed(args, subset: Path, seed: int) -> None:
    """Score the subset under ``seed`` through the command line, as a user would."""
    command = [
        sys.executable, "-m", "nascli", "proxies", "bench", "--ground-truth", str(subset),
        "--target", TARGETS[0], "--proxy", args.proxy, "--data", str(args.data),
        "--sample", "all", "--seed", str(seed), "--batch-size", str(args.batch_size),
        "--batches", str(args.batches), "--cache-dir", str(args.cache_dir), "--json",
    ]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seed {seed}: nascli proxies bench failed: {done.stderr.strip()}")


def read_accuracy(path: Path, archs: list[str]) -> dict[str, dict[str, float]]:
    wanted = {a.split(":", 1)[1]: a for a in archs}
    with path.open(newline="") as handle:
        return {
            wanted[r["arch_str"]]: {t: float(r[t]) for t in TARGETS}
            for r in csv.DictReader(handle)
            if r["arch_str"] in wanted
        }


def write_rows(path: Path, archs: list[str], out: Path) -> None:
    wanted = {a.split(":", 1)[1] for a in archs}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["arch_str"] in wanted]
        fields = reader.fieldnames or []
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def report(args, members, seeds, top, per_seed, accuracy) -> None:
    import numpy as np

    def rho(a, b) -> float:
        ra = np.argsort(np.argsort(a, kind="stable"), kind="stable")
        rb = np.argsort(np.argsort(b, kind="stable"), kind="stable")
        return float(np.corrcoef(ra, rb)[0, 1])

    acc = {t: np.array([accuracy[a][t] for a in top]) for t in TARGETS}
    orders = {f"seed {s}": rank_sum(per_seed[s], members, top) for s in seeds}
    orders["mean of seeds"] = sum(orders[f"seed {s}"] for s in seeds)
    print(f"{args.proxy}: the {len(top)} networks it ranks highest of {args.sample} sampled "
          f"(seed 0), scored again under seeds {', '.join(map(str, seeds[1:]))}")  # fmt: skip
    print("\nstability across seeds, Spearman ρ of seed 0 with each other seed, within the N:")
    for name in [*members, args.proxy]:
        cells = []
        for s in seeds[1:]:
            if name == args.proxy:
                cells.append(rho(orders["seed 0"], orders[f"seed {s}"]))
                continue
            both = [a for a in top if a in per_seed[0][name] and a in per_seed[s][name]]
            cells.append(rho([per_seed[0][name][a] for a in both],
                             [per_seed[s][name][a] for a in both]))  # fmt: skip
        print(f"  {name:<18} " + "  ".join(f"{c:.3f}" for c in cells))
    print("\n| order | ρ C10 | ρ C100 | top-10 C10 | top-10 C100 | argmax C10 | argmax C100 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, order in orders.items():
        best = np.argsort(-order, kind="stable")
        c10, c100 = acc[TARGETS[0]], acc[TARGETS[1]]
        print(f"| {name} | {rho(order, c10):.3f} | {rho(order, c100):.3f} | "
              f"{c10[best[:10]].mean():.2f} | {c100[best[:10]].mean():.2f} | "
              f"{c10[best[0]]:.2f} | {c100[best[0]]:.2f} |")  # fmt: skip
    c10, c100 = np.sort(acc[TARGETS[0]]), np.sort(acc[TARGETS[1]])
    print(f"| perfect ranking | 1 | 1 | {c10[-10:].mean():.2f} | {c100[-10:].mean():.2f} | "
          f"{c10[-1]:.2f} | {c100[-1]:.2f} |")  # fmt: skip
    residual_edge_report(args, top, acc[TARGETS[0]])


def has_residual_edge(arch: str) -> bool:
    """Whether the cell's input → output edge (the last node's first edge) is a skip."""
    return arch.rsplit("+", 1)[-1].startswith("|skip_connect~0|")


def residual_edge_report(args, top, c10) -> None:
    """How often the proxy's best cells, and the space's best cells, carry a skip on the
    input → output edge: the structure the proxy would have to value to reach them."""
    import numpy as np

    marked = np.array([has_residual_edge(a) for a in top])
    print(f"\nskip on the input → output edge: {marked[:10].sum()} of the proxy's top 10, "
          f"{marked.sum()} of its top {len(top)}")  # fmt: skip
    if marked.any() and not marked.all():
        print(f"  within the {len(top)}: {c10[marked].mean():.2f} % C10 with it, "
              f"{c10[~marked].mean():.2f} % without")  # fmt: skip
    with args.ground_truth.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    share = np.mean([has_residual_edge(r["arch_str"]) for r in rows])
    best = [r for r in rows if float(r[TARGETS[0]]) >= args.level]
    with_edge = sum(has_residual_edge(r["arch_str"]) for r in best)
    print(f"  in the whole space: {100 * share:.0f} % of the cells, {with_edge} of the "
          f"{len(best)} cells of at least {args.level:g} % C10")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
