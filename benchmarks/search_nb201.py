"""NB201 under a MACs budget: best-found CIFAR-10 test accuracy per algorithm, 5 seeds.

Every algorithm gets the same number of proxy evaluations (ZiCo, 32 px x 64 x 2 Gaussian
batches). The accuracy table (../shared/data/nb201_accuracy.csv) is read only after all
searches finished, to look up the accuracy of each search's best-scored cell.

    python benchmarks/search_nb201.py --evals 60 --seeds 5 --budget 120MFLOPs
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201_accuracy.csv"


def search(algo: str, seed: int, evals: int, budget: str, batch: int) -> str:
    from nascli.config import resolve_config
    from nascli.search.driver import SearchDriver

    with tempfile.TemporaryDirectory() as folder:
        config = resolve_config({
            "space": "nb201", "proxy": "zico", "budgets": [budget], "algo": algo,
            "iterations": evals, "seed": seed, "batch_size": batch, "population": 20,
            "out": folder,
        })  # fmt: skip
        driver = SearchDriver(config, study_name="b", storage_url=f"sqlite:///{folder}/s.db")
        study = driver.open_study()
        driver.run(study, iterations=evals, timeout=None)
        done = [r for r in driver.state(study).trials if r.state == "COMPLETE"]
        return max(done, key=lambda r: r.values[0]).arch  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", default="120MFLOPs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--algos", default="evolution,tpe,random")
    args = parser.parse_args()
    best: dict[str, list[str]] = {}
    start = time.perf_counter()
    for algo in args.algos.split(","):
        best[algo] = [
            search(algo, seed, args.evals, args.budget, args.batch_size)
            for seed in range(args.seeds)
        ]
        print(f"{algo}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    if not DATA.exists():
        print(f"{DATA} missing: cannot look up accuracies")
        return
    from nascli.arch import Arch
    from nascli.spaces import get_space

    space = get_space("nb201")
    with DATA.open() as handle:
        accuracy = {int(r["index"]): float(r["test_acc_cifar10"]) for r in csv.DictReader(handle)}
    print(f"budget {args.budget}, {args.evals} proxy evaluations, seeds 0..{args.seeds - 1}")
    for algo, archs in best.items():
        accs = [accuracy[space.index(Arch.from_canonical(a))] for a in archs]  # type: ignore[attr-defined]
        print(f"{algo:10s} mean {statistics.mean(accs):.2f} %  per seed "
              f"{', '.join(f'{a:.2f}' for a in accs)}")  # fmt: skip


if __name__ == "__main__":
    main()
