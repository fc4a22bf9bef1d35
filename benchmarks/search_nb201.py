"""NB201 under a MACs budget: best-found CIFAR-10 test accuracy per algorithm, 5 seeds.

Every algorithm gets the same number of proxy evaluations with the same proxy settings
(default: the ZiCo + SynFlow rank ensemble on 2 x 64 CIFAR-10 test images at 32 px, the
data a user searching NB201 for CIFAR-10 has; ``--data gaussian`` for none). The accuracy
table (../shared/data/nb201_accuracy.csv) is read only after all searches finished, to
look up the accuracy of each search's best-scored cell.

    python benchmarks/search_nb201.py --evals 100 --seeds 5 --budget 120MFLOPs
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED / "nb201_accuracy.csv"


def search(
    algo: str, seed: int, evals: int, budget: str, batch: int, proxy: str, data: str | None,
    population: int,
) -> tuple[str, float]:  # fmt: skip
    from nascli.config import resolve_config
    from nascli.search.driver import SearchDriver
    from nascli.search.plan import build_plan

    with tempfile.TemporaryDirectory() as folder:
        config = resolve_config({
            "space": "nb201", "proxy": proxy, "budgets": [budget], "algo": algo,
            "iterations": evals, "seed": seed, "batch_size": batch, "population": population,
            "out": folder, "data": data,
        })  # fmt: skip
        driver = SearchDriver(
            build_plan(config), study_name="b", storage_url=f"sqlite:///{folder}/s.db"
        )
        study = driver.open_study()
        driver.run(study, iterations=evals, timeout=None)
        records = driver.state(study).trials
        members = driver._members(records)  # ensemble values re-ranked over the population
        best = max(members, key=lambda m: m.rank_key)
        evaluated = sum(r.evaluated for r in records)
        return best.arch.canonical, evaluated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", default="120MFLOPs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--algos", default="evolution,tpe,random")
    parser.add_argument("--proxy", default="zico+synflow")
    parser.add_argument("--data", default=str(SHARED / "cifar10_test_1000.npz"))
    parser.add_argument("--population", type=int, default=20)
    args = parser.parse_args()
    best: dict[str, list[str]] = {}
    evaluations: dict[str, list[int]] = {}
    start = time.perf_counter()
    for algo in args.algos.split(","):
        data = None if args.data == "gaussian" else args.data
        runs = [
            search(
                algo, seed, args.evals, args.budget, args.batch_size, args.proxy, data,
                args.population,
            )
            for seed in range(args.seeds)
        ]  # fmt: skip
        best[algo] = [arch for arch, _ in runs]
        evaluations[algo] = [int(n) for _, n in runs]
        print(f"{algo}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    if not DATA.exists():
        print(f"{DATA} missing: cannot look up accuracies")
        return
    from nascli.spaces import arch_from_canonical, get_space

    space = get_space("nb201")
    with DATA.open() as handle:
        accuracy = {int(r["index"]): float(r["test_acc_cifar10"]) for r in csv.DictReader(handle)}
    print(
        f"proxy {args.proxy}, data {args.data}, batch {args.batch_size}x2, budget {args.budget}, "
        f"{args.evals} proxy evaluations, population {args.population}, seeds 0..{args.seeds - 1}"
    )
    for algo, archs in best.items():
        accs = [accuracy[space.index(arch_from_canonical(a))] for a in archs]  # type: ignore[attr-defined]
        per_seed = ", ".join(f"{a:.2f}" for a in accs)
        print(f"{algo:10s} mean {statistics.mean(accs):.2f} %  per seed {per_seed}  "
              f"(evaluated {evaluations[algo]})")  # fmt: skip


if __name__ == "__main__":
    main()
