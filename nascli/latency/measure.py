"""Measuring on this machine: isolated blocks, blocks in context, whole networks.

* ``measure_isolated``: one tiny ONNX model per key, fresh session each, seeded input,
  warm-up, timed runs over shuffled rounds (``nascli.latency.timing``).
* ``measure_in_context``: whole probe networks run under ORT's profiler
  (``enable_profiling``); each node's ``*_kernel_time`` is mapped back to the block whose
  module path its name carries (``/features/features.3/...``, ``.../edges.4/...``), so a
  block is timed with its real neighbours and the real thread pool. Nodes the optimiser
  inserted without a module path (layout reorders) count for the block before them;
  nodes that belong to no block (NB201 cell sums) are left to the fitted overhead.
* ``measure_networks``: end-to-end timing of whole networks (overhead fit, validation).
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nascli.latency.devices import DeviceProfile, make_session
from nascli.latency.models import convert_precision, export_block, export_network
from nascli.latency.timing import (
    TimingProtocol,
    seeded_input,
    session_runner,
    summarize,
    time_runs,
    typed_input,
    warm_up,
)
from nascli.layers import LayerKey
from nascli.yamlio import read_json_file

Progress = Callable[[int, str], None]  # (items just finished, what is running)
CHUNK = 16


def _noop(_done: int, _what: str) -> None:
    return None


def _time_sessions(
    runners: list[Callable[[], object]], protocol: TimingProtocol, rng: random.Random
) -> list[list[float]]:
    """Warm each runner, then time all of them in shuffled rounds."""
    samples: list[list[float]] = [[] for _ in runners]
    for run in runners:
        warm_up(run, protocol)
    for round_index in range(protocol.rounds):
        order = list(range(len(runners)))
        rng.shuffle(order)
        for i in order:
            if round_index > 0:
                for _ in range(protocol.rewarm_runs):
                    runners[i]()
            samples[i].extend(time_runs(runners[i], protocol.runs_per_round, protocol.clock))
    return samples


def measure_isolated(
    keys: Sequence[LayerKey],
    device: DeviceProfile,
    protocol: TimingProtocol,
    *,
    on_chunk: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    progress: Progress = _noop,
) -> dict[str, dict[str, Any]]:
    """Time each key's block alone; ``on_chunk`` gets results every CHUNK keys (for resume)."""
    rng = random.Random(protocol.seed)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="nascli-profile-") as tmp:
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start : start + CHUNK])
            runners = []
            sessions = []
            for index, key in enumerate(chunk):
                progress(0, f"export {key.op} {key.cin}>{key.cout} k{key.kernel} {key.h}px")
                path = Path(tmp) / f"block{start + index}.onnx"
                export_block(key, path, batch=device.batch_size, seed=protocol.seed)
                convert_precision(path, device.precision, seed=protocol.seed, block=True)
                session = make_session(device, str(path))
                sessions.append(session)
                feeds = {
                    session.get_inputs()[0].name: typed_input(
                        session, (device.batch_size, key.cin, key.h, key.w), protocol.seed
                    )
                }
                runners.append(session_runner(session, feeds, device.io_binding))
            progress(0, f"timing {len(chunk)} blocks")
            samples = _time_sessions(runners, protocol, rng)
            chunk_results = {
                key.to_str(): {**summarize(s), "source": "isolated"}
                for key, s in zip(chunk, samples, strict=True)
            }
            results.update(chunk_results)
            del sessions, runners
            if on_chunk is not None:
                on_chunk(chunk_results)
            progress(len(chunk), "")
    return results


def measure_offset(device: DeviceProfile, protocol: TimingProtocol) -> float:
    """Time of running a model that does nothing (one Identity node): per-run framework cost.

    Subtracted from every isolated entry, since a network pays it once, not once per block.
    """
    session = make_session(device, null_model_bytes(device.batch_size))
    feeds = {"input": seeded_input((device.batch_size, 8, 8, 8), protocol.seed)}
    run = session_runner(session, feeds, device.io_binding)
    samples = _time_sessions([run], protocol, random.Random(protocol.seed))[0]
    return float(summarize(samples)[f"{protocol.statistic}_ms"])


def null_model_bytes(batch: int) -> bytes:
    """A model that only copies its input (one Identity node), serialized."""
    import onnx
    from onnx import TensorProto, helper

    shape = [batch, 8, 8, 8]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "null",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def measure_networks(
    space_name: str,
    archs: Sequence[Any],
    resolution: int,
    device: DeviceProfile,
    protocol: TimingProtocol,
    *,
    progress: Progress = _noop,
    chunk: int = 8,
) -> list[dict[str, Any]]:
    """End-to-end stats of whole networks (same protocol as the blocks).

    With ``protocol.passes`` > 1 every network is timed again in each later pass over the
    whole list, in fresh sessions, and the samples of all passes are pooled. ``progress``
    advances by one per network and pass (``len(archs) * passes`` in all).
    """
    rng = random.Random(protocol.seed + 1)
    samples: list[list[float]] = [[] for _ in archs]
    with tempfile.TemporaryDirectory(prefix="nascli-nets-") as tmp:
        paths = []
        for index, arch in enumerate(archs):
            progress(0, f"export network {index + 1}/{len(archs)}")
            path = Path(tmp) / f"net{index}.onnx"
            export_network(space_name, arch, resolution, path, batch=device.batch_size)
            convert_precision(path, device.precision, seed=protocol.seed)
            paths.append(path)
        shape = (device.batch_size, 3, resolution, resolution)
        for pass_index in range(protocol.passes):
            for start in range(0, len(archs), chunk):
                sessions = [make_session(device, str(p)) for p in paths[start : start + chunk]]
                runners = [
                    session_runner(
                        s, {s.get_inputs()[0].name: seeded_input(shape, protocol.seed)},
                        device.io_binding,
                    )
                    for s in sessions
                ]  # fmt: skip
                what = "" if protocol.passes == 1 else f" (pass {pass_index + 1})"
                progress(0, f"timing {len(sessions)} networks{what}")
                for index, values in enumerate(_time_sessions(runners, protocol, rng)):
                    samples[start + index].extend(values)
                timed = len(sessions)
                del sessions, runners
                progress(timed, "")
    return [summarize(s) for s in samples]


# ---------------------------------------------------------------------------- in context
def block_prefixes(keys: Sequence[LayerKey]) -> list[tuple[str, int]]:
    """(node-name prefix, key index) for a network built from ``keys`` (longest first)."""
    prefixes: list[tuple[str, int]] = [("/head/", len(keys) - 1)]
    if keys and keys[-1].op == "nb201_head":
        prefixes.append(("/features/features.0/", 0))
        index, feature = 1, 1
        body = keys[1:-1]
        position = 0
        while position < len(body):
            if body[position].op == "nb201_res":
                prefixes.append((f"/features/features.{feature}/", index))
                index += 1
                position += 1
            else:
                for edge in range(6):
                    prefixes.append((f"/features/features.{feature}/edges.{edge}/", index + edge))
                index += 6
                position += 6
            feature += 1
    else:
        prefixes += [(f"/features/features.{i}/", i) for i in range(len(keys) - 1)]
    return sorted(prefixes, key=lambda p: -len(p[0]))


_CELL_RE = re.compile(r"^/features/features\.\d+/")


def attribute_profile(
    events: list[dict[str, Any]],
    keys: Sequence[LayerKey],
    skip_runs: int,
    node_overhead_ms: float = 0.0,
) -> tuple[list[list[float]], list[float], list[float]]:
    """Per run: ms per key index; plus each run's unattributed ms and model_run ms.

    ``node_overhead_ms`` (the profiler's own cost per node, measured by timing the probe
    with and without profiling) is subtracted from every node.
    """
    prefixes = block_prefixes(keys)
    runs = sorted(
        (e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
        key=lambda e: e["ts"],
    )[skip_runs:]
    nodes = sorted(
        (
            e
            for e in events
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")
        ),
        key=lambda e: e["ts"],
    )
    per_run = [[0.0] * len(keys) for _ in runs]
    loose = [0.0] * len(runs)
    totals = [float(r["dur"]) / 1000.0 for r in runs]
    run_index = 0
    last: int | None = None
    previous_end = 0.0
    for node in nodes:
        ts = node["ts"]
        while run_index < len(runs) and ts > runs[run_index]["ts"] + runs[run_index]["dur"]:
            run_index += 1
            last = None
        if run_index >= len(runs):
            break
        if ts < runs[run_index]["ts"]:
            continue  # a warm-up run
        if last is None:
            previous_end = float(runs[run_index]["ts"])
        name = node["name"][: -len("_kernel_time")]
        owner = next((i for prefix, i in prefixes if name.startswith(prefix)), None)
        # The executor's gap before a node (scheduling, allocation) is part of its cost.
        end = float(ts + node["dur"])
        kernel = float(node["dur"]) / 1000.0
        ms = max(max(end - previous_end, float(node["dur"])) / 1000.0 - node_overhead_ms, kernel)
        previous_end = end
        if owner is None and _CELL_RE.match(name):
            loose[run_index] += ms  # a node of a cell but no edge (node sums)
            continue
        if owner is None:
            owner = last
        if owner is None:
            loose[run_index] += ms
            continue
        per_run[run_index][owner] += ms
        last = owner
    return per_run, loose, totals


def measure_in_context(
    space_name: str,
    probes: Sequence[Any],
    resolution: int,
    device: DeviceProfile,
    protocol: TimingProtocol,
    *,
    on_probe: Callable[[int, dict[str, list[float]]], None] | None = None,
    progress: Progress = _noop,
    start: int = 0,
) -> dict[str, list[float]]:
    """Per-key samples (ms per occurrence per run) from profiled probe networks."""
    from nascli.spaces import get_space

    space = get_space(space_name)
    samples: dict[str, list[float]] = {}
    rng = random.Random(protocol.seed)
    with tempfile.TemporaryDirectory(prefix="nascli-context-") as tmp:
        for index in range(start, len(probes)):
            arch = probes[index]
            keys = space.layers(arch, resolution=resolution)
            progress(0, f"probe network {index + 1}/{len(probes)}")
            path = Path(tmp) / f"probe{index}.onnx"
            export_network(space_name, arch, resolution, path, batch=device.batch_size)
            convert_precision(path, device.precision, seed=protocol.seed)
            feeds = {
                "input": seeded_input((device.batch_size, 3, resolution, resolution), protocol.seed)
            }
            plain = make_session(device, str(path))
            plain_run = session_runner(plain, feeds, device.io_binding)
            plain_stats = summarize(_time_sessions([plain_run], protocol, rng)[0])
            del plain, plain_run
            session = make_session(device, str(path), profiling_prefix=str(Path(tmp) / f"p{index}"))
            run = session_runner(session, feeds, device.io_binding)
            warm = 0

            def counted(run: Callable[[], object] = run) -> object:
                nonlocal warm
                warm += 1
                return run()

            warm_up(counted, protocol)
            timed = protocol.runs
            for _ in range(timed):
                run()
            trace = Path(session.end_profiling())
            events = read_json_file(trace)
            trace.unlink(missing_ok=True)
            overhead = _profiler_overhead(events, warm, plain_stats["min_ms"])
            per_run, _loose, _totals = attribute_profile(events, keys, warm, overhead)
            probe_samples: dict[str, list[float]] = {}
            occurrences: dict[str, list[int]] = {}
            for i, key in enumerate(keys):
                occurrences.setdefault(key.to_str(), []).append(i)
            for text, idxs in occurrences.items():
                probe_samples[text] = [sum(r[i] for i in idxs) / len(idxs) for r in per_run]
            for text, values in probe_samples.items():
                samples.setdefault(text, []).extend(values)
            if on_probe is not None:
                on_probe(index, probe_samples)
            progress(1, "")
    return samples


def _profiler_overhead(events: list[dict[str, Any]], skip_runs: int, plain_min_ms: float) -> float:
    """Per-node cost the profiler adds: (profiled run − plain run) / nodes per run."""
    runs = sorted(
        (e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
        key=lambda e: e["ts"],
    )[skip_runs:]
    if not runs:
        return 0.0
    nodes = sum(
        1
        for e in events
        if e.get("cat") == "Node"
        and e.get("name", "").endswith("_kernel_time")
        and runs[0]["ts"] <= e["ts"] <= runs[0]["ts"] + runs[0]["dur"]
    )
    profiled_min = min(float(r["dur"]) for r in runs) / 1000.0
    return max(profiled_min - plain_min_ms, 0.0) / max(nodes, 1)


# ---------------------------------------------------------------------------- regression
def measure_by_regression(
    space_name: str,
    probes: Sequence[Any],
    keys: Sequence[LayerKey],
    resolution: int,
    device: DeviceProfile,
    protocol: TimingProtocol,
    *,
    progress: Progress = _noop,
) -> tuple[dict[str, dict[str, Any]], float]:
    """Entries as the per-key times that best explain whole probe networks (in context).

    For spaces whose keys are few (NB201), every network is a known count of each key, so
    timing enough probe networks end-to-end and solving ``t = counts · entries + overhead``
    (non-negative least squares on relative errors) gives entries measured with their real
    neighbours, layouts and executor costs. Keys present equally often in every probe (stem,
    reductions, head) cannot be told apart from the constant: they get 0 and their time
    is part of the fitted overhead (the second return value, for the ``median`` fit).
    """
    import numpy as np
    from scipy.optimize import nnls

    from nascli.spaces import get_space

    space = get_space(space_name)
    stats = measure_networks(space_name, probes, resolution, device, protocol, progress=progress)
    texts = [k.to_str() for k in keys]
    index = {t: i for i, t in enumerate(texts)}
    counts = np.zeros((len(probes), len(texts)))
    for row, arch in enumerate(probes):
        for key in space.layers(arch, resolution=resolution):
            counts[row, index[key.to_str()]] += 1
    varying = [j for j in range(len(texts)) if np.ptp(counts[:, j]) > 0]
    design = np.column_stack([counts[:, varying], np.ones(len(probes))])
    entries: dict[str, dict[str, Any]] = {}
    overhead: dict[str, float] = {}
    for field in ("median_ms", "min_ms", "p10_ms", "p90_ms"):
        y = np.array([s[field] for s in stats])
        coef, _ = nnls(design / y[:, None], np.ones_like(y), maxiter=5000)
        overhead[field] = float(coef[-1])
        for position, j in enumerate(varying):
            entries.setdefault(texts[j], {"n": len(probes), "source": "regression"})[field] = round(
                float(coef[position]), 6
            )
    for j, text in enumerate(texts):
        if j not in varying:
            entries[text] = {
                "median_ms": 0.0,
                "min_ms": 0.0,
                "p10_ms": 0.0,
                "p90_ms": 0.0,
                "n": len(probes),
                "source": "regression-constant",
            }
    return entries, overhead[f"{protocol.statistic}_ms"]
