"""``nascli profile --device qnn-htp-sim``: a table of *simulated HTP cycles*, validated.

Entries come from probe networks run in Qualcomm's HTP simulator (``qnn_context``): the
median over probes of a key's cycles per occurrence; ``fit.overhead_ms`` holds the median
graph-boundary cycles (the field names keep the schema's ``_ms`` suffix, the table's
``unit`` says what they hold). Validation runs other random networks whole and records
MAPE/Spearman/Kendall of the block sum against their simulated cycles, plus the run-to-run
spread per block, in the table's metadata. The unit is ``htp_cycles``: the simulator's
count for the named ``htp_arch``, not a device's time; ``tables calibrate`` with a board's
measured networks is what turns it into milliseconds.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.devices import DeviceProfile
from nascli.latency.table import LatencyTable, new_table

CYCLES_UNIT = "htp_cycles"


def htp_arch_of(device: DeviceProfile) -> int:
    """The ``htp_arch`` a cycles profile names (required: cycles differ per arch)."""
    options = device.providers[0].options
    if "htp_arch" not in options:
        raise ConfigError(f"device {device.name!r}: a cycles profile needs options.htp_arch")
    try:
        return int(options["htp_arch"])
    except (TypeError, ValueError):
        raise ConfigError(f"device {device.name!r}: htp_arch must be an integer") from None


def _stats(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    last = len(ordered) - 1
    return {
        "median_ms": statistics.median(ordered),
        "min_ms": ordered[0],
        "p10_ms": ordered[round(0.1 * last)],
        "p90_ms": ordered[round(0.9 * last)],
        "n": len(ordered),
        "source": "in_context",
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "p90": round(ordered[round(0.9 * (len(ordered) - 1))], 4),
    }


def profile_cycles_table(
    device: DeviceProfile,
    space_name: str,
    resolution: int,
    out: Path,
    *,
    probes: int = 24,
    nets: int = 30,
    runs: int = 5,
) -> LatencyTable:
    """Profile, validate and save a cycles table for ``space_name`` on ``device``."""
    from nascli.latency.predict import accuracy_figures
    from nascli.latency.profile import FIT_SEED, VALIDATION_SEED, random_archs
    from nascli.latency.qnn import qnn_available, qnn_version
    from nascli.latency.qnn_context import (
        fewest_per_node,
        key_samples,
        median_entries,
        network_runs,
        predict_cycles,
    )
    from nascli.latency.qnn_cycles import spread
    from nascli.spaces import get_space

    if not qnn_available():
        raise ConfigError(f"device {device.name!r} needs onnxruntime-qnn: pip install nascli[qnn]")
    htp_arch = htp_arch_of(device)
    space = get_space(space_name)
    probe_archs = random_archs(space, probes, FIT_SEED)
    samples, overheads, key_spreads = key_samples(space, probe_archs, resolution, htp_arch, runs)
    entries = median_entries(samples)
    overhead = statistics.median(overheads)
    predicted, measured, net_spreads = [], [], []
    for arch in random_archs(space, nets, VALIDATION_SEED):
        counts = list(space.key_counts(arch, resolution=resolution))
        if any(key.to_str() not in entries for key, _ in counts):
            continue
        net = network_runs(space_name, arch, resolution, htp_arch, runs)
        predicted.append(predict_cycles(entries, overhead, counts))
        measured.append(float(sum(fewest_per_node(net).values())))
        net_spreads.append(spread([r.total for r in net]))
    if not measured:
        raise ConfigError(
            f"the {probes} probe networks leave every one of the {nets} validation networks "
            "with an unmeasured key; give more --probes"
        )
    protocol = {
        "warmup_runs": 1,
        "warmup_s": 0.0,
        "runs": runs,
        "rounds": 1,
        "statistic": "median",
        "pooling": "per node: fewest cycles over the runs; per key: median over probes",
    }
    table = new_table(space_name, resolution, device.to_dict(), protocol)
    table.meta.update(
        {
            "unit": CYCLES_UNIT,
            "unit_note": (
                f"simulated HTP cycles for htp_arch {htp_arch} from Qualcomm's QNN HTP "
                f"simulator (onnxruntime-qnn {qnn_version()} on x86-64), not a device "
                "measurement; *_ms fields hold cycles"
            ),
            "htp_arch": htp_arch,
            "method": "in_context",
            "enumeration": {"method": "probes", "probes": probes, "seed": FIT_SEED},
            "fit": {"scale": 1.0, "overhead_ms": overhead},
            "repeatability": {
                "block_run_to_run_spread": _quantiles(key_spreads),
                "network_run_to_run_spread": _quantiles(net_spreads) if net_spreads else None,
                "spread": "(max - min) / median over the runs of one session",
            },
            "accuracy": {
                **accuracy_figures(predicted, measured),
                "seed": VALIDATION_SEED,
                "against": "whole networks' simulated cycles (sum over nodes of the fewest)",
            },
            "complete": True,
        }
    )
    table.entries = {key: _stats(values) for key, values in samples.items()}
    table.save(out)
    return table
