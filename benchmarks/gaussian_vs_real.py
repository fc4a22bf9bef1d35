"""What Gaussian input costs a proxy: the same cells scored on real images and on N(0, 1) noise.

Without ``--data`` every proxy sees Gaussian noise with random labels. This script scores one
seeded sample of a tabular benchmark twice, once on CIFAR-10 images
(``../shared/data/cifar10_test_1000.npz``) and once on noise, with the settings of the
space's shipped search config, and prints for every data-dependent proxy and every
recommended ensemble: Spearman ρ with the benchmark's accuracy on both inputs, the mean
accuracy of the proxy's top 10 and the accuracy of its argmax, and ρ between the two
score columns (how much the noise reorders the cells).

Proxies whose score ignores the batch contents (``needs_data`` false: SynFlow, FLOPs, VKDNW,
the AZ-NAS scores) are scored once and enter both columns; the script checks on three
cells that their Gaussian-run value is the same.

    python benchmarks/gaussian_vs_real.py --benchmark nb201 --sample 1000 --limit 300
    python benchmarks/gaussian_vs_real.py --benchmark macro --sample 200

Scores are cached (``--cache-dir``), so a rerun prints at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Setting:
    """One benchmark as its shipped search config scores it."""

    space: str
    truth: str
    targets: tuple[str, ...]
    batch_size: int
    augment: bool
    singles: tuple[str, ...]
    ensembles: tuple[str, ...]


SETTINGS = {
    "nb201": Setting(
        space="nb201",
        truth="nb201_accuracy.csv",
        targets=("test_acc_cifar10", "test_acc_cifar100"),
        batch_size=32,
        augment=False,
        singles=("zico", "naswot", "meco", "jacov"),
        ensembles=("nb201-rank", "macro-rank"),
    ),
    "macro": Setting(
        space="nas-bench-macro",
        truth="nas_bench_macro_cifar10.csv",
        targets=("mean_acc",),
        batch_size=64,
        augment=True,
        singles=("naswot", "jacov"),
        ensembles=("macro-rank",),
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", choices=sorted(SETTINGS), default="nb201")
    parser.add_argument("--sample", type=int, default=1000, help="seeded sample of the benchmark")
    parser.add_argument("--limit", type=int, default=None, help="score only its first N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(SHARED / "cifar10_test_1000.npz"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=str(ROOT / ".nascli-cache"))
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    args = parser.parse_args()
    setting = SETTINGS[args.benchmark]
    truth_csv = SHARED / setting.truth
    if not truth_csv.is_file() or not Path(args.data).is_file():
        print(f"missing {truth_csv} or {args.data}: the benchmark needs ../shared/data",
              file=sys.stderr)  # fmt: skip
        return 2

    import numpy as np
    import torch
    from scipy.stats import spearmanr

    from nascli.bench import GroundTruth, load_ground_truth, run_bench
    from nascli.proxies import proxy_info
    from nascli.proxies.ensemble import ProxyItem, component_names, parse_proxy_list, rank_aggregate
    from nascli.top_end import top_end

    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            elapsed = time.perf_counter() - started
            print(f"  scored {done}/{total} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    truths = []
    for target in setting.targets:
        full = load_ground_truth(truth_csv, space=setting.space, target=target,
                                 sample=args.sample, seed=args.seed)  # fmt: skip
        keep = slice(0, args.limit)
        truths.append(GroundTruth(full.archs[keep], full.targets[keep], target))
    archs = truths[0].archs
    items = parse_proxy_list(",".join(setting.singles + setting.ensembles))
    names = component_names(items)
    hungry = [n for n in names if proxy_info(n)["needs_data"]]
    common = {
        "space": setting.space, "cache_dir": Path(args.cache_dir), "seed": args.seed,
        "batch_size": setting.batch_size, "batches": 2, "progress": progress,
    }  # fmt: skip
    comps = [ProxyItem((n,)) for n in names]
    real_rows = run_bench(truths[0], comps, data=Path(args.data), augment=setting.augment,
                          **common)  # fmt: skip
    noise_rows = run_bench(truths[0], [ProxyItem((n,)) for n in hungry], data=None, **common)
    real = {r.name: r.scores for r in real_rows.rows}
    noise = {r.name: r.scores for r in noise_rows.rows}
    check = GroundTruth(archs[:3], truths[0].targets[:3], truths[0].column)
    free = [n for n in names if n not in hungry]
    if free:
        probe = run_bench(check, [ProxyItem((n,)) for n in free], data=None, **common)
        for row in probe.rows:
            if row.scores != real[row.name][:3]:
                print(f"error: {row.name} differs on noise, but claims to ignore the data",
                      file=sys.stderr)  # fmt: skip
                return 1
    for n in free:
        noise[n] = real[n]

    def column(scores: dict[str, list], item: ProxyItem) -> list:
        if len(item.components) == 1:
            return scores[item.components[0]]
        return rank_aggregate({c: scores[c] for c in item.components})

    def fmt(value: float) -> str:
        return f"{value:.3f}" if abs(value) < 1.5 else f"{value:.2f}"

    print(f"\n{setting.space}: {len(archs)} cells/nets (first {len(archs)} of a seeded "
          f"{args.sample}-sample, seed {args.seed}); real = {Path(args.data).name}, "
          f"batch 2 × {setting.batch_size}; noise = N(0, 1), random labels")  # fmt: skip
    if args.markdown:
        print("\n| proxy | target | ρ real | ρ noise | top-10 real | top-10 noise | "
              "argmax real | argmax noise | ρ(real, noise) |\n" + "| --- " * 9 + "|")  # fmt: skip
    else:
        print(f"{'proxy':<28} {'target':<18} {'rho real':>8} {'noise':>6} {'top10 real':>10} "
              f"{'noise':>6} {'argmax real':>11} {'noise':>6} {'rho(r,n)':>8}")  # fmt: skip
    for item in items:
        a, b = column(real, item), column(noise, item)
        agree = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        rho_rn = float(spearmanr(*zip(*agree, strict=True)).statistic)
        for truth in truths:
            t = np.asarray(truth.targets, dtype=float)
            row = []
            for scores in (a, b):
                ok = [(s, y) for s, y in zip(scores, t, strict=True) if s is not None]
                row.append(float(spearmanr(*zip(*ok, strict=True)).statistic))
            ends = [top_end(s, t, ks=(10,), draws=0) for s in (a, b)]
            tops = [e.top_k["top-10"].value for e in ends]
            picks = [e.argmax.value for e in ends]
            values = [row[0], row[1], tops[0], tops[1], picks[0], picks[1], rho_rn]
            if args.markdown:
                print(f"| {item.name} | {truth.column} | " + " | ".join(map(fmt, values)) + " |")
            else:
                print(f"{item.name:<28} {truth.column:<18} {values[0]:8.3f} {values[1]:6.3f} "
                      f"{values[2]:10.2f} {values[3]:6.2f} {values[4]:11.2f} {values[5]:6.2f} "
                      f"{values[6]:8.3f}")  # fmt: skip
    best = [np.sort(np.asarray(t.targets, dtype=float))[::-1] for t in truths]
    for truth, order in zip(truths, best, strict=True):
        print(f"perfect ranking, {truth.column}: top-10 {order[:10].mean():.2f}, "
              f"argmax {order[0]:.2f}")  # fmt: skip
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
