"""Signals and concurrent runs, with real processes: no orphan, no RUNNING trial, one line."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO

SEARCH = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
          "--no-onnx", "--quiet", "--threads", "1"]  # fmt: skip
LONG_SEARCH = [*SEARCH, "--iterations", "100000"]


def start(out: Path, *extra: str, new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nascli", *LONG_SEARCH, "--out", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=new_session,
    )  # fmt: skip


def states(db: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return {}
    return dict(rows)


def workers_scoring(db: Path) -> set[int]:
    """Which workers have finished a trial (their ``worker`` user attribute)."""
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            rows = conn.execute(
                "SELECT value_json FROM trial_user_attributes WHERE key = 'nascli'"
            ).fetchall()
    except sqlite3.OperationalError:
        return set()
    return {json.loads(v).get("worker", -1) for (v,) in rows}


def wait_until(condition, process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"search ended early ({process.returncode}): {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("search did not reach the expected state in time")
        time.sleep(0.2)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has stopped running


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130), (signal.SIGINT, False, 130)],
)
def test_signal_stops_every_worker_and_keeps_finished_trials(
    tmp_path: Path, signum: int, group: bool, code: int
) -> None:
    run = tmp_path / "run"
    process = start(run, "--workers", "2", new_session=group)
    db = run / "study.db"
    wait_until(lambda: {0, 1} <= workers_scoring(db), process)
    workers = [c for c in children(process.pid) if alive(c)]
    assert workers, "the search started no worker process"
    if group:
        os.killpg(process.pid, signum)  # Ctrl-C in a terminal: the whole group
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    name = signal.Signals(signum).name
    assert lines[0].startswith(f"error: interrupted by {name}: ") and "resume" in lines[0]
    time.sleep(0.5)
    assert not [w for w in workers if alive(w)], "a worker outlived the search"
    counts = states(db)
    assert counts.get("RUNNING", 0) == 0 and counts["COMPLETE"] >= 2
    summary = json.loads((run / "summary.json").read_text())
    assert summary["interrupted"] == name
    assert summary["trials"]["done"] >= 2 and (run / "top.csv").exists()
    assert "baselines" in summary["failed_steps"]
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))
    # a rerun resumes the same study
    with sqlite3.connect(db) as conn:
        (done,) = conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
    again = subprocess.run(
        [sys.executable, "-m", "nascli", *SEARCH, "--iterations", str(done + 2), "--out", str(run)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_a_second_search_on_the_same_run_dir_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = start(run)
    try:
        wait_until(lambda: states(run / "study.db").get("COMPLETE", 0) >= 1, first)
        second = subprocess.run(
            [sys.executable, "-m", "nascli", *LONG_SEARCH, "--out", str(run)],
            capture_output=True, text=True, cwd=REPO, timeout=300,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "is in use by another nascli search" in lines[0]
        assert f"pid {first.pid}" in lines[0]
        assert first.poll() is None  # the first search goes on, untouched
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    assert first.returncode == 143


def test_an_interrupt_inside_a_weakref_callback_is_not_printed() -> None:
    """A signal raised in a weakref callback cannot propagate; Python would print it as a
    traceback. The hook drops it (the next trial raises it again) and is restored after."""
    import signal as signal_module
    import sys
    import weakref

    from nascli.signals import Interrupted, signals_raise

    seen: list[object] = []

    def recorder(unraisable: object) -> None:
        seen.append(unraisable)

    before = sys.unraisablehook
    sys.unraisablehook = recorder
    try:
        with signals_raise():

            class Thing:
                pass

            thing = Thing()

            def callback(_ref: object) -> None:
                raise Interrupted(signal_module.SIGINT)

            ref = weakref.ref(thing, callback)
            del thing
            assert ref() is None
            assert seen == []  # dropped, not handed to the previous hook
        assert sys.unraisablehook is recorder
    finally:
        sys.unraisablehook = before


def test_a_worker_ignores_later_signals_with_a_python_handler() -> None:
    """After the first signal a worker swallows the others through a Python no-op, not
    SIG_IGN: a signal already caught at the C level would otherwise become an OSError
    traceback ('ignored due to race condition')."""
    import os
    import signal as signal_module

    from nascli.signals import Interrupted, raise_on_signals

    previous = {
        s: signal_module.getsignal(s) for s in (signal_module.SIGTERM, signal_module.SIGINT)
    }
    try:
        raise_on_signals(once=True)
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal_module.SIGTERM)
            time.sleep(1)
        for sig in previous:
            handler = signal_module.getsignal(sig)
            assert callable(handler) and handler is not signal_module.SIG_IGN
        os.kill(os.getpid(), signal_module.SIGTERM)  # swallowed: nothing raised
        time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal_module.signal(sig, handler)
        from nascli import signals

        signals._received.clear()  # what signals_raise() does when its block ends


def test_a_signal_in_a_deferred_zone_waits_for_a_safe_point() -> None:
    """Inside ``deferred`` (storage code) a signal is recorded only; it raises at the next
    ``raise_if_signalled`` or on entering ``interruptible`` (a proxy's passes)."""
    import os
    import signal as signal_module

    from nascli.signals import (
        Interrupted,
        deferred,
        interruptible,
        raise_if_signalled,
        received_signal,
        signals_raise,
    )

    with signals_raise(), deferred():
        os.kill(os.getpid(), signal_module.SIGTERM)
        time.sleep(0.2)  # the handler has run: nothing was raised
        assert received_signal() == signal_module.SIGTERM
        with pytest.raises(Interrupted) as caught, interruptible():
            pytest.fail("an interruptible zone entered with a signal pending")
        assert caught.value.exit_code == 143
        with pytest.raises(Interrupted):
            raise_if_signalled()
    assert received_signal() is None
    with signals_raise(), deferred(), pytest.raises(Interrupted) as caught, interruptible():
        os.kill(os.getpid(), signal_module.SIGINT)  # within it a signal raises at once
        time.sleep(1)
        pytest.fail("the signal did not raise inside the interruptible zone")
    assert caught.value.exit_code == 130


WATCHDOG_SCRIPT = """
import os, signal, threading, time
from nascli.signals import deferred, signals_raise
lock = threading.Lock()
with signals_raise(cleanup_limit=1.0):
    with deferred():
        lock.acquire()
        os.kill(os.getpid(), signal.SIGTERM)
        lock.acquire()  # a deadlock, as a lock left held by an interrupted library
print("not reached")
"""


def test_the_watchdog_ends_a_process_whose_cleanup_hangs() -> None:
    """A process stuck after a signal (here: a deadlock) ends within its cleanup limit with
    one ``error:`` line and 128 + the signal number, not a hang."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WATCHDOG_SCRIPT],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 143, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted by SIGTERM: cleanup did not")
    assert "not reached" not in done.stdout
    assert time.monotonic() - started < 30
