"""``nascli devices``, ``nascli tables``, ``nascli profile``, ``nascli predict``.

Latency lookup tables through ONNX Runtime: device profiles, profiling a space's table,
checking/diffing/validating/importing/calibrating tables, and predicting latencies.
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

devices_app = typer.Typer(help="Device profiles (configs/devices/*.yaml).", no_args_is_help=True)
tables_app = typer.Typer(
    help="Latency tables: list, show, check, diff, validate, import, calibrate.",
    no_args_is_help=True,
)

TABLE_ARG = typer.Argument(..., help="Path to a latency table (.json).")


def _protocol(
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
@devices_app.command("list")
@handle_errors
def devices_list(json_out: bool = JSON_OPTION) -> None:
    """Every device profile and whether its providers are available on this machine."""
    from nascli.latency.devices import (
        available_providers,
        list_devices,
        load_device,
        missing_reason,
    )

    available = available_providers()
    rows = []
    for name in list_devices():
        profile = load_device(name)
        reason = missing_reason(profile, available)
        rows.append(
            {
                "name": name,
                "providers": profile.provider_names,
                "threads": profile.intra_op_threads,
                "precision": profile.precision,
                "measure": profile.measure,
                "available": reason is None,
                "reason": reason,
                "description": profile.description,
            }
        )
    if json_out:
        emit_json({"devices": rows, "available_providers": available})
        return
    table = Table(title="Device profiles")
    for column in ("name", "provider", "threads", "precision", "measure", "available"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            row["providers"][0],
            str(row["threads"]),
            row["precision"],
            row["measure"],
            "yes" if row["available"] else "no",
        )
    stdout_console.print(table)


@devices_app.command("show")
@handle_errors
def devices_show(
    name: str = typer.Argument(..., help="Device name or YAML path."), json_out: bool = JSON_OPTION
) -> None:
    """One profile's providers, options, session options and availability."""
    from nascli.latency.devices import load_device, missing_reason

    profile = load_device(name)
    info = {
        **profile.to_dict(),
        "available": missing_reason(profile) is None,
        "reason": missing_reason(profile),
    }
    if json_out:
        emit_json(info)
        return
    table = Table(title=f"Device {profile.name}", show_header=False)
    for key, value in info.items():
        table.add_row(key, str(value))
    stdout_console.print(table)


# ------------------------------------------------------------------------- profile
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
    probes: int = typer.Option(24, help="Probe networks (in_context / regression methods)."),
    fit_nets: int = typer.Option(
        10, help="Whole networks timed to fit the table's scale and overhead."
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
    _profile(**locals())


@handle_errors
def _profile(**opts: Any) -> None:
    import time

    from nascli.arch import resolve_arch
    from nascli.latency.devices import load_device
    from nascli.latency.grid import GridSpec
    from nascli.latency.profile import profile_table
    from nascli.paths import user_table_path
    from nascli.spaces import get_space

    profile = load_device(opts["device"])
    the_space = get_space(opts["space"])
    resolution = opts["resolution"] or the_space.resolution
    protocol = _protocol(
        opts["runs"],
        opts["rounds"],
        opts["passes"],
        opts["warmup_s"],
        opts["clock"],
        opts["statistic"],
        opts["quick"],
    )
    grid = GridSpec(lattice=opts["lattice"], blocks_per_stage=opts["blocks_per_stage"])
    if opts["bundle"] is not None:
        from nascli.latency.bundle import write_bundle

        manifest = write_bundle(
            profile,
            the_space.name,
            resolution,
            opts["bundle"],
            protocol=protocol,
            grid=grid,
            fit_nets=opts["fit_nets"],
        )
        result = {
            "bundle": str(opts["bundle"]),
            "models": len(manifest["models"]),
            "networks": len(manifest["networks"]),
            "device": profile.name,
        }
        if opts["json_out"]:
            emit_json(result)
        else:
            stdout_console.print(
                f"wrote {result['bundle']}: {result['models']} block models, "
                f"{result['networks']} networks; run: python run_bundle.py --bundle "
                f"{Path(result['bundle']).name}"
            )
        return
    out = opts["out"] or user_table_path(profile.name, the_space.name, resolution)
    extra = [resolve_arch(ref, the_space.name) for ref in opts["arch"]]
    started = time.perf_counter()
    with _stages(not opts["json_out"]) as stage:
        table = profile_table(
            profile,
            the_space.name,
            resolution,
            Path(out),
            protocol=protocol,
            grid=grid,
            probes=opts["probes"],
            fit_nets=opts["fit_nets"],
            extra_archs=extra,
            resume=not opts["fresh"],
            method=opts["method"],
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
    if opts["json_out"]:
        emit_json(result)
    else:
        stdout_console.print(
            f"wrote {out}: {result['entries']} entries in {result['seconds']} s; "
            f"fit {table.meta.get('fit', {}).get('scale')}× + "
            f"{table.meta.get('fit', {}).get('overhead_ms')} ms"
        )


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
    from nascli.arch import resolve_arch
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable

    refs = list(refs)
    if archs_file is not None:
        if not archs_file.is_file():
            raise ConfigError(f"--archs file {archs_file} does not exist")
        refs += [
            line.strip()
            for line in archs_file.read_text().splitlines()
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
@tables_app.command("list")
@handle_errors
def tables_list(
    root: Path | None = typer.Option(None, help="Folder of tables (default: shipped)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Every table under latency_tables/ with its accuracy figures."""
    from nascli.latency.table import LatencyTable, list_tables

    rows = []
    for path in list_tables(root):
        try:
            table = LatencyTable.load(path)
        except ConfigError as exc:
            rows.append(
                {
                    "path": str(path),
                    "device": "?",
                    "space": "?",
                    "resolution": 0,
                    "entries": 0,
                    "mape_pct": None,
                    "within_10pct": None,
                    "validated_nets": None,
                    "error": str(exc),
                }
            )
            continue
        accuracy = table.meta.get("accuracy") or {}
        rows.append(
            {
                "path": str(path),
                "device": table.device_name,
                "space": table.space,
                "resolution": table.resolution,
                "entries": len(table.entries),
                "mape_pct": accuracy.get("mape_pct"),
                "within_10pct": accuracy.get("within_10pct"),
                "validated_nets": accuracy.get("n"),
            }
        )
    if json_out:
        emit_json({"tables": rows})
        return
    out = Table(title="Latency tables")
    for column in ("device", "space", "res", "entries", "MAPE %", "±10 %", "nets", "path"):
        out.add_column(column)
    for r in rows:
        out.add_row(
            r["device"],
            r["space"],
            str(r["resolution"]),
            str(r["entries"]),
            str(r["mape_pct"]),
            str(r["within_10pct"]),
            str(r["validated_nets"]),
            r["path"],
        )
    stdout_console.print(out)


@tables_app.command("show")
@handle_errors
def tables_show(
    path: Path = TABLE_ARG,
    entries: bool = typer.Option(False, help="List entries too."),
    json_out: bool = JSON_OPTION,
) -> None:
    """A table's metadata (how it was measured, how accurate it is)."""
    from nascli.latency.table import LatencyTable

    table = LatencyTable.load(path)
    meta = {k: v for k, v in table.meta.items() if k != "families"}
    if "accuracy" in meta:
        meta["accuracy"] = {k: v for k, v in meta["accuracy"].items() if k != "nets"}
    meta["families"] = len(table.meta.get("families") or {})
    meta["entries"] = len(table.entries)
    if "fit_passes" in meta:  # raw per-pass timings of the fit networks: counted, not dumped
        passes = meta["fit_passes"]
        meta["fit_passes"] = f"{len(passes)} pass(es) × {len(passes[0]) if passes else 0} networks"
    if json_out:
        emit_json({**meta, **({"entry_values": table.entries} if entries else {})})
        return
    out = Table(title=f"Latency table {path}", show_header=False)
    for key, value in meta.items():
        out.add_row(key, str(value))
    stdout_console.print(out)
    if entries:
        listing = Table(title="entries (ms)")
        for column in ("key", table.statistic, "median", "p90", "n", "source"):
            listing.add_column(column)
        for key, e in sorted(table.entries.items()):
            listing.add_row(
                key,
                f"{table.value(key):.4f}",
                f"{e['median_ms']:.4f}",
                f"{e['p90_ms']:.4f}",
                str(e["n"]),
                str(e.get("source", "")),
            )
        stdout_console.print(listing)


@tables_app.command("check")
@handle_errors
def tables_check(
    paths: list[Path] = typer.Argument(None, help="Tables (default: every shipped one)."),
    samples: int = typer.Option(200, help="Random networks whose keys must be priced."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Schema, metadata and coverage of the space; exit 1 when a table has a problem (CI)."""
    from nascli.errors import JobError
    from nascli.latency.check import check_table
    from nascli.latency.table import list_tables

    targets = list(paths or list_tables())
    if not targets:
        raise ConfigError("no latency tables to check")
    reports = [check_table(p, samples=samples) for p in targets]
    if json_out:
        emit_json({"tables": reports})
    else:
        for r in reports:
            status = "ok" if not r["problems"] else "FAIL"
            stdout_console.print(
                f"{status:4s} {r['path']}: {r['entries']} entries, coverage "
                f"{r['coverage']}" + "".join(f"\n     - {p}" for p in r["problems"])
            )
    if any(r["problems"] for r in reports):
        raise JobError(f"{sum(bool(r['problems']) for r in reports)} table(s) failed the check")


@tables_app.command("diff")
@handle_errors
def tables_diff(
    a: Path = typer.Argument(..., help="Old table."),
    b: Path = typer.Argument(..., help="New table."),
    top: int = typer.Option(15, help="Largest changes to list."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Per-key change of B against A and a drift summary."""
    from nascli.latency.table import LatencyTable, diff_tables

    result = diff_tables(LatencyTable.load(a), LatencyTable.load(b))
    if json_out:
        emit_json(result)
        return
    summary = result["summary"]
    stdout_console.print(
        " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
    )
    out = Table(title=f"largest changes ({min(top, len(result['changes']))})")
    for column in ("key", "A ms", "B ms", "change"):
        out.add_column(column)
    for c in result["changes"][:top]:
        out.add_row(c["key"], f"{c['a_ms']:.4f}", f"{c['b_ms']:.4f}", f"{c['change'] * 100:+.1f} %")
    stdout_console.print(out)


@tables_app.command("validate")
@handle_errors
def tables_validate(
    path: Path = TABLE_ARG,
    measure: int = typer.Option(30, "--measure", help="Random networks to time end-to-end."),
    device: str | None = typer.Option(None, help="Device profile (default: the table's)."),
    runs: int | None = typer.Option(None, help="Timed runs per network (default: the table's)."),
    passes: int | None = typer.Option(None, help="Passes over the networks (default: table's)."),
    quick: bool = typer.Option(False, help="Few repeats (smoke tests)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Time N random networks; report MAPE, ±5/±10 % shares, Spearman, Kendall; store them."""
    from dataclasses import replace

    from nascli.latency.devices import DeviceProfile, load_device
    from nascli.latency.profile import validate_table
    from nascli.latency.table import LatencyTable
    from nascli.latency.timing import TimingProtocol

    if measure < 2:
        raise ConfigError("--measure needs at least 2 networks")
    table = LatencyTable.load(path)
    profile = (
        load_device(device)
        if device
        else DeviceProfile.from_dict(_profile_dict(table.meta["device"]), str(path))
    )
    protocol = TimingProtocol.from_dict(table.meta["protocol"])
    if quick:
        protocol = replace(
            TimingProtocol.quick(), clock=protocol.clock, statistic=protocol.statistic
        )
    if runs is not None:
        protocol = replace(protocol, runs=runs)
    if passes is not None:
        protocol = replace(protocol, passes=passes)
    with _stages(not json_out) as stage:
        accuracy = validate_table(table, profile, measure, protocol=protocol, stage=stage)
    figures = {k: v for k, v in accuracy.items() if k != "nets"}
    if json_out:
        emit_json(figures)
        return
    stdout_console.print(
        f"{path}: MAPE {figures['mape_pct']:.2f} %, "
        f"within ±5 % {figures['within_5pct'] * 100:.0f} %, "
        f"±10 % {figures['within_10pct'] * 100:.0f} %, Spearman {figures.get('spearman')}, "
        f"Kendall {figures.get('kendall')} over {figures['n']} networks (written to the table)"
    )


def _profile_dict(device: dict[str, Any]) -> dict[str, Any]:
    from nascli.latency.devices import PROFILE_KEYS

    return {k: v for k, v in device.items() if k in PROFILE_KEYS}


@tables_app.command("import")
@handle_errors
def tables_import(
    results: Path = typer.Argument(..., help="results.json written by run_bundle.py."),
    out: Path = typer.Option(..., "--out", help="Table to write."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Turn a bundle runner's results into a table."""
    from nascli.latency.bundle import import_results

    table = import_results(results)
    table.save(out)
    info = {
        "table": str(out),
        "entries": len(table.entries),
        "device": table.device_name,
        "fit": table.meta.get("fit"),
    }
    if json_out:
        emit_json(info)
    else:
        stdout_console.print(f"wrote {out}: {info['entries']} entries for {info['device']}")


@tables_app.command("calibrate")
@handle_errors
def tables_calibrate(
    base: Path = typer.Option(..., "--base", help="Table measured on another device or host."),
    measurements: Path | None = typer.Option(
        None, "--measurements", help="CSV with columns arch,latency_ms."
    ),
    measure: int | None = typer.Option(
        None, "--measure", help="Time N seeded nets here; refit scale + overhead (~1 min/10)."
    ),
    out: Path = typer.Option(..., "--out", help="Calibrated table to write."),
    device: str = typer.Option("calibrated", "--device-name", help="Name of the target device."),
    prior: str = typer.Option("auto", help="Device prior: auto, none, or a prior file."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Fit per-op-type scales + overhead from K whole networks measured on a new device,
    or (--measure N) re-anchor a table on this host by timing N networks here."""
    from nascli.latency.calibrate import read_measurements
    from nascli.latency.recalibrate import calibrate_table

    if (measure is None) == (measurements is None):
        raise ConfigError("give --measure N (time networks here) or --measurements CSV")
    if measure is not None:
        from nascli.commands.measure import calibrate_here

        calibrate_here(base, measure, out, json_out)
        return
    assert measurements is not None
    from nascli.latency.table import LatencyTable

    table, info = calibrate_table(
        LatencyTable.load(base), read_measurements(measurements), device, prior
    )
    table.save(out)
    summary = {k: v for k, v in info.items() if k != "nets"}
    if json_out:
        emit_json({"table": str(out), **summary, "nets": len(info["nets"])})
        return
    scales = ", ".join(f"{k} ×{v:.3f}" for k, v in info["scales"].items())
    stdout_console.print(
        f"wrote {out} from {len(info['nets'])} networks: {scales}; "
        f"overhead {info['overhead_ms']:.3f} ms; LOO MAPE {info['loo_mape_pct']} %; "
        + (f"prior {info['prior']}" if info["prior_used"] else "no device prior used")
    )
