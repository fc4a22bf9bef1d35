"""Any exception that reaches the top of the CLI becomes one line and an exit code.

Used by ``cli.main``, by worker processes and by the storage layer. Commands already turn
``NascliError`` into ``error: ...`` (``commands.common.handle_errors``); this module is the
last line behind them, for what the libraries raise: SQLite's "database or disk is full" and
"database disk image is malformed", a full disk (``ENOSPC``), a lost database server, or a
plain bug. Exit 2 means the user's input was wrong, exit 1 a fault of the machine, the
database or nascli itself. The traceback is printed only with ``--debug`` or
``NASCLI_DEBUG=1``, never by default: a 300-line trace hides the one line that matters.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Iterator

from nascli.errors import NascliError

DEBUG_FLAG = "--debug"
DEBUG_ENV = "NASCLI_DEBUG"

_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))

# (text in the message, what to tell the user); checked in order, lower-case.
_DATABASE_FAULTS = (
    (
        "database or disk is full",
        "the disk holding the study is full: free space, then rerun the same command to resume",
    ),
    (
        "disk image is malformed",
        "the study database is damaged: restore it from a copy, or "
        "start a new study (another --out or --study-name)",
    ),
    ("file is not a database", "the study file is not an SQLite database: use another --out"),
    ("disk i/o error", "the disk failed while writing the study: check it, then rerun to resume"),
    ("database is locked", "the study database stayed locked by another process: retry later"),
    ("readonly database", "the study database is read-only: check its permissions"),
)
_SERVER_FAULTS = (
    ("could not connect", "the database server is unreachable: start it, then rerun to resume"),
    ("connection refused", "the database server is unreachable: start it, then rerun to resume"),
    ("server closed the connection", "the database server went away: rerun to resume"),
    ("terminating connection", "the database server shut down: rerun to resume"),
    ("the database system is", "the database server is starting or stopping: rerun to resume"),
)


def debug_requested(argv: list[str]) -> bool:
    """``--debug`` anywhere before ``--`` (removed from ``argv``) or ``NASCLI_DEBUG=1``."""
    cut = argv.index("--") if "--" in argv else len(argv)
    found = DEBUG_FLAG in argv[:cut]
    while DEBUG_FLAG in argv[:cut]:
        argv.remove(DEBUG_FLAG)
        cut -= 1
    return found or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes and contexts, outermost first, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def storage_fault(exc: BaseException, *, server: bool = True) -> str | None:
    """The one-line cause and advice when ``exc`` (or its cause) is a known storage fault.

    ``server``: count a lost or unreachable database server as a fault too (mid-run it is;
    when a study is first opened, an unreachable URL is more likely the user's typo).
    """
    needles = _DATABASE_FAULTS + (_SERVER_FAULTS if server else ())
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in _DISK_FULL:
            where = f" ({item.filename})" if item.filename else ""
            return f"disk full{where}: free space, then rerun the same command to resume"
        text = str(item).lower()
        for needle, advice in needles:
            if needle in text:
                return f"storage fault: {needle}: {advice}"
    return None


def describe(exc: BaseException) -> tuple[str, int]:
    """The one line to print (without ``error:``) and the exit code for ``exc``."""
    for item in _chain(exc):
        if isinstance(item, NascliError):
            return str(item).replace("\n", " "), item.exit_code
    fault = storage_fault(exc)
    if fault is not None:
        return fault, 1
    for item in _chain(exc):
        if isinstance(item, OSError):
            return f"{item.strerror or _first_line(item)}" + (
                f": {item.filename}" if item.filename else ""
            ), 1
    if isinstance(exc, MemoryError):
        return "out of memory", 1
    return (
        f"internal error: {type(exc).__name__}: {_first_line(exc)} "
        f"(rerun with {DEBUG_FLAG} for the traceback)"
    ), 1


def quiet_threads(debug: bool) -> None:
    """Errors in background threads (Optuna's heartbeat) print nothing unless ``debug``.

    The heartbeat thread meets the same full disk or lost server as the main thread, which
    then reports it in one line; Python's default hook would print the thread's traceback.
    """
    import threading

    if not debug:
        threading.excepthook = lambda _args: None


def report(exc: BaseException, debug: bool) -> int:
    """Print ``exc`` as one ``error:`` line (after its traceback when ``debug``); its code."""
    message, code = describe(exc)
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"error: {message}", file=sys.stderr)
    return code
