"""The top end of the analytic proxies over a whole space under a MACs budget.

A search that optimised a proxy perfectly would return the proxy's argmax over every network
within the budget; its accuracy bounds what any search driven by that proxy can return. For the
proxies known without building a network (MACs, parameters) that argmax is computed exactly here
over every row of a ground-truth CSV, ties counted by their expectation
(``nascli.top_end``), beside what a perfect ranking of the same networks gives. Proxies that
need a forward pass are scored by ``nascli proxies bench``; ``--write-csv`` writes the rows
within the budget for it (``--sample all``), so a proxy can be measured on every network there.

    python benchmarks/top_end_bound.py --space nb201 --budget 120e6 \
        --at test_acc_cifar10=93.9 --at test_acc_cifar100=72.3
    python benchmarks/top_end_bound.py --space nas-bench-macro --budget 50e6 --at mean_acc=91.8 \
        --write-csv MACRO_50M.csv

``--at COLUMN=VALUE`` also counts the networks that reach an accuracy (how far into the top of
the budgeted space a search must land to return one of them), those that reach every ``--at``
level at once, and those the budget removes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
GROUND_TRUTH = {
    "nb201": (SHARED / "nb201_accuracy.csv", ("test_acc_cifar10", "test_acc_cifar100")),
    "nas-bench-macro": (SHARED / "nas_bench_macro_cifar10.csv", ("mean_acc",)),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(GROUND_TRUTH), default="nb201")
    parser.add_argument("--budget", type=float, default=None, help="MACs budget, e.g. 120e6")
    parser.add_argument("--draws", type=int, default=200, help="bootstrap draws")
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="count the networks whose COLUMN is at least VALUE (repeatable)",
    )
    parser.add_argument("--write-csv", type=Path, help="write the ground-truth rows in budget")
    args = parser.parse_args()
    path, targets = GROUND_TRUTH[args.space]
    thresholds = _thresholds(args.at, targets, parser)
    if not path.is_file():
        print(f"skipped: {path} not found (reference data lives in ../shared/data)")
        return 0
    import numpy as np

    from nascli.bench import load_ground_truth
    from nascli.spaces import get_space
    from nascli.top_end import population_reference, top_end

    space = get_space(args.space)
    truths = {
        t: load_ground_truth(path, space=args.space, target=t, sample=None, seed=0) for t in targets
    }
    costs = [space.cost(a) for a in truths[targets[0]].archs]
    fits = np.array([args.budget is None or c.macs <= args.budget for c in costs])
    keep = np.flatnonzero(fits)
    budget = f"{args.budget / 1e6:g} M MACs" if args.budget else "no budget"
    ks = [10, 50, "1%"]
    for target in targets:
        accuracy = np.array(truths[target].targets)[keep]
        print(f"{args.space}, {target}, {budget}: {len(keep)} of {len(costs)} networks")
        reference = population_reference(accuracy, ks)
        for name, values in (
            ("flops", [costs[i].macs for i in keep]),
            ("params", [costs[i].params for i in keep]),
        ):
            end = top_end(values, accuracy, ks=ks, draws=args.draws)
            cells = "  ".join(f"{label} {v.value:.2f}" for label, v in end.top_k.items())
            print(f"  {name:<16} {cells}  argmax {end.argmax.value:.2f}")
        cells = "  ".join(f"{label} {reference[label]:.2f}" for label in end.top_k)
        print(f"  {'perfect ranking':<16} {cells}  argmax {reference['argmax']:.2f}")
        if target in thresholds:
            reaching(np.array(truths[target].targets) >= thresholds[target], fits,
                     f"reach {thresholds[target]:g}")  # fmt: skip
    if len(thresholds) > 1:
        every = np.logical_and.reduce(
            [np.array(truths[t].targets) >= level for t, level in thresholds.items()]
        )
        reaching(every, fits, "reach " + " and ".join(f"{t} {v:g}" for t, v in thresholds.items()))
    if args.write_csv is not None:
        write_rows(path, args.space, space, args.budget, args.write_csv)
    return 0


def reaching(reach, fits, what: str) -> None:
    """Print how many budgeted networks ``reach`` marks, and how many the budget removes."""
    inside = int((reach & fits).sum())
    share = 100.0 * inside / max(int(fits.sum()), 1)
    print(f"  {inside} of {int(fits.sum())} networks {what} (top {share:.2f} %)", end="")
    outside = int((reach & ~fits).sum())
    print(f"; the budget removes {outside} more" if outside else "")


def write_rows(path: Path, space_name: str, space, budget: float | None, out: Path) -> None:
    """The ground-truth rows whose networks fit the budget, in the file's own columns
    (NAS-Bench-Macro: its canonical rows only, as ``proxies bench`` reads them)."""
    import csv

    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        rows = [r for r in reader if r.get("is_canonical", "1") == "1"]
    archs = [
        space.from_index(int(r["index"])) if space_name == "nb201" else space.parse(r["arch"])
        for r in rows
    ]
    kept = [
        r
        for r, a in zip(rows, archs, strict=True)
        if budget is None or space.cost(a).macs <= budget
    ]
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    print(f"{out}: {len(kept)} rows")


def _thresholds(
    items: list[str], columns: tuple[str, ...], parser: argparse.ArgumentParser
) -> dict[str, float]:
    """``["test_acc_cifar10=93.9"]`` → ``{"test_acc_cifar10": 93.9}``; else a usage error."""
    thresholds: dict[str, float] = {}
    for item in items:
        column, _, value = item.partition("=")
        if column not in columns:
            parser.error(f"--at {item!r}: the column is one of {', '.join(columns)}")
        try:
            thresholds[column] = float(value)
        except ValueError:
            parser.error(f"--at {item!r}: expected COLUMN=VALUE, e.g. test_acc_cifar10=93.9")
    return thresholds


if __name__ == "__main__":
    sys.exit(main())
