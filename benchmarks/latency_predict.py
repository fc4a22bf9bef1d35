"""Prediction speed from the shipped latency tables (archs per second).

Scalar ``Predictor.predict``, one arch at a time:
  cold = first prediction of each arch (key list built, per-key lookups, family estimates
  cached on first use); walk = first prediction of each child along a mutation walk (what
  evolution asks: a child shares most blocks, hence most keys, with its parent); warm =
  repeated predictions (per-arch cache), what a search's re-evaluations see.
Batch ``Predictor.predict_many`` (what ``nascli predict --archs`` uses):
  cold batch = a fresh predictor pricing a batch of never-seen archs with array operations.

Every rate is the best of ``--repeats`` runs on fresh archs and a fresh predictor (the VM's
neighbours slow single runs by up to ~40 %); the batch rate's median is printed too, and
the batch/scalar ratio beside.

    python benchmarks/latency_predict.py [--count 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

from nascli.latency.predict import Predictor
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]


def scalar_rate(predictor: Predictor, archs: list, repeats: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for arch in archs:
            predictor.predict(arch)
    return repeats * len(archs) / (time.perf_counter() - start)


def batch_rate(table: LatencyTable, archs: list) -> float:
    predictor = Predictor(table)
    start = time.perf_counter()
    predictor.predict_many(archs)
    return len(archs) / (time.perf_counter() - start)


def fresh_archs(space: Any, rng: random.Random, count: int | None) -> list:
    """``count`` sampled archs; None: all of NB201, in a new order each time."""
    if count is None:
        archs = [space.from_index(i) for i in range(15_625)]
        rng.shuffle(archs)
        return archs
    return [space.sample(rng) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="macro archs per run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [("cpu/nb201-32.json", None), ("cpu/mobilenet-imagenet-224.json", args.count)]
    for name, count in cases:
        path = ROOT / "latency_tables" / name
        if not path.is_file():
            print(f"{name}: missing")
            continue
        table = LatencyTable.load(path)
        space = get_space(table.space)
        rng = random.Random(0)

        fresh = partial(fresh_archs, space, rng, count)
        Predictor(table).predict_many(fresh()[:100])  # imports and first-use setup
        cold = walk = warm = 0.0
        batched: list[float] = []
        for _ in range(args.repeats):
            archs = fresh()
            predictor = Predictor(table)
            cold = max(cold, scalar_rate(predictor, archs))
            warm = max(warm, scalar_rate(predictor, archs, repeats=3))
            parent, chain = archs[0], []
            for _ in range(10_000):
                parent = space.mutate(parent, rng)
                chain.append(parent)
            walk = max(walk, scalar_rate(Predictor(table), chain))
            batched.append(batch_rate(table, fresh()))
        estimated = sum(p.estimated for p in Predictor(table).predict_many(archs))
        print(
            f"{name}: {len(archs)} archs ({estimated} with estimated keys), best of "
            f"{args.repeats}: scalar cold {cold:,.0f}/s, walk {walk:,.0f}/s, warm {warm:,.0f}/s; "
            f"batch cold {max(batched):,.0f}/s (median {statistics.median(batched):,.0f}/s; "
            f"{max(batched) / cold:.1f}x scalar cold)"
        )


if __name__ == "__main__":
    main()
