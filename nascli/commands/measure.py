"""``nascli measure`` and the table re-anchoring behind ``tables calibrate --measure``.

``measure`` times one network end-to-end on a device profile with the table protocol
(warm-up, shuffled rounds, the table's statistic), the way ``onnxruntime_perf_test`` or
``nn-meter`` users time a model; for an architecture it also shows what the device's
table predicts, so a user sees how far to trust the table on this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nascli.commands import complete
from nascli.commands.common import JSON_OPTION, emit_json, handle_errors, stdout_console
from nascli.commands.progress import stages
from nascli.errors import ConfigError


def find_device_table(device: str, space: str, resolution: int) -> Path:
    """The table ``8ms@DEVICE`` would use for (space, resolution); a one-line error if none."""
    from nascli.latency.devices import load_device
    from nascli.latency.table import default_table_path
    from nascli.paths import search_order_text, table_devices

    if device not in table_devices():  # a device with only tables (fitted) has no profile
        device = load_device(device).name  # an unknown name: one-line error with suggestions
    path = default_table_path(device, space, resolution)
    if not path.is_file():
        raise ConfigError(
            f"no latency table for device {device!r}, space {space!r} at {resolution} px "
            f"(searched {search_order_text()}); run `nascli profile --device {device} "
            f"--space {space}` or give --table PATH"
        )
    return path


@handle_errors
def measure_command(
    target: str = typer.Argument(..., help="MODEL.onnx, or an ARCH (YAML, name, space:...)."),
    device: str = typer.Option(
        "cpu", "--device", help="Device profile name or YAML path.", autocompletion=complete.devices
    ),
    resolution: int | None = typer.Option(None, help="Input size of an ARCH (the space's)."),
    runs: int | None = typer.Option(None, help="Timed runs (default 50)."),
    quick: bool = typer.Option(False, help="Few repeats (smoke tests; figures not trustworthy)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Time a network end-to-end on a device profile with the latency-table protocol."""
    from dataclasses import replace

    from nascli.latency.devices import load_device, require_available
    from nascli.latency.endtoend import measure_arch, measure_onnx
    from nascli.latency.timing import TimingProtocol

    profile = load_device(device)
    require_available(profile)
    protocol = replace(_table_protocol(profile.name), passes=1)
    if quick:
        protocol = replace(
            TimingProtocol.quick(), clock=protocol.clock, statistic=protocol.statistic
        )
    if runs is not None:
        protocol = replace(protocol, runs=runs)
    if target.endswith(".onnx"):
        result = measure_onnx(Path(target), profile, protocol)
    else:
        result = measure_arch(target, profile, protocol, resolution=resolution)
        result.update(_prediction(result, device))
    if json_out:
        emit_json(result)
        return
    line = (
        f"{result['model']} on {profile.name}: {protocol.statistic} "
        f"{result['latency_ms']:.3f} ms (median {result['median_ms']:.3f}, "
        f"p90 {result['p90_ms']:.3f}, {result['n']} runs, batch {result['batch']})"
    )
    if result.get("predicted_ms") is not None:
        line += f"; table predicts {result['predicted_ms']:.3f} ms ({result['error_pct']:+.1f} %)"
    stdout_console.print(line)


def _table_protocol(device: str) -> Any:
    """The protocol of the device's first table (its clock and statistic), else the default."""
    from nascli.latency.table import LatencyTable, list_tables
    from nascli.latency.timing import TimingProtocol

    for path in list_tables():
        if path.parent.name == device:
            try:
                return TimingProtocol.from_dict(LatencyTable.load(path).meta["protocol"])
            except (ConfigError, KeyError):
                continue
    return TimingProtocol()


def _prediction(result: dict[str, Any], device: str) -> dict[str, Any]:
    """What the device's table predicts for the measured arch (nothing when no table)."""
    from nascli.latency.host import warn_if_other_host
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable, default_table_path
    from nascli.spaces import arch_from_canonical

    arch = arch_from_canonical(result["arch"])
    path = default_table_path(device, arch.space, result["resolution"])
    if not path.is_file():
        return {"predicted_ms": None, "table": None}
    table = LatencyTable.load(path)
    warn_if_other_host(table)
    predicted = Predictor(table).predict(arch).latency_ms
    error = 100.0 * (predicted - result["latency_ms"]) / result["latency_ms"]
    return {"predicted_ms": round(predicted, 4), "error_pct": round(error, 2), "table": str(path)}


def reanchor_here(base: Path, count: int, out: Path, json_out: bool) -> None:
    """``tables calibrate --base TABLE --measure N --out OUT``."""
    from nascli.latency.host import reanchor
    from nascli.latency.table import LatencyTable

    table = LatencyTable.load(base)
    with stages(not json_out) as stage:
        calibrated, info = reanchor(table, count, stage=stage)
    calibrated.save(out)
    summary = {"table": str(out), **{k: v for k, v in info.items() if k != "host"}}
    if json_out:
        emit_json(summary)
        return
    before, after = info["before"], info["after"]
    stdout_console.print(
        f"wrote {out}: scale {info['scale']:.4f}, overhead {info['overhead_ms']:.3f} ms from "
        f"{count} networks timed here; MAPE on them {before['mape_pct']} % -> "
        f"{after['mape_pct']} %, within ±10 % {before['within_10pct']:.0%} -> "
        f"{after['within_10pct']:.0%}"
    )
