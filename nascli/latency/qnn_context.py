"""Simulated HTP cycles per block, attributed inside whole int8 networks (in context).

A block model run alone on the HTP is not what the block costs in a network: nascli's int8
block models keep a float input where the quantizer leaves the first op unquantized (an
NB201 edge starts with ReLU), and the simulator then spends most of the block's cycles
quantizing that input (measured: 5-8 M of a 3x3 edge's 7-11 M cycles, its conv 1.3-2 M).
Inside a network the tensor arrives quantized. So, as the ``in_context`` CPU protocol does
with ONNX Runtime's profiler, each probe network is run whole in the simulator and each
node's cycles (QNN's detailed profile names the ONNX node) are charged to the block whose
module path prefixes the node's name; the graph's boundary (input quantization, layout
transposes, graph input/output) is the network's overhead.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nascli.latency.qnn_cycles import Run, simulate_runs, spread


@dataclass
class Attributed:
    """One probe: pooled cycles per key index, overhead cycles, per-key run-to-run spread."""

    per_key: list[float]
    overhead: float
    total: float
    key_spread: list[float]


def fewest_per_node(runs: list[Run]) -> dict[str, int]:
    """Each node's fewest cycles over ``runs`` (host load only ever adds cycles)."""
    fewest: dict[str, int] = {}
    for run in runs:
        for name, cycles in run.nodes.items():
            fewest[name] = min(cycles, fewest.get(name, cycles))
    return fewest


def attribute_cycles(nodes: dict[str, int], keys: list[Any]) -> tuple[list[float], float]:
    """Cycles per key index and the unattributed (boundary) cycles of one node mapping.

    A node belongs to the longest block prefix its name starts with; a node without one
    (QNN's graph Input/Output, layout transposes, the input QuantizeLinear) is overhead.
    """
    from nascli.latency.measure import block_prefixes

    prefixes = block_prefixes(keys)
    per_key = [0.0] * len(keys)
    overhead = 0.0
    for name, cycles in nodes.items():
        owner = next((i for prefix, i in prefixes if name.startswith(prefix)), None)
        if owner is None:
            overhead += cycles
        else:
            per_key[owner] += cycles
    return per_key, overhead


def attribute_runs(runs: list[Run], keys: list[Any]) -> Attributed:
    """Pooled per-key cycles of one probe, with each key's spread over the runs."""
    per_key, overhead = attribute_cycles(fewest_per_node(runs), keys)
    per_run = [attribute_cycles(run.nodes, keys)[0] for run in runs]
    key_spread = [spread([int(r[i]) for r in per_run]) for i in range(len(keys))]
    return Attributed(per_key, overhead, sum(per_key) + overhead, key_spread)


def network_runs(
    space_name: str, arch: Any, resolution: int, htp_arch: int, runs: int, *, seed: int = 0
) -> list[Run]:
    """Simulated runs of one whole int8 QDQ network (float in and out, as deployed)."""
    from nascli.latency.models import convert_precision, export_network

    with tempfile.TemporaryDirectory(prefix="nascli-htp-") as tmp:
        path = Path(tmp) / "net.onnx"
        export_network(space_name, arch, resolution, path)
        convert_precision(path, "int8-qdq", seed=seed)
        return simulate_runs(str(path), htp_arch, runs, seed=seed)


def key_samples(
    space: Any, probes: list[Any], resolution: int, htp_arch: int, runs: int
) -> tuple[dict[str, list[float]], list[float], list[float]]:
    """Per key text: cycles per occurrence, one sample per probe it appears in; plus every
    probe's overhead cycles and every (key, probe) run-to-run spread."""
    samples: dict[str, list[float]] = {}
    overheads: list[float] = []
    spreads: list[float] = []
    for arch in probes:
        keys = space.layers(arch, resolution=resolution)
        attributed = attribute_runs(
            network_runs(space.name, arch, resolution, htp_arch, runs), keys
        )
        overheads.append(attributed.overhead)
        occurrences: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            occurrences.setdefault(key.to_str(), []).append(index)
        for text, indexes in occurrences.items():
            value = sum(attributed.per_key[i] for i in indexes) / len(indexes)
            samples.setdefault(text, []).append(value)
            spreads.extend(attributed.key_spread[i] for i in indexes)
    return samples, overheads, spreads


def predict_cycles(
    entries: dict[str, float], overhead: float, counts: list[tuple[Any, int]]
) -> float:
    """A network's cycles from per-key entries: the sum over its keys plus the overhead."""
    return overhead + sum(entries[key.to_str()] * count for key, count in counts)


def median_entries(samples: dict[str, list[float]]) -> dict[str, float]:
    return {key: statistics.median(values) for key, values in samples.items()}
