"""Do simulated HTP cycles add up? Block cycles vs whole networks' cycles, one space.

Each key of the space (every key for nb201; for macro spaces only those of the sampled
networks) is exported and quantized as a ``qnn-npu`` table entry (int8 QDQ, int8 in/out)
and run ``--runs`` times in Qualcomm's HTP simulator (onnxruntime-qnn, CPU fallback off),
``--repeats`` fresh sessions each; its figure is the median of the pooled runs and its
spread the (max - min) / median of the pooled runs. Then ``--nets`` seeded random networks
(float in/out, quantized as ``cpu-int8`` does) are run whole the same way. Printed: the
per-block spread, MAPE of the block sum vs the whole network (raw and with a least-squares
scale + overhead fitted on the same networks, as a reference), Spearman and Kendall.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/qnn_htp_cycles.py --space nb201 \
        [--nets 30] [--runs 3] [--repeats 2] [--htp-arch 73] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from nascli.latency.models import convert_precision, export_block, export_network
from nascli.latency.predict import accuracy_figures
from nascli.latency.profile import random_archs
from nascli.latency.qnn_cycles import simulate_cycles, spread
from nascli.spaces import get_space


def pooled(path: Path, htp_arch: int, runs: int, repeats: int) -> list[int]:
    samples: list[int] = []
    for repeat in range(repeats):
        samples.extend(simulate_cycles(str(path), htp_arch, runs, seed=repeat))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--nets", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--htp-arch", type=int, default=73)
    parser.add_argument("--seed", type=int, default=2_000_003)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    space = get_space(args.space)
    archs = random_archs(space, args.nets, args.seed)
    counts = [space.key_counts(a) for a in archs]
    keys = sorted({k for pairs in counts for k, _ in pairs}, key=lambda k: k.to_str())
    blocks: dict[str, list[int]] = {}
    nets: list[list[int]] = []
    with tempfile.TemporaryDirectory(prefix="nascli-cycles-") as tmp:
        for index, key in enumerate(keys):
            path = Path(tmp) / f"b{index}.onnx"
            export_block(key, path)
            convert_precision(path, "int8-qdq", block=True)
            blocks[key.to_str()] = pooled(path, args.htp_arch, args.runs, args.repeats)
        print(f"{len(keys)} blocks simulated, {time.perf_counter() - start:.0f} s")
        for index, arch in enumerate(archs):
            path = Path(tmp) / f"n{index}.onnx"
            export_network(args.space, arch, space.resolution, path)
            convert_precision(path, "int8-qdq")
            nets.append(pooled(path, args.htp_arch, args.runs, args.repeats))
    medians = {k: statistics.median(v) for k, v in blocks.items()}
    predicted = [sum(medians[k.to_str()] * n for k, n in pairs) for pairs in counts]
    measured = [statistics.median(v) for v in nets]
    block_spreads = sorted(spread(v) for v in blocks.values())
    net_spreads = sorted(spread(v) for v in nets)
    raw = accuracy_figures(predicted, measured)
    import numpy as np

    design = np.column_stack([predicted, np.ones(len(predicted))])
    scale, overhead = np.linalg.lstsq(design, np.asarray(measured), rcond=None)[0]
    fitted = accuracy_figures([scale * p + overhead for p in predicted], measured)
    report = {
        "space": args.space,
        "htp_arch": args.htp_arch,
        "blocks": len(keys),
        "nets": len(archs),
        "runs_per_figure": args.runs * args.repeats,
        "block_spread_median": statistics.median(block_spreads),
        "block_spread_max": block_spreads[-1],
        "net_spread_median": statistics.median(net_spreads),
        "net_spread_max": net_spreads[-1],
        "net_cycles_range": [min(measured), max(measured)],
        "block_sum_vs_net": raw,
        "scale": float(scale),
        "overhead_cycles": float(overhead),
        "scaled_fit_same_nets": fitted,
        "seconds": round(time.perf_counter() - start),
    }
    print(json.dumps(report, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps({**report, "block_cycles": blocks, "net_cycles": nets}))


if __name__ == "__main__":
    main()
