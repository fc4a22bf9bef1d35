"""SIGTERM and SIGINT as exceptions, so that ``finally`` blocks and Optuna's cleanup run.

Python turns SIGINT into ``KeyboardInterrupt`` but lets SIGTERM kill the process on the
spot: no ``finally`` runs, an atomic write leaves its ``.tmp`` file behind and Optuna never
fails the trial in flight. With ``raise_on_signals`` installed, both signals raise
``Interrupted`` (a ``KeyboardInterrupt``, so Optuna fails the running trial and re-raises
it) carrying the exit code a shell expects: 128 + the signal number (130, 143).

An exception raised by a signal handler can surface at any bytecode, also between a
lock's acquire and the ``try`` that releases it inside a database driver or a connection
pool; the next access then waits on that lock for ever. Code that talks to storage runs in
a ``deferred()`` zone: there a signal is only recorded and raised at the next safe point
(``raise_if_signalled``, or entering an ``interruptible()`` zone such as a proxy's forward
pass). A watchdog bounds what is left: once a signal arrived, a process that has not ended
within its cleanup limit says so in one line and exits with 128 + the signal number.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HANDLED = (signal.SIGTERM, signal.SIGINT)

# The signal received, kept after raising: a handler's exception raised inside a weakref
# callback or ``__del__`` is printed as "Exception ignored" and lost, so loops also call
# ``raise_if_signalled`` at safe points (each trial).
_received: list[int] = []
# Innermost zone last: True where a signal is only recorded (``deferred``), False where it
# raises at once (``interruptible``); empty: raise at once.
_zones: list[bool] = []
_watchdog: list[threading.Thread] = []
_epoch = [0]  # counts ended ``signals_raise`` blocks: a watchdog of an ended block stands down


class Interrupted(KeyboardInterrupt):
    """A stop asked by a signal; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int, detail: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        self.name = signal.Signals(signum).name
        self.detail = detail
        super().__init__(f"interrupted by {self.name}" + (f": {detail}" if detail else ""))


def interruption_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The signal behind ``exc``, if any: a library that meets ``Interrupted`` in its own
    cleanup may raise something else from it (Optuna: ``UnboundLocalError``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def received_signal() -> int | None:
    """The first signal received inside the current ``signals_raise`` block, if any."""
    return _received[0] if _received else None


def raise_if_signalled() -> None:
    """Raise ``Interrupted`` again if a signal arrived (its first raise may have been lost)."""
    if _received:
        raise Interrupted(_received[0])


@contextmanager
def deferred() -> Iterator[None]:
    """A zone where a signal is recorded, not raised: storage and library internals that
    an exception at an arbitrary bytecode could leave holding a lock."""
    _zones.append(True)
    try:
        yield
    finally:
        _zones.pop()


@contextmanager
def interruptible() -> Iterator[None]:
    """A zone (inside ``deferred``) where a signal raises at once: pure computation, such
    as a proxy's passes, that may be cut anywhere. Raises at entry if a signal is pending."""
    raise_if_signalled()
    _zones.append(False)
    try:
        yield
    finally:
        _zones.pop()


def exit_code_of(exc: KeyboardInterrupt) -> int:
    """143 for SIGTERM, 130 for SIGINT (or a plain ``KeyboardInterrupt``)."""
    return int(getattr(exc, "exit_code", 128 + signal.SIGINT))


@contextmanager
def signals_raise(cleanup_limit: float | None = None) -> Iterator[None]:
    """``raise_on_signals`` for the duration of a block (main thread only), then the
    handlers that were there before (a library caller's, or Python's defaults)."""
    if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    previous_hook = sys.unraisablehook
    raise_on_signals(cleanup_limit=cleanup_limit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = previous_hook
        _received.clear()
        _watchdog.clear()
        _epoch[0] += 1


def _ignore(_signum: int, _frame: Any) -> None:
    """Swallow a signal (see ``raise_on_signals(once=True)``)."""


def raise_on_signals(*, once: bool = False, cleanup_limit: float | None = None) -> None:
    """From now on SIGTERM/SIGINT raise ``Interrupted`` in the main thread (outside
    ``deferred`` zones; inside them at the next safe point).

    ``once``: the first signal raises, later ones are ignored, so that a worker finishing
    its cleanup (failing its trial in the database) is not cut short by the second signal
    its parent or the terminal sends. The parent keeps raising on each signal: a second
    Ctrl-C abandons output writing (temporary files are still removed).
    ``cleanup_limit``: seconds the process may take to end after the first signal before
    the watchdog ends it (one ``error:`` line, exit 128 + the signal number).
    """
    if sys.platform == "win32":  # pragma: no cover - POSIX only
        return

    def handler(signum: int, _frame: Any) -> None:
        _received.append(signum)
        if once:
            # A Python no-op, not SIG_IGN: a second signal that the C level caught before
            # this ran would otherwise surface as "OSError: Signal N ignored due to race
            # condition" (a traceback) when Python gets round to it.
            for sig in HANDLED:
                signal.signal(sig, _ignore)
        if cleanup_limit is not None and not _watchdog:
            _start_watchdog(signum, cleanup_limit)
        if _zones and _zones[-1]:
            return  # deferred: raised at the next safe point
        raise Interrupted(signum)

    for sig in HANDLED:
        signal.signal(sig, handler)
    if not isinstance(sys.unraisablehook, _QuietInterrupted):
        sys.unraisablehook = _QuietInterrupted(sys.unraisablehook)


def _start_watchdog(signum: int, limit: float) -> None:
    """End the process ``limit`` seconds after ``signum`` unless it has ended by then."""
    epoch = _epoch[0]

    def watch() -> None:
        time.sleep(limit)
        if _epoch[0] != epoch:  # the signals_raise block ended meanwhile
            return
        name = signal.Signals(signum).name
        sys.stderr.write(
            f"error: interrupted by {name}: cleanup did not end within {limit:g} s; "
            "finished trials are kept in the study; rerun the same command to resume\n"
        )
        sys.stderr.flush()
        os._exit(128 + signum)

    thread = threading.Thread(target=watch, name="nascli-signal-watchdog", daemon=True)
    _watchdog.append(thread)
    thread.start()


class _QuietInterrupted:
    """An unraisable-exception hook that drops ``Interrupted``: raised inside a weakref
    callback or ``__del__`` it cannot propagate, Python would print it as a traceback, and
    ``raise_if_signalled`` raises it again at the next safe point anyway."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return
        self.previous(unraisable)


def die_with_parent(parent_pid: int) -> None:
    """Linux: this process gets SIGTERM when its parent dies, even by SIGKILL (no orphan)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the parent still stops its workers
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
