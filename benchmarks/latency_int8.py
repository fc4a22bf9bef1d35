"""Where int8 QDQ is slower than fp32 on this CPU: blocks and whole networks, timed in one run.

For one seeded random network of the space, each distinct block type (op, kernel, stride,
expansion, resolution) is exported once, converted to int8 static QDQ exactly as the
``cpu-int8`` table's blocks are (``convert_precision(..., block=True)``: int8 in and out) and
timed next to its fp32 model, alternating fp32/int8 in shuffled rounds with the thread-CPU
clock (CPU EP, 1 thread), so machine load hits both alike. Then whole networks (float in/out)
the same way. Prints int8/fp32 time ratios; > 1 means int8 is slower.

    python benchmarks/latency_int8.py [--space mobilenet-imagenet] [--nets 3] [--runs 30]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nascli.latency.devices import load_device, make_session
from nascli.latency.models import convert_precision, export_block, export_network
from nascli.latency.profile import random_archs
from nascli.latency.timing import time_runs, typed_input
from nascli.spaces import get_space


def timed_pair(fp32: Path, int8: Path, shape, runs: int, rounds: int = 3) -> tuple[float, float]:
    """Minimum thread-CPU ms of the two models, alternating in shuffled rounds."""
    device = load_device("cpu")
    sessions = [make_session(device, str(p)) for p in (fp32, int8)]
    feeds = [{s.get_inputs()[0].name: typed_input(s, shape, 0)} for s in sessions]
    runners = [lambda s=s, f=f: s.run(None, f) for s, f in zip(sessions, feeds, strict=True)]
    best = [float("inf"), float("inf")]
    order = [0, 1]
    for round_ in range(rounds):
        random.Random(round_).shuffle(order)
        for i in order:
            time_runs(runners[i], 3, "thread_cpu")  # re-warm after the other model
            best[i] = min(best[i], min(time_runs(runners[i], runs // rounds, "thread_cpu")))
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="mobilenet-imagenet")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--nets", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    space = get_space(args.space)
    archs = random_archs(space, args.nets, 7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seen: dict[tuple, object] = {}
        for arch in archs:
            for key in space.layers(arch, resolution=args.resolution):
                seen.setdefault((key.op, key.kernel, key.stride, key.h, key.mid > 0), key)
        print(f"{'block':56s} {'fp32 ms':>8s} {'int8 ms':>8s} {'int8/fp32':>9s}")
        ratios = []
        for key in sorted(seen.values(), key=lambda k: (-k.h, k.op, k.kernel)):
            fp32, int8 = folder / "f.onnx", folder / "q.onnx"
            export_block(key, fp32)
            shutil.copy(fp32, int8)
            convert_precision(int8, "int8-qdq", block=True)
            a, b = timed_pair(fp32, int8, (1, key.cin, key.h, key.w), args.runs)
            ratios.append(b / a)
            print(f"{key.to_str()[:56]:56s} {a:8.3f} {b:8.3f} {b / a:9.2f}")
        print(
            f"blocks: median int8/fp32 {np.median(ratios):.2f}, "
            f"slower in {int(np.sum(np.array(ratios) > 1))}/{len(ratios)}"
        )
        for arch in archs:
            fp32, int8 = folder / "nf.onnx", folder / "nq.onnx"
            export_network(space.name, arch, args.resolution, fp32)
            shutil.copy(fp32, int8)
            convert_precision(int8, "int8-qdq")
            a, b = timed_pair(fp32, int8, (1, 3, args.resolution, args.resolution), args.runs)
            print(
                f"network {arch.canonical[:48]:48s} fp32 {a:7.2f} int8 {b:7.2f} ratio {b / a:5.2f}"
            )


if __name__ == "__main__":
    main()
