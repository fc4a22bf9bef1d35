"""``nascli profile`` and ``nascli predict``: measure a device's latency table, price networks.

Device profiles are ``nascli.commands.devices``; table maintenance is ``nascli.commands.tables``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nascli.commands import complete
from nascli.commands.common import (
    JSON_OPTION,
    emit_json,
    handle_errors,
    stdout_console,
)
from nascli.commands.progress import stages as _stages
from nascli.errors import ConfigError


def measurement_protocol(
    runs: int | None,
    rounds: int | None,
    passes: int | None,
    warmup_s: float | None,
    clock: str | None,
    statistic: str | None,
    quick: bool,
):
    from dataclasses import replace

    from nascli.latency.timing import TimingProtocol

    protocol = TimingProtocol.quick() if quick else TimingProtocol()
    changes: dict[str, Any] = {}
    if runs is not None:
        changes["runs"] = runs
    if rounds is not None:
        changes["rounds"] = rounds
    if passes is not None:
        changes["passes"] = passes
    if warmup_s is not None:
        changes["warmup_s"] = warmup_s
    if clock is not None:
        changes["clock"] = clock
    if statistic is not None:
        changes["statistic"] = statistic
    try:
        return replace(protocol, **changes)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


# ------------------------------------------------------------------------- devices
def profile_command(
    device: str = typer.Option(
        ..., "--device", help="Device profile name or YAML path.", autocompletion=complete.devices
    ),
    space: str = typer.Option(
        ..., "--space", help="Search space name.", autocompletion=complete.spaces
    ),
    resolution: int | None = typer.Option(None, help="Input resolution (default: the space's)."),
    out: Path | None = typer.Option(
        None, help="Table path (default USER_DIR/latency_tables/DEVICE/SPACE-RES.json)."
    ),
    bundle: Path | None = typer.Option(
        None, help="Write a bundle zip for a board instead of measuring."
    ),
    method: str | None = typer.Option(
        None, help="isolated | in_context | regression (default: the device's)."
    ),
    probes: int | None = typer.Option(
        None, help="Probe networks (default: 24 in context, 120 for a regression)."
    ),
    fit_nets: int = typer.Option(
        10, help="Whole networks timed to fit the table's scale and overhead."
    ),
    validate_nets: int = typer.Option(
        30, help="Cycles devices: random networks the table is validated on."
    ),
    lattice: int = typer.Option(5, help="Grid: values per channel range (macro spaces)."),
    blocks_per_stage: int = typer.Option(
        12, help="Grid: blocks per stage and kernel (macro spaces)."
    ),
    runs: int | None = typer.Option(None, help="Timed runs per model (default 50)."),
    rounds: int | None = typer.Option(None, help="Shuffled rounds (default 3)."),
    passes: int | None = typer.Option(
        None, help="Passes over all blocks/networks, minutes apart; min pooled (default 2)."
    ),
    warmup_s: float | None = typer.Option(None, help="Minimum warm-up seconds (default 0.2)."),
    clock: str | None = typer.Option(
        None, help="wall | thread_cpu (1-thread CPU on a shared machine)."
    ),
    statistic: str | None = typer.Option(None, help="min | p10 | median used for prediction."),
    quick: bool = typer.Option(
        False, help="Few repeats (CI smoke tests; figures not trustworthy)."
    ),
    fresh: bool = typer.Option(False, help="Start over instead of resuming an existing --out."),
    arch: list[str] = typer.Option(
        [], "--arch", help="Also measure every key of this architecture."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Measure a latency table for a space on a device (resumable), or write a bundle."""
    import time

    from nascli.latency.devices import load_device
    from nascli.latency.grid import GridSpec
    from nascli.latency.profile import profile_table
    from nascli.paths import user_table_path
    from nascli.spaces import get_space, resolve_arch

    profile = load_device(device)
    the_space = get_space(space)
    resolution = resolution or the_space.resolution
    protocol = measurement_protocol(
        runs,
        rounds,
        passes,
        warmup_s,
        clock,
        statistic,
        quick,
    )
    grid = GridSpec(lattice=lattice, blocks_per_stage=blocks_per_stage)
    if bundle is not None:
        from nascli.latency.bundle import write_bundle

        manifest = write_bundle(
            profile,
            the_space.name,
            resolution,
            bundle,
            protocol=protocol,
            grid=grid,
            fit_nets=fit_nets,
        )
        result = {
            "bundle": str(bundle),
            "models": len(manifest["models"]),
            "networks": len(manifest["networks"]),
            "device": profile.name,
        }
        if json_out:
            emit_json(result)
        else:
            stdout_console.print(
                f"wrote {result['bundle']}: {result['models']} block models, "
                f"{result['networks']} networks; run: python run_bundle.py --bundle "
                f"{Path(result['bundle']).name}"
            )
        return
    out = out or user_table_path(profile.name, the_space.name, resolution)
    extra = [resolve_arch(ref, the_space.name) for ref in arch]
    started = time.perf_counter()
    if profile.measure == "htp_cycles":  # simulated cycles: its own protocol and unit
        from nascli.latency.qnn_table import profile_cycles_table

        table = profile_cycles_table(
            profile, the_space.name, resolution, Path(out), probes=probes or 24,
            nets=validate_nets, runs=runs or 5,
        )  # fmt: skip
        accuracy = table.meta["accuracy"]
        result = {
            "table": str(out), "entries": len(table.entries), "unit": table.unit,
            "device": profile.name, "space": the_space.name, "resolution": resolution,
            "seconds": round(time.perf_counter() - started, 1), "accuracy": accuracy,
        }  # fmt: skip
        if json_out:
            emit_json(result)
        else:
            stdout_console.print(
                f"wrote {out}: {result['entries']} entries ({table.meta['unit_note']}); "
                f"{accuracy['n']} networks: MAPE {accuracy['mape_pct']} %, "
                f"Spearman {accuracy['spearman']}"
            )
        return
    with _stages(not json_out) as stage:
        table = profile_table(
            profile,
            the_space.name,
            resolution,
            Path(out),
            protocol=protocol,
            grid=grid,
            probes=probes,
            fit_nets=fit_nets,
            extra_archs=extra,
            resume=not fresh,
            method=method,
            stage=stage,
        )
    result = {
        "table": str(out),
        "entries": len(table.entries),
        "device": profile.name,
        "space": the_space.name,
        "resolution": resolution,
        "seconds": round(time.perf_counter() - started, 1),
        "fit": table.meta.get("fit"),
    }
    if json_out:
        emit_json(result)
    else:
        stdout_console.print(
            f"wrote {out}: {result['entries']} entries in {result['seconds']} s; "
            f"fit {table.meta.get('fit', {}).get('scale')}× + "
            f"{table.meta.get('fit', {}).get('overhead_ms')} ms"
        )


profile_command = handle_errors(profile_command)


# ------------------------------------------------------------------------- predict
def predict_command(
    archs: list[str] = typer.Argument(
        None, help="Architectures (YAML, nb201:INDEX, NB201 string, space:body)."
    ),
    table: Path | None = typer.Option(None, "--table", help="Latency table (.json)."),
    device: str | None = typer.Option(
        None,
        "--device",
        help="Use the device's table, found as a budget 8ms@DEVICE finds it.",
        autocompletion=complete.devices,
    ),
    archs_file: Path | None = typer.Option(
        None, "--archs", help="File with one architecture per line."
    ),
    no_estimates: bool = typer.Option(False, help="Fail on keys the table did not measure."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Predict latency (ms) of architectures from a table."""
    _predict(archs or [], table, device, archs_file, no_estimates, json_out)


@handle_errors
def _predict(
    refs: list[str],
    table_path: Path | None,
    device: str | None,
    archs_file: Path | None,
    no_estimates: bool,
    json_out: bool,
) -> None:
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable
    from nascli.spaces import resolve_arch

    refs = list(refs)
    if archs_file is not None:
        from nascli.yamlio import read_text_file

        if not archs_file.exists():
            raise ConfigError(f"--archs file {archs_file} does not exist")
        refs += [
            line.strip()
            for line in read_text_file(archs_file, what="--archs file").splitlines()
            if line.strip() and not line.startswith("#")
        ]
    if not refs:
        raise ConfigError("give architectures as arguments or with --archs FILE")
    if (table_path is None) == (device is None):
        raise ConfigError("give --device DEVICE (its table is found) or --table PATH")
    if table_path is None:
        from nascli.commands.measure import find_device_table
        from nascli.spaces import get_space

        first = resolve_arch(refs[0])
        table_path = find_device_table(str(device), first.space, get_space(first.space).resolution)
    table = LatencyTable.load(table_path)
    from nascli.latency.host import warn_if_other_host

    warn_if_other_host(table)
    predictor = Predictor(table, allow_estimates=not no_estimates)
    archs = [resolve_arch(ref, table.space) for ref in refs]
    results = [prediction.to_dict() for prediction in predictor.predict_many(archs)]
    if json_out:
        emit_json(
            {"table": str(table_path), "device": table.device_name, "space": table.space,
             "resolution": table.resolution, "predictions": results}
        )  # fmt: skip
        return
    out = Table(title=f"Predicted latency ({table.device_name}, {table.space}@{table.resolution})")
    out.add_column("arch")
    out.add_column("latency ms", justify="right")
    out.add_column("estimated")
    for row in results:
        out.add_row(row["arch"], f"{row['latency_ms']:.3f}", "yes" if row["estimated"] else "")
    stdout_console.print(out)


# ------------------------------------------------------------------------- tables
