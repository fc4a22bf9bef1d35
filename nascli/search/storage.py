"""Where a study lives: Optuna RDB storage (SQLite by default, PostgreSQL for many workers).

Heartbeats let a shared database fail the trials of a dead worker after ``GRACE_SECONDS``;
a local run fails its own stale trials at once on resume (``fail_stale_running``). SQLite runs
in WAL mode so that a killed process loses no committed trial.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nascli.errors import ConfigError, JobError

if TYPE_CHECKING:
    import optuna

    from nascli.config import SearchConfig

HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20


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
        engine_kwargs["connect_args"] = {"timeout": 120}
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
