"""Proxies on NAS-Bench-Macro: every proxy on a selection sample, the chosen one on all nets.

Ground truth: ``mean_acc`` of the 3,969 canonical rows of ``nas_bench_macro_cifar10.csv``
(``../shared/data``). Sample A is ``nascli proxies bench``'s seeded sample of those rows
(``--sample 200 --seed 0`` selects the same nets). Every proxy of ``--proxies`` is scored
on A, through ``nascli.bench.run_bench`` (the engine of ``nascli proxies bench``), cached
in ``--cache-dir``. Every proxy sees the same training views of the images (``--augment``,
the default of a run that includes a loss-gradient proxy), so a rank sum's members were
scored on what the ensemble would see.

The recommended proxy is chosen on A only, by a rule fixed before looking at the rest:
the rank sum (AZ-NAS aggregation, as ``a+b`` in nascli) of at most ``--max-members``
proxies with the highest Spearman ρ on A, among those whose summed seconds per net on A
are at most ``--max-cost`` × ZiCo's (so a search with it costs no more than one with
ZiCo). ``--full`` names the proxies also scored on all canonical rows; the report gives
their ρ on A, on the rows not in A, and on all rows.

    python benchmarks/proxies_macro.py --worker &   # as many workers as cores
    python benchmarks/proxies_macro.py --worker
    python benchmarks/proxies_macro.py --cached-only
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TRUTH = SHARED / "nas_bench_macro_cifar10.csv"
ALL = (
    "zico,zico-bc,naswot,synflow,snip,grasp,fisher,grad-norm,jacov,zen,az-expressivity,"
    "az-progressivity,az-trainability,vkdnw,meco,swap,params,flops"
)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def score(truth, items, common: dict, claims: Path, progress) -> None:
    """Score ``truth`` net by net in a seeded random order, claiming each net so several
    workers share the work; a report made before the end covers a random subset."""
    from nascli.bench import GroundTruth, cached_subset, run_bench

    claims.mkdir(parents=True, exist_ok=True)
    tag = ",".join(sorted(i.name for i in items))
    order = list(range(len(truth.archs)))
    random.Random(0).shuffle(order)  # the nets scored so far are a random sample of truth
    for index in order:
        arch, target = truth.archs[index], truth.targets[index]
        one = GroundTruth([arch], [target], truth.column)
        if cached_subset(one, items, **common).archs:
            continue
        claim = claims / hashlib.sha1(f"{tag}|{arch.canonical}".encode()).hexdigest()
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        run_bench(one, items, **common)
        progress()


def rows_on(truth, items, common: dict) -> dict:
    """Bench rows of ``items`` on the nets of ``truth`` already scored for every item, each
    with the scored nets (``row.scores`` follows their order)."""
    from nascli.bench import cached_subset, run_bench

    scored = cached_subset(truth, items, **common)
    if len(scored.archs) < 3:
        return {}
    return {r.name: (r, scored) for r in run_bench(scored, items, **common).rows}


def within_bands(row, scored, bands: int) -> float | None:
    """Mean Spearman ρ inside ``bands`` equal groups of nets by MACs: how well the proxy
    ranks nets a MACs budget cannot tell apart (what a budgeted search relies on)."""
    from nascli.bench import correlations
    from nascli.spaces import get_space

    space = get_space("nas-bench-macro")
    order = sorted(range(len(scored.archs)), key=lambda i: space.cost(scored.archs[i]).macs)
    size = len(order) // bands
    if size < 5:
        return None
    rhos = []
    for b in range(bands):
        group = order[b * size : (b + 1) * size]
        _, rho, _ = correlations([row.scores[i] for i in group], [scored.targets[i] for i in group])
        rhos.append(rho if rho is not None else 0.0)
    return sum(rhos) / len(rhos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=200, help="nets in selection sample A")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxies", default=ALL, help="scored on sample A")
    parser.add_argument(
        "--full", default="naswot,synflow,jacov,flops", help="also scored on all nets"
    )
    parser.add_argument("--named", default="az-nas,vkdnw-agg,nb201-rank")
    parser.add_argument("--max-members", type=int, default=3)
    parser.add_argument("--max-cost", type=float, default=1.0, help="× ZiCo's seconds per net")
    parser.add_argument("--top", type=int, default=10, help="candidate ensembles to print")
    parser.add_argument("--worker", action="store_true", help="score (run several side by side)")
    parser.add_argument("--cached-only", action="store_true", help="print, score nothing")
    parser.add_argument("--data", default=str(SHARED / "cifar10_test_1000.npz"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=str(ROOT / ".nascli-cache" / "macro"))
    args = parser.parse_args()
    if not TRUTH.is_file():
        print(f"missing {TRUTH}: the benchmark needs ../shared/data", file=sys.stderr)
        return 2

    import torch

    from nascli.bench import GroundTruth, load_ground_truth
    from nascli.proxies.ensemble import ProxyItem, parse_proxy_list

    torch.set_num_threads(args.threads)
    load = {"space": "nas-bench-macro", "target": "mean_acc", "seed": args.seed}
    everything = load_ground_truth(TRUTH, sample=None, **load)
    sample_a = load_ground_truth(TRUTH, sample=args.sample, **load)
    in_a = {a.canonical for a in sample_a.archs}
    rest = [i for i, a in enumerate(everything.archs) if a.canonical not in in_a]
    sample_b = GroundTruth(
        [everything.archs[i] for i in rest], [everything.targets[i] for i in rest], "mean_acc"
    )
    singles = parse_proxy_list(args.proxies)
    full = parse_proxy_list(args.full)
    common = {
        "space": "nas-bench-macro", "cache_dir": Path(args.cache_dir), "data": Path(args.data),
        "batch_size": args.batch_size, "seed": args.seed, "augment": True,
    }  # fmt: skip
    started = time.perf_counter()
    if args.worker:
        count = [0]

        def progress() -> None:
            count[0] += 1
            if count[0] % 20 == 0:
                elapsed = time.perf_counter() - started
                print(f"  scored {count[0]} nets ({elapsed:.0f} s)", file=sys.stderr, flush=True)

        score(sample_a, singles, common, Path(args.cache_dir) / "claims", progress)
        score(everything, full, common, Path(args.cache_dir) / "claims", progress)
        return 0

    on_a = rows_on(sample_a, singles, common)
    if not on_a:
        print("nothing scored yet: run with --worker first")
        return 1
    n_a = len(next(iter(on_a.values()))[1].archs)
    zico = on_a["zico"][0].seconds_per_arch if "zico" in on_a else None
    print(f"NAS-Bench-Macro, target mean_acc: sample A {n_a} of {len(sample_a.archs)} nets "
          f"(seed {args.seed}); CIFAR-10 images {args.batch_size} × 2 at 32 px, "
          f"{args.threads} thread(s)\n")  # fmt: skip
    print("| proxy | ρ on A | τ on A | ρ within MACs fifths of A | s / net | × ZiCo |\n"
          "| --- | --- | --- | --- | --- | --- |")  # fmt: skip
    cost_of = {name: (r.seconds_per_arch or 0.0) for name, (r, _) in on_a.items()}
    ranked = sorted(on_a.values(), key=lambda v: -(v[0].spearman or -9))
    for row, scored in ranked:
        cost = _cost([row.name], cost_of)
        ratio = f"{cost / zico:.2f}" if zico else "—"
        band = _fmt(within_bands(row, scored, 5))
        print(f"| {row.name} | {_fmt(row.spearman)} | {_fmt(row.kendall)} | {band} | "
              f"{cost:.3f} | {ratio} |")  # fmt: skip

    limit = args.max_cost * zico if zico else float("inf")
    names = [n for n in cost_of if _cost([n], cost_of) <= limit]
    candidates = [
        ProxyItem(tuple(c))
        for k in range(1, args.max_members + 1)
        for c in itertools.combinations(names, k)
        if _cost(c, cost_of) <= limit
    ]
    ensembles = rows_on(sample_a, candidates, common)
    best = sorted(ensembles.values(), key=lambda v: -(v[0].spearman or -9))[: args.top]
    print(f"\nproxies and rank sums of ≤ {args.max_members}, costing ≤ {args.max_cost:g} × ZiCo, "
          f"best {args.top} by ρ on A:\n")  # fmt: skip
    print("| proxy or rank sum | ρ on A | τ on A | ρ within MACs fifths of A | s / net |\n"
          "| --- | --- | --- | --- | --- |")  # fmt: skip
    for row, scored in best:
        cost = _cost(row.name.split("+"), cost_of)
        band = _fmt(within_bands(row, scored, 5))
        print(f"| {row.name} | {_fmt(row.spearman)} | {_fmt(row.kendall)} | {band} | "
              f"{cost:.3f} |")  # fmt: skip
    chosen = best[0][0].name if best else None
    print(f"\nchosen on A: {chosen}")

    report = [*full, *parse_proxy_list(args.named)]
    if chosen:
        report.append(ProxyItem(tuple(chosen.split("+"))))
    print("\n| proxy | ρ on A | ρ on the rest (n) | ρ on all canonical nets (n) | "
          "ρ within MACs tenths of all | accuracy of its top 10 |\n"
          "| --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for item in report:
        a = rows_on(sample_a, [item], common)
        b = rows_on(sample_b, [item], common)
        every = rows_on(everything, [item], common)
        if not every:
            continue
        ra, rb, re = (v.get(item.name) for v in (a, b, every))
        print(f"| {item.name} | {_fmt(ra[0].spearman) if ra else '—'} | "
              f"{_fmt(rb[0].spearman) + f' ({len(rb[1].archs)})' if rb else '—'} | "
              f"{_fmt(re[0].spearman)} ({len(re[1].archs)}) | "
              f"{_fmt(within_bands(re[0], re[1], 10))} | "
              f"{top_mean(re[0], re[1], 10):.2f} % |")  # fmt: skip
    depth = depth_row(everything)
    print(f"| non-identity layers (read from the code) | — | — | {_fmt(depth.spearman)} "
          f"({len(everything.archs)}) | {_fmt(within_bands(depth, everything, 10))} | "
          f"{top_mean(depth, everything, 10):.2f} % |")  # fmt: skip
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


def top_mean(row, scored, count: int) -> float:
    """Mean accuracy of the ``count`` nets the proxy ranks highest (what a search keeps)."""
    ranked = sorted(
        (i for i, v in enumerate(row.scores) if v is not None and math.isfinite(v)),
        key=lambda i: -row.scores[i],
    )
    return sum(scored.targets[i] for i in ranked[:count]) / count


def depth_row(truth):
    """The number of non-identity layers of each net as a score: a structural reference."""
    from nascli.bench import BenchRow, correlations
    from nascli.spaces import get_space

    space = get_space("nas-bench-macro")
    scores = [
        float(sum(space.choices[name].type != "identity" for name in space.names(arch)))
        for arch in truth.archs
    ]
    tau, rho, n = correlations(scores, truth.targets)
    return BenchRow("depth", tau, rho, n, 0, None, 0, 0, scores=scores)


def _cost(members, cost_of: dict[str, float]) -> float:
    """Seconds per net of a rank sum: AZ-NAS's scores share one pass (timed on expressivity)."""
    az = [m for m in members if m.startswith("az-")]
    shared = max([cost_of.get("az-expressivity", 0.0), *(cost_of[m] for m in az)]) if az else 0.0
    return sum(cost_of[m] for m in members if not m.startswith("az-")) + shared


if __name__ == "__main__":
    raise SystemExit(main())
