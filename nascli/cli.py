"""The ``nascli`` command line: parse, call one function, render. No torch at import time."""

from __future__ import annotations

import typer

from nascli import __version__
from nascli.commands import arch as arch_commands
from nascli.commands import devices as device_commands
from nascli.commands import latency as latency_commands
from nascli.commands import measure as measure_commands
from nascli.commands import proxies as proxies_commands
from nascli.commands import search as search_commands
from nascli.commands import spaces as spaces_commands
from nascli.commands import tables as table_commands
from nascli.commands.common import warning_format

app = typer.Typer(
    name="nascli",
    help=(
        "Hardware-aware zero-shot neural architecture search. "
        "FLOPs in nascli are multiply-accumulates (MACs), as in the mobile-NAS literature."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="--debug (anywhere) or NASCLI_DEBUG=1: show the traceback behind an error.",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nascli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Hardware-aware zero-shot NAS."""
    ctx.with_resource(warning_format())  # restored when the command ends


app.add_typer(spaces_commands.app, name="spaces")
app.add_typer(arch_commands.app, name="arch")
app.command("export")(arch_commands.export_command)
app.add_typer(device_commands.devices_app, name="devices")
app.add_typer(table_commands.tables_app, name="tables")
app.command("profile")(latency_commands.profile_command)
app.command("predict")(latency_commands.predict_command)
app.command("measure")(measure_commands.measure_command)
app.add_typer(proxies_commands.app, name="proxies")
app.command("score")(proxies_commands.score_command)
app.command("search", help=search_commands.HELP)(search_commands.search_command)


def main() -> None:
    """Run the app; any exception that escapes a command is one line (``commands.faults``)."""
    import os
    import sys

    from nascli import faults

    debug = faults.debug_requested(sys.argv)
    if debug:
        os.environ[faults.DEBUG_ENV] = "1"  # worker processes inherit it
    faults.quiet_threads(debug)
    try:
        returned = app(prog_name="nascli", standalone_mode=False)
    except Exception as exc:
        kinds = {kind.__name__ for kind in type(exc).__mro__}
        if "NoArgsIsHelpError" in kinds:  # `nascli` or `nascli tables` alone: the help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if "ClickException" in kinds:  # a mistyped option or value: one line
            sys.exit(usage_error(exc))
        if "Abort" in kinds:
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(faults.report(exc, debug=debug))
    # typer.Exit(code) comes back as its code; a command that finished returns None
    sys.exit(returned if isinstance(returned, int) and not isinstance(returned, bool) else 0)


def usage_error(exc: Exception) -> int:
    """Print a click usage error as one ``error:`` line naming the help to read; its code.

    Click's own form is a usage line, a hint and a framed box; a user (or a script reading
    stderr) gets the same facts in one line, like every other bad input of nascli. Typer
    ships its own copy of click, so its exceptions are recognised by class name.
    """
    import sys

    context = getattr(exc, "ctx", None)
    hint = f" (see '{context.command_path} -h')" if context is not None else ""
    print(f"error: {exc.format_message()}{hint}", file=sys.stderr)  # type: ignore[attr-defined]
    return int(exc.exit_code)  # type: ignore[attr-defined]
