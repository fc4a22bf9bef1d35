"""End-to-end timing of one network on a device profile, with the table protocol.

The same steps a table's whole-network fits use (export as the table's blocks are built,
the profile's precision and session options, seeded input, warm-up, shuffled rounds), so a
measured figure and a table's prediction are comparable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.devices import DeviceProfile, make_session
from nascli.latency.timing import (
    TimingProtocol,
    seeded_input,
    session_runner,
    summarize,
    time_runs,
    warm_up,
)


def measure_onnx(path: Path, device: DeviceProfile, protocol: TimingProtocol) -> dict[str, Any]:
    """Time an ONNX file; symbolic dimensions take the profile's batch size (then 1)."""
    if not path.is_file():
        raise ConfigError(f"no such ONNX model: {path}")
    try:
        session = make_session(device, str(path))
    except Exception as exc:  # ORT raises its own pybind types (InvalidProtobuf, Fail, ...)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: ONNX Runtime cannot load it: {message}") from None
    feeds = {}
    for index, node in enumerate(session.get_inputs()):
        if node.type != "tensor(float)":
            raise ConfigError(f"{path}: input {node.name!r} is {node.type}; only float inputs")
        shape = tuple(d if isinstance(d, int) else (device.batch_size if i == 0 else 1)
                      for i, d in enumerate(node.shape))  # fmt: skip
        feeds[node.name] = seeded_input(shape, protocol.seed + index)
    stats = _time(session_runner(session, feeds, device.io_binding), protocol)
    batch = next(iter(feeds.values())).shape[0] if feeds else 1
    return {"model": str(path), "batch": int(batch), **_result(stats, protocol)}


def measure_arch(
    ref: str, device: DeviceProfile, protocol: TimingProtocol, *, resolution: int | None = None
) -> dict[str, Any]:
    """Export ``ref`` as the table's networks are exported, then time it like ``measure_onnx``."""
    from nascli.latency.models import convert_precision, export_network
    from nascli.spaces import get_space, resolve_arch

    arch = resolve_arch(ref)
    size = resolution or get_space(arch.space).resolution
    with tempfile.TemporaryDirectory(prefix="nascli-measure-") as tmp:
        path = Path(tmp) / "net.onnx"
        export_network(arch.space, arch, size, path, batch=device.batch_size)
        convert_precision(path, device.precision, seed=protocol.seed)
        result = measure_onnx(path, device, protocol)
    return {**result, "model": ref, "arch": arch.canonical, "resolution": size}


def _time(run: Any, protocol: TimingProtocol) -> dict[str, Any]:
    warm_up(run, protocol)
    samples: list[float] = []
    for round_index in range(protocol.rounds):
        if round_index:
            for _ in range(protocol.rewarm_runs):
                run()
        samples.extend(time_runs(run, protocol.runs_per_round, protocol.clock))
    return summarize(samples)


def _result(stats: dict[str, Any], protocol: TimingProtocol) -> dict[str, Any]:
    return {
        "latency_ms": stats[f"{protocol.statistic}_ms"],
        "statistic": protocol.statistic,
        "median_ms": stats["median_ms"],
        "p90_ms": stats["p90_ms"],
        "n": stats["n"],
        "clock": protocol.clock,
    }
