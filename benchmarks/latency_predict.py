"""Prediction speed from the shipped latency tables (archs per second).

Cold = first prediction of each arch (key list built, per-key lookups, family estimates
cached on first use); walk = first prediction of each child along a mutation walk (what
evolution asks: a child shares most blocks, hence most keys, with its parent); warm =
repeated predictions (per-arch cache), what a search's re-evaluations and constraint
checks see.

    python benchmarks/latency_predict.py
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from nascli.latency.predict import Predictor
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]


def rate(predictor: Predictor, archs: list, repeats: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for arch in archs:
            predictor.predict(arch)
    return repeats * len(archs) / (time.perf_counter() - start)


def main() -> None:
    cases = [("cpu/nb201-32.json", None), ("cpu/mobilenet-imagenet-224.json", 10_000)]
    for name, count in cases:
        path = ROOT / "latency_tables" / name
        if not path.is_file():
            print(f"{name}: missing")
            continue
        table = LatencyTable.load(path)
        space = get_space(table.space)
        if count is None:
            archs = [space.from_index(i) for i in range(15_625)]
        else:
            rng = random.Random(0)
            archs = [space.sample(rng) for _ in range(count)]
        predictor = Predictor(table)
        cold = rate(predictor, archs)
        warm = rate(predictor, archs, repeats=5)
        estimated = sum(predictor.predict(a).estimated for a in archs)
        rng, parent, walk = random.Random(1), archs[0], []
        for _ in range(10_000):
            parent = space.mutate(parent, rng)
            walk.append(parent)
        walked = rate(Predictor(table), walk)
        print(
            f"{name}: {len(archs)} archs, cold {cold:,.0f} archs/s, walk {walked:,.0f} archs/s, "
            f"warm {warm:,.0f} archs/s, {estimated} with estimated keys"
        )


if __name__ == "__main__":
    main()
