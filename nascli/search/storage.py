"""Where a study lives: Optuna RDB storage (SQLite by default, PostgreSQL for many workers).

Heartbeats let a shared database fail the trials of a dead worker after ``GRACE_SECONDS``;
a local run fails its own stale trials at once on resume (``fail_stale_running``). SQLite runs
in WAL mode so that a killed process loses no committed trial.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nascli.errors import ConfigError, JobError

if TYPE_CHECKING:
    import optuna

    from nascli.config import SearchConfig

HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20
#: Transient storage errors are retried for at most this long in a row (then: one line, exit 1).
RETRY_WINDOW_SECONDS = 60.0
#: Backoff between tries: doubling from 0.5 s, at most 8 s, each scaled by a random 0.5-1.0
#: so that workers that lost the server together do not reconnect in lockstep.
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0

# Lower-case fragments of the messages of errors that pass: a restarting or briefly
# unreachable server, a dropped connection, SQLite's lock held past its busy timeout.
_TRANSIENT = (
    "database is locked",
    "could not connect",
    "connection refused",
    "connection reset",
    "connection timed out",
    "server closed the connection",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "ssl syscall error",
    "broken pipe",
    "connection is closed",
    "consuming input failed",
)


def fail_stale_running(study: optuna.Study) -> None:
    """Mark RUNNING trials left by a killed single-machine run as FAIL (re-proposed later).

    Only for the first worker of a local run, before other workers start: a RUNNING trial
    then can only belong to a dead process. Shared databases rely on heartbeats instead.
    """
    import optuna

    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def make_storage(url: str) -> Any:
    """Optuna RDB storage with heartbeats; an unreachable database is a one-line error."""

    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # sqlite3's ``timeout`` is SQLite's busy timeout: a writer waits for the lock
        # (many local workers) instead of failing with "database is locked".
        engine_kwargs["connect_args"] = {"timeout": 120}
    else:
        # A pooled connection is tested before use, so one dropped by a server restart is
        # replaced instead of failing the next query.
        engine_kwargs["pool_pre_ping"] = True
    try:
        storage = _open_rdb(url, engine_kwargs)
        if url.startswith("sqlite"):
            _sqlite_wal(storage)
        return storage
    except ModuleNotFoundError as exc:
        hint = (
            ' (pip install "psycopg[binary]", the postgres extra)' if "psycopg" in str(exc) else ""
        )
        raise ConfigError(f"storage {redact(url)}: missing driver {exc.name}{hint}") from None
    except Exception as exc:  # sqlalchemy OperationalError, ArgumentError, ...
        from nascli.faults import storage_fault

        fault = storage_fault(exc, server=False)
        if fault is not None:  # a damaged or full database: not the user's input (exit 1)
            raise JobError(f"cannot open storage {redact(url)}: {fault}") from None
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot open storage {redact(url)}: {message}") from None


def _open_rdb(url: str, engine_kwargs: dict[str, Any], attempts: int = 5) -> Any:
    """RDBStorage, retried when workers starting together race to create the schema."""
    import optuna

    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_SECONDS,
                    grace_period=GRACE_SECONDS,
                )
        except Exception as exc:
            text = str(exc).lower()
            racing = "duplicate" in text or "already exists" in text or "unique" in text
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def _sqlite_wal(storage: Any) -> None:
    """WAL journal + synchronous=NORMAL: a commit survives a killed process (kill -9) without
    an fsync per write, which made each trial cost ~2.4x more on this VM's disk."""
    import sqlalchemy

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()  # reconnect so every pooled connection has the pragmas


def redact(url: str) -> str:
    """A storage URL without its password (error messages and summaries)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def storage_url_for(config: SearchConfig, run_dir: Path) -> str:
    if config.storage:
        return config.storage
    return f"sqlite:///{(run_dir / 'study.db').resolve()}"


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a storage error that passes with time."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        if any(fragment in text for fragment in _TRANSIENT):
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapper of the driver's error
        if isinstance(orig, BaseException) and any(f in str(orig).lower() for f in _TRANSIENT):
            return True
        current = current.__cause__ or current.__context__
    return False


class TransientRetry:
    """Bounded, jittered backoff for storage weather (``RETRY_WINDOW_SECONDS`` in a row).

    ``wait(exc)`` sleeps and returns True while ``exc`` is transient and the current run of
    failures is younger than the window; a success in between (a gap longer than the
    longest delay) starts a new window.
    """

    def __init__(self, window: float = RETRY_WINDOW_SECONDS, seed: int | None = None) -> None:
        import random

        self.window = window
        self.rng = random.Random(seed)
        self.first_failure: float | None = None
        self.last_wake = 0.0
        self.delay = FIRST_DELAY_SECONDS
        self.tries = 0

    def wait(self, exc: BaseException) -> bool:
        if not is_transient(exc):
            return False
        now = time.monotonic()
        if self.first_failure is None or now - self.last_wake > 2 * MAX_DELAY_SECONDS:
            self.first_failure, self.delay = now, FIRST_DELAY_SECONDS
        if now - self.first_failure >= self.window:
            return False
        pause = min(
            self.delay * self.rng.uniform(0.5, 1.0), self.window - (now - self.first_failure)
        )
        time.sleep(max(pause, 0.0))
        self.delay = min(self.delay * 2, MAX_DELAY_SECONDS)
        self.tries += 1
        self.last_wake = time.monotonic()
        return True


def call_with_retry(call: Callable[[], None], retry: TransientRetry | None = None) -> None:
    """``call()``, called again after each transient storage error until it returns, a
    permanent error is raised, or the weather outlasts ``RETRY_WINDOW_SECONDS``."""
    retry = retry or TransientRetry()
    while True:
        try:
            call()
            return
        except Exception as exc:
            if not retry.wait(exc):
                raise
