"""``nascli devices``: the device profiles (``configs/devices/*.yaml``) and what runs here."""

from __future__ import annotations

import typer
from rich.table import Table

from nascli.commands.common import (
    JSON_OPTION,
    emit_json,
    handle_errors,
    stdout_console,
)

devices_app = typer.Typer(help="Device profiles (configs/devices/*.yaml).", no_args_is_help=True)


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
    from nascli.latency.qnn_accept import acceptance_summary

    profile = load_device(name)
    info = {
        **profile.to_dict(),
        "available": missing_reason(profile) is None,
        "reason": missing_reason(profile),
    }
    acceptance = acceptance_summary(profile.name)
    if acceptance is not None:
        info["blocks_checked"] = acceptance["checked"]
        info["cannot_run"] = acceptance["cannot_run"] or "none (every block kind checked runs)"
    if json_out:
        emit_json(info)
        return
    table = Table(title=f"Device {profile.name}", show_header=False)
    for key, value in info.items():
        table.add_row(key, str(value))
    stdout_console.print(table)


# ------------------------------------------------------------------------- profile
