"""Storage weather: which errors are retried, and for how long (real SQLite locks)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from nascli.search.storage import TransientRetry, is_transient


def locked_error(tmp_path: Path) -> sqlite3.OperationalError:
    """The error SQLite raises when another connection holds the write lock."""
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite3.connect(db, timeout=0).execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    raise AssertionError("SQLite did not report the lock")


def test_a_lock_is_weather_a_damaged_file_is_not(tmp_path: Path) -> None:
    lock = locked_error(tmp_path)
    assert "database is locked" in str(lock) and is_transient(lock)
    try:  # the storage layer wraps the driver's error; the cause is what counts
        raise RuntimeError("An exception is raised during the commit.") from lock
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError) as info:
        sqlite3.connect(damaged).execute("SELECT * FROM sqlite_master")
    assert not is_transient(info.value)


def test_retry_is_bounded_by_its_window(tmp_path: Path) -> None:
    lock = locked_error(tmp_path)
    retry = TransientRetry(window=1.0, seed=0)
    start = time.monotonic()
    tries = 0
    while retry.wait(lock):
        tries += 1
        assert tries < 20
    elapsed = time.monotonic() - start
    # delays 0.5, 1, ... each x U(0.5, 1) and cut at the window: at least 2 tries, about 1 s
    assert tries >= 2 and 0.9 <= elapsed < 2.0
    assert not TransientRetry(window=1.0).wait(ValueError("not storage"))
