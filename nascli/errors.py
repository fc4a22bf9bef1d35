"""One error hierarchy; the CLI maps it to exit codes, nothing else does.

Library code raises these with a message a user can act on; ``cli.py`` prints the
message on one line of stderr and exits with ``exit_code`` (no traceback).
"""

from __future__ import annotations


class NascliError(Exception):
    """Base class of every error nascli reports to a user."""

    exit_code = 1


class ConfigError(NascliError):
    """Bad input: a file, an option, an architecture or a name the user gave (exit 2)."""

    exit_code = 2


class JobError(NascliError):
    """A job that started with good input and failed (exit 1)."""

    exit_code = 1


class NascliWarning(UserWarning):
    """Something a user should know that does not stop the command (one ``warning:`` line)."""


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean X?)' when a close match of ``name`` exists, else ''."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
