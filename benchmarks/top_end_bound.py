"""The top end of the analytic proxies over a whole space under a MACs budget.

A search that optimised a proxy perfectly would return the proxy's argmax over every network
within the budget; its accuracy bounds what any search driven by that proxy can return. For the
proxies known without building a network (MACs, parameters) that argmax is computed exactly here
over every row of a ground-truth CSV, ties counted by their expectation
(``nascli.top_end``), beside what a perfect ranking of the same networks gives. Proxies that
need a forward pass are measured on seeded samples by ``nascli proxies bench`` instead.

    python benchmarks/top_end_bound.py --space nb201 --budget 120e6 \
        --at test_acc_cifar10=93.9 --at test_acc_cifar100=72.3
    python benchmarks/top_end_bound.py --space nas-bench-macro --budget 50e6 --at mean_acc=91.8

``--at COLUMN=VALUE`` also counts the networks that reach an accuracy: how far into the top of
the space a search must land to return one of them.
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
    args = parser.parse_args()
    thresholds = _thresholds(args.at, parser)
    path, targets = GROUND_TRUTH[args.space]
    if not path.is_file():
        print(f"skipped: {path} not found (reference data lives in ../shared/data)")
        return 0
    import numpy as np

    from nascli.bench import load_ground_truth
    from nascli.spaces import get_space
    from nascli.top_end import population_reference, top_end

    space = get_space(args.space)
    for target in targets:
        truth = load_ground_truth(path, space=args.space, target=target, sample=None, seed=0)
        costs = [space.cost(a) for a in truth.archs]
        keep = [i for i, c in enumerate(costs) if args.budget is None or c.macs <= args.budget]
        accuracy = np.array([truth.targets[i] for i in keep])
        budget = f"{args.budget / 1e6:g} M MACs" if args.budget else "no budget"
        print(f"{args.space}, {target}, {budget}: {len(keep)} of {len(costs)} networks")
        ks = [10, 50, "1%"]
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
            level = thresholds[target]
            reach = int((accuracy >= level).sum())
            share = 100.0 * reach / len(keep) if keep else 0.0
            print(f"  {reach} of {len(keep)} networks reach {level:g} (top {share:.2f} %)")
    return 0


def _thresholds(items: list[str], parser: argparse.ArgumentParser) -> dict[str, float]:
    """``["test_acc_cifar10=93.9"]`` → ``{"test_acc_cifar10": 93.9}``; else a usage error."""
    thresholds: dict[str, float] = {}
    for item in items:
        column, _, value = item.partition("=")
        try:
            thresholds[column] = float(value)
        except ValueError:
            parser.error(f"--at {item!r}: expected COLUMN=VALUE, e.g. test_acc_cifar10=93.9")
    return thresholds


if __name__ == "__main__":
    sys.exit(main())
