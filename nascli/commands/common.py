"""What every command shares: consoles, one-line errors, JSON output.

stdout carries the result (a rich table, or one JSON object under ``--json``); progress
and chatter go to stderr. ``NascliError`` is turned into ``error: ...`` on one line of
stderr and its exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from rich.console import Console

from nascli.errors import NascliError, NascliWarning
from nascli.formatting import human_count as human_count  # re-exported for the commands
from nascli.formatting import jsonable

F = TypeVar("F", bound=Callable[..., Any])

PIPE_WIDTH = 10_000  # columns when not on a terminal: piped tables never wrap mid-value


def _width(stream: Any) -> int | None:
    """The terminal's width (rich decides), or one wide enough not to wrap piped output."""
    if "COLUMNS" in os.environ or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return PIPE_WIDTH


stdout_console = Console(highlight=False, width=_width(sys.stdout))
stderr_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout, nothing else.")


@contextlib.contextmanager
def warning_format() -> Iterator[None]:
    """nascli's own warnings as one ``warning: ...`` line on stderr inside the block.

    Other warnings go to the ``showwarning`` that was in place, and that one is restored
    when the block ends: the hook belongs to the process, and a program running the CLI
    in-process (typer's test runner, a notebook) keeps its own afterwards.
    """
    previous = warnings.showwarning

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, NascliWarning):
            print(f"warning: {message}", file=sys.stderr)
            return
        previous(message, category, *args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def handle_errors(func: F) -> F:
    """Map NascliError (and Ctrl-C) to a one-line message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NascliError as exc:
            if os.environ.get("NASCLI_DEBUG", "") not in ("", "0"):
                import traceback

                traceback.print_exc()
            message = str(exc).replace("\n", " ")
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or nascli.signals.Interrupted (SIGTERM too)
            print(f"error: {str(exc) or 'interrupted'}", file=sys.stderr)
            raise typer.Exit(int(getattr(exc, "exit_code", 130))) from None

    return wrapper  # type: ignore[return-value]


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (NaN/inf become null, so it stays valid JSON)."""
    sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")
    sys.stdout.flush()
