"""``nascli spaces list|show``."""

from __future__ import annotations

import typer
from rich.table import Table

from nascli.commands.common import JSON_OPTION, emit_json, handle_errors, stdout_console

app = typer.Typer(help="Search spaces: list them, show one.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_command(json_out: bool = JSON_OPTION) -> None:
    """List every known search space."""
    from nascli.spaces import get_space, list_spaces

    rows = []
    for name in list_spaces():
        space = get_space(name)
        rows.append(
            {
                "name": name,
                "family": space.family,
                "resolution": space.resolution,
                "num_classes": space.num_classes,
                "description": space.description,
            }
        )
    if json_out:
        emit_json({"spaces": rows})
        return
    table = Table(title="Search spaces")
    for column in ("name", "family", "resolution", "classes", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], row["family"], str(row["resolution"]), str(row["num_classes"]),
            row["description"],
        )  # fmt: skip
    stdout_console.print(table)


@app.command("show")
@handle_errors
def show_command(
    name: str = typer.Argument(..., help="Space name or path to a space YAML file."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show a space's choices, ranges, template and seed net."""
    from nascli.spaces import get_space

    info = get_space(name).describe()
    if json_out:
        emit_json(info)
        return
    table = Table(title=f"Search space {info['name']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in info.items():
        table.add_row(key, str(value))
    stdout_console.print(table)
