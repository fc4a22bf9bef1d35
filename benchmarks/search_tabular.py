"""A shipped search config on a tabular benchmark: accuracy of the net each seed returns.

Runs ``nascli search --config CONFIG`` exactly as a user would (one process per seed,
one torch thread each, CIFAR-10 test images as data), reads each run's best
architecture from its ``--json`` output, and only after every search finished looks up
the accuracy of those architectures in the benchmark's table. Beside them, from the
same table, among the nets within the run's MACs and params budgets: the best, the 99th
percentile, and the reference "best of N random nets picked by MACs" (N = the search's
evaluations, the same seeds).

    python benchmarks/search_tabular.py --config configs/searches/nas-bench-macro.yaml
    python benchmarks/search_tabular.py --config configs/searches/nb201-cifar10.yaml

Tables: NAS-Bench-Macro (``mean_acc`` of the canonical rows) and NB201 (CIFAR-10 test
accuracy), read from ``../shared/data``; the script stops with a message without them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TABLES = {
    "nas-bench-macro": (SHARED / "nas_bench_macro_cifar10.csv", "mean_acc"),
    "nb201": (SHARED / "nb201_accuracy.csv", "test_acc_cifar10"),
}
SECOND_COLUMN = {"nb201": "test_acc_cifar100"}  # also printed for the returned nets


def run_search(config: Path, seed: int, evals: int, data: str, extra: list[str]) -> dict:
    """One ``nascli search`` run; its JSON summary."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "nascli", "search", "--config", str(config), "--seed", str(seed),
            "--iterations", str(evals), "--out", folder, "--quiet", "--json", "--threads", "1",
            *([] if data == "gaussian" else ["--data", data]), *extra,
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"seed {seed}: nascli search failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout)


def accuracy_table(
    space_name: str, column: str | None = None
) -> tuple[dict[str, float], list[tuple[Any, float]]]:
    """Architecture string → accuracy (the table's main column, or ``column``) for every code,
    and the accuracies of distinct nets.

    NAS-Bench-Macro lists 6,561 codes but trained 3,969 distinct networks (its
    ``is_canonical`` rows); percentiles are taken over those.
    """
    from nascli.spaces import get_space

    path, main_column = TABLES[space_name]
    column = column or main_column
    space = get_space(space_name)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if space_name == "nb201":
        archs = [space.from_index(int(r["index"])) for r in rows]
    else:
        archs = [space.parse(r["arch"]) for r in rows]
    lookup = {a.canonical: float(r[column]) for a, r in zip(archs, rows, strict=True)}
    distinct = [
        (a, float(r[column]))
        for a, r in zip(archs, rows, strict=True)
        if r.get("is_canonical", "1") == "1"
    ]
    return lookup, distinct


def within(budgets: list[dict]):
    """A test of an architecture against the run's MACs and params budgets (as its summary
    lists them); other kinds of budget are not applied to the reference figures."""
    limits = {b["kind"]: b["limit"] for b in budgets if b["kind"] in ("macs", "params")}

    def test(cost) -> bool:
        return cost.macs <= limits.get("macs", float("inf")) and cost.params <= limits.get(
            "params", float("inf")
        )

    return test


def random_picks(
    space_name: str, accuracy: dict[str, float], count: int, seed: int, fits
) -> tuple[float, float]:
    """Among ``count`` uniform random nets within budget: the accuracy of the highest-MACs
    one, and the best accuracy (what a perfect ranking of that sample would return)."""
    from nascli.spaces import get_space

    space = get_space(space_name)
    rng = random.Random(seed)
    picks: list = []
    while len(picks) < count:
        arch = space.sample(rng)
        if fits(space.cost(arch)):
            picks.append(arch)
    by_macs = accuracy[max(picks, key=lambda arch: space.cost(arch).macs).canonical]
    return by_macs, max(accuracy[arch.canonical] for arch in picks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds FIRST..FIRST+SEEDS-1")
    parser.add_argument("--evals", type=int, default=None, help="default: the config's iterations")
    parser.add_argument("--jobs", type=int, default=2, help="searches run at once")
    parser.add_argument(
        "--data",
        default=str(SHARED / "cifar10_test_1000.npz"),
        help="an .npz or folder, or 'gaussian' for no --data (the proxies see N(0, 1) noise)",
    )
    parser.add_argument("extra", nargs="*", help="more nascli search options, after --")
    args = parser.parse_args()
    import yaml

    options = yaml.safe_load(args.config.read_text())
    space_name = options["space"]
    if args.evals is None:
        args.evals = int(options.get("iterations", 100))
    if space_name not in TABLES:
        raise SystemExit(f"no accuracy table for space {space_name!r}")
    path, _ = TABLES[space_name]
    if not path.exists() or (args.data != "gaussian" and not Path(args.data).exists()):
        raise SystemExit(f"{path} or {args.data} missing: the benchmark needs ../shared/data")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            seed: pool.submit(run_search, args.config, seed, args.evals, args.data, args.extra)
            for seed in seeds
        }
        runs = {seed: future.result() for seed, future in futures.items()}
    wall = time.perf_counter() - start
    accuracy, distinct = accuracy_table(space_name)  # read only now: the searches never saw it
    found = {s: accuracy[runs[s]["best"]["canonical"]] for s in seeds}
    from nascli.spaces import get_space

    fits = within(runs[seeds[0]]["budgets"])
    space = get_space(space_name)
    picks = [random_picks(space_name, accuracy, args.evals, s, fits) for s in seeds]
    reference = [by_macs for by_macs, _ in picks]
    oracle = [best for _, best in picks]
    values = sorted(acc for arch, acc in distinct if fits(space.cost(arch)))
    print(f"config {args.config}, {args.evals} evaluations, seeds {seeds[0]}..{seeds[-1]}, "
          f"data {args.data}, {wall:.0f} s wall ({args.jobs} searches at once)")  # fmt: skip
    for seed in seeds:
        run, trials = runs[seed], runs[seed]["trials"]
        print(f"  seed {seed}: {run['best']['canonical']}  {found[seed]:.2f} %  ({trials['done']} "
              f"trials, {trials['cached']} cached, {run['search_seconds']:.0f} s)")  # fmt: skip
    print_summary("found", list(found.values()))
    if space_name in SECOND_COLUMN:
        second, _ = accuracy_table(space_name, SECOND_COLUMN[space_name])
        print_summary(
            f"  {SECOND_COLUMN[space_name]} of the same nets",
            [second[runs[s]["best"]["canonical"]] for s in seeds],
        )
    print(f"best of {args.evals} random nets by MACs: median {statistics.median(reference):.2f} %, "
          f"mean {statistics.mean(reference):.2f} %; the best of those {args.evals} nets: median "
          f"{statistics.median(oracle):.2f} %, mean {statistics.mean(oracle):.2f} %")  # fmt: skip
    budgets = ", ".join(b["text"] for b in runs[seeds[0]]["budgets"])
    print(f"space within {budgets}: best {values[-1]:.2f} %, 99th percentile "
          f"{values[int(0.99 * (len(values) - 1))]:.2f} %, {len(values)} networks")  # fmt: skip


def print_summary(label: str, values: list[float]) -> None:
    print(f"{label}: median {statistics.median(values):.2f} %, "
          f"mean {statistics.mean(values):.2f} %, "
          f"min {min(values):.2f}, max {max(values):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
