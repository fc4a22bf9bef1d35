"""How well a (re-anchored) CPU table predicts plain ONNX Runtime timings on this host.

Exports N random networks of the table's space (a seed that neither the table's fit,
its validation nor ``tables calibrate --measure`` uses), times each with a plain
``onnxruntime.InferenceSession`` under the table's device settings (threads, graph
optimisation) and ``time.perf_counter``/``time.thread_time`` (min of R runs), and prints how
many predictions of each table fall within ±10 %.

    python benchmarks/calibration_check.py --table T1.json --table T2.json --nets 20
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from nascli.latency.models import export_network
from nascli.latency.predict import Predictor
from nascli.latency.table import LatencyTable
from nascli.spaces import get_space

CHECK_SEED = 424242


def plain_ms(path: Path, threads: int, runs: int, clock: str) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": np.random.default_rng(0).standard_normal((1, 3, 224, 224), np.float32)}
    for _ in range(5):
        session.run(None, feed)
    now = time.perf_counter if clock == "wall" else time.thread_time
    best = float("inf")
    for _ in range(runs):
        start = now()
        session.run(None, feed)
        best = min(best, now() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", required=True)
    parser.add_argument("--nets", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--clock", choices=("wall", "thread_cpu"), default="wall")
    args = parser.parse_args()
    tables = [LatencyTable.load(t) for t in args.table]
    space = get_space(tables[0].space)
    threads = int(tables[0].meta["device"]["session"]["intra_op_threads"])
    rng = random.Random(CHECK_SEED)
    archs = [space.sample(rng) for _ in range(args.nets)]
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, arch in enumerate(archs):
            path = Path(tmp) / f"n{index}.onnx"
            export_network(space.name, arch, tables[0].resolution, path)
            measured.append(plain_ms(path, threads, args.runs, args.clock))
    m = np.asarray(measured)
    print(f"{args.nets} nets, plain ORT {args.clock} min of {args.runs} runs, {threads} thread(s)")
    for name, table in zip(args.table, tables, strict=True):
        p = np.asarray([x.latency_ms for x in Predictor(table).predict_many(archs)])
        rel = (p - m) / m
        print(
            f"{name}: within ±10 % {np.mean(np.abs(rel) <= 0.10):.0%}, "
            f"MAPE {np.mean(np.abs(rel)) * 100:.1f} %, mean error {np.mean(rel) * 100:+.1f} %"
        )


if __name__ == "__main__":
    main()
