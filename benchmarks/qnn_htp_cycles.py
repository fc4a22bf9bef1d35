"""Do simulated HTP cycles add up? A block-cycle table vs whole networks' cycles, one space.

Qualcomm's HTP simulator (onnxruntime-qnn on x86-64, CPU fallback off) runs ``--probes``
seeded random int8 QDQ networks ``--runs`` times each; every node's fewest cycles over the
runs is charged to its block (``nascli.latency.qnn_context``), giving one sample per key and
probe; a key's entry is the median of its samples, the overhead (graph boundary) the median
over probes. Then ``--nets`` other seeded random networks are run whole the same way and
compared with the table's prediction (sum of entries + overhead): MAPE, share within
±10 %, Spearman, Kendall. Printed next to them, as references from the same run: the
per-key run-to-run spread ((max - min) / median of a block's cycles over the runs of one
session) and the whole networks' spread, and the Spearman of each network's pooled figure
against its plain median over runs (how consistently the simulator ranks the same nets).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/qnn_htp_cycles.py --space nb201 \
        [--probes 24] [--nets 30] [--runs 3] [--htp-arch 73] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from nascli.latency.predict import accuracy_figures
from nascli.latency.profile import FIT_SEED, VALIDATION_SEED, random_archs
from nascli.latency.qnn_context import (
    fewest_per_node,
    key_samples,
    median_entries,
    network_runs,
    predict_cycles,
)
from nascli.latency.qnn_cycles import spread
from nascli.spaces import get_space


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--probes", type=int, default=24)
    parser.add_argument("--nets", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--htp-arch", type=int, default=73)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    space = get_space(args.space)
    resolution = space.resolution
    probes = random_archs(space, args.probes, FIT_SEED)
    samples, overheads, key_spreads = key_samples(
        space, probes, resolution, args.htp_arch, args.runs
    )
    entries = median_entries(samples)
    overhead = statistics.median(overheads)
    print(f"{len(entries)} keys from {len(probes)} probes, {time.perf_counter() - start:.0f} s")
    predicted, measured, medians, net_spreads, skipped = [], [], [], [], 0
    for arch in random_archs(space, args.nets, VALIDATION_SEED):
        counts = list(space.key_counts(arch))
        if any(key.to_str() not in entries for key, _ in counts):
            skipped += 1
            continue
        runs = network_runs(args.space, arch, resolution, args.htp_arch, args.runs)
        predicted.append(predict_cycles(entries, overhead, counts))
        measured.append(float(sum(fewest_per_node(runs).values())))
        medians.append(statistics.median(r.total for r in runs))
        net_spreads.append(spread([r.total for r in runs]))
    sample_spread = [spread([int(v) for v in s]) for s in samples.values() if len(s) > 1]
    report = {
        "space": args.space,
        "htp_arch": args.htp_arch,
        "keys": len(entries),
        "probes": len(probes),
        "runs": args.runs,
        "validation_nets": len(measured),
        "validation_nets_with_unseen_keys": skipped,
        "key_run_to_run_spread": quantiles(key_spreads),
        "key_probe_to_probe_spread": quantiles(sample_spread),
        "net_run_to_run_spread": quantiles(net_spreads),
        "overhead_cycles": overhead,
        "net_cycles_range": [min(measured), max(measured)],
        "table_vs_nets": accuracy_figures(predicted, measured),
        "pooled_vs_median_of_runs": accuracy_figures(measured, medians),
        "seconds": round(time.perf_counter() - start),
    }
    print(json.dumps(report, indent=1))
    if args.json is not None:
        extra = {"entries": entries, "predicted": predicted, "measured": measured}
        args.json.write_text(json.dumps({**report, **extra}))


if __name__ == "__main__":
    main()
