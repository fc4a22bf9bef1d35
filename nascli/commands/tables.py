"""``nascli tables``: list, show, check, diff, validate, import, calibrate, fit latency tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nascli.commands.common import (
    JSON_OPTION,
    emit_json,
    handle_errors,
    stdout_console,
)
from nascli.commands.progress import stages as _stages
from nascli.errors import ConfigError

tables_app = typer.Typer(
    help="Latency tables: list, show, check, diff, validate, import, calibrate, fit.",
    no_args_is_help=True,
)

TABLE_ARG = typer.Argument(..., help="Path to a latency table (.json).")


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
                    "class": "?",
                    "source": "?",
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
                "class": _device_class(table.meta),
                "source": _measured_by(table.meta),
                "space": table.space,
                "resolution": table.resolution,
                "entries": len(table.entries),
                "unit": table.unit,
                "unit_note": table.meta.get("unit_note"),
                "mape_pct": accuracy.get("mape_pct"),
                "within_10pct": accuracy.get("within_10pct"),
                "validated_nets": accuracy.get("n"),
            }
        )
    if json_out:
        emit_json({"tables": rows})
        return
    out = Table(title="Latency tables")
    for column in ("device", "class", "source", "space", "res", "unit", "entries", "MAPE %",
                   "±10 %", "nets", "path"):  # fmt: skip
        out.add_column(column)
    for r in rows:
        out.add_row(
            r["device"],
            r["class"],
            r["source"],
            r["space"],
            str(r["resolution"]),
            str(r.get("unit", "?")),
            str(r["entries"]),
            str(r["mape_pct"]),
            str(r["within_10pct"]),
            str(r["validated_nets"]),
            r["path"],
        )
    stdout_console.print(out)


def _device_class(meta: dict[str, Any]) -> str:
    """The table's device class: recorded by ``tables fit``, else from its ORT provider."""
    device = meta.get("device") or {}
    if device.get("class"):
        return str(device["class"])
    providers = [p.get("name", "") for p in device.get("providers") or [] if isinstance(p, dict)]
    arch = str((meta.get("host") or {}).get("arch", ""))
    if meta.get("unit") == "htp_cycles":
        return "npu-simulator"  # QNN's x86 HTP simulator: cycles, not a device's time
    if providers and providers[0] in ("CPUExecutionProvider", "OpenVINOExecutionProvider"):
        return "arm-cpu" if arch in ("aarch64", "arm64") else "x86-cpu"
    named = {"CUDAExecutionProvider": "gpu", "TensorrtExecutionProvider": "gpu",
             "QNNExecutionProvider": "npu", "CoreMLExecutionProvider": "apple"}  # fmt: skip
    return named.get(providers[0], providers[0]) if providers else "?"


def _measured_by(meta: dict[str, Any]) -> str:
    """Who measured the table: a public source (fitted tables) or nascli through ORT."""
    source = (meta.get("measurements") or {}).get("source")
    if source:
        return str(source).split(" (")[0].split(",")[0]
    return "nascli profile (ONNX Runtime)"


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
        from nascli.commands.measure import reanchor_here

        reanchor_here(base, measure, out, json_out)
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


@tables_app.command("fit")
@handle_errors
def tables_fit(
    space: str = typer.Option(..., "--space", help="Space of the measured networks."),
    measurements: Path = typer.Option(
        ..., "--measurements", help="CSV: an arch column and a latency column (ms)."
    ),
    out: Path = typer.Option(..., "--out", help="Table to write."),
    device: str = typer.Option(..., "--device-name", help="Name of the device (e.g. samsung_a50)."),
    device_class: str = typer.Option(
        ..., "--device-class", help="gpu, x86-cpu, arm-cpu, npu or simulator."
    ),
    source: str = typer.Option(..., "--source", help="Where the measurements come from."),
    runtime: str = typer.Option(..., "--runtime", help="What ran the networks on the device."),
    column: str = typer.Option("latency_ms", "--column", help="The latency column of the CSV."),
    batch_size: int = typer.Option(1, "--batch-size", help="Batch size the networks ran at."),
    description: str = typer.Option("", "--description", help="One line about the device."),
    holdout: int | None = typer.Option(
        None, "--holdout", help="Networks held out for validation (default: a fifth)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the fit / hold-out split."),
    ridge: float = typer.Option(
        1e-4, "--ridge", help="Pull of the per-key times toward a MACs + count prior."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Fit a table to whole networks measured on a device (e.g. published benchmarks):
    per-key times + overhead by non-negative least squares on relative error, validated
    on networks the fit never saw."""
    from nascli.latency.fit import fit_table, read_network_latencies
    from nascli.spaces import get_space

    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    if ridge < 0:
        raise ConfigError("--ridge must be >= 0")
    the_space = get_space(space)
    archs, ms = read_network_latencies(measurements, column)
    held = holdout if holdout is not None else max(1, len(archs) // 5)
    device_meta = {"name": device, "class": device_class, "batch_size": batch_size,
                   "description": description}  # fmt: skip
    info = {"source": source, "runtime": runtime, "file": measurements.name, "column": column,
            "networks": len(archs), "script": "nascli tables fit"}  # fmt: skip
    table = fit_table(the_space, archs, ms, device=device_meta, measurements=info,
                      holdout=held, seed=seed, ridge=ridge)  # fmt: skip
    table.save(out)
    accuracy = {k: v for k, v in table.meta["accuracy"].items() if k != "date"}
    if json_out:
        emit_json({"table": str(out), "entries": len(table.entries), "fit": table.meta["fit"],
                   "accuracy": accuracy})  # fmt: skip
        return
    stdout_console.print(
        f"wrote {out}: {len(table.entries)} entries, "
        f"overhead {table.meta['fit']['overhead_ms']:.3f} ms; on {accuracy['n']} held-out "
        f"networks: MAPE {accuracy['mape_pct']:.2f} %, "
        f"within ±10 % {accuracy['within_10pct'] * 100:.1f} %, Spearman {accuracy.get('spearman')}"
    )
