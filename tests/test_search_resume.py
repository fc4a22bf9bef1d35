"""Resume after ``kill -9`` and several workers on one study (SQLite and PostgreSQL).

These start real processes (and a throw-away PostgreSQL cluster), so they are marked slow.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _cmd(out: Path, iterations: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nascli", "search", "--space", "nb201", "--proxy", "zico",
            "--batch-size", "8", "--budget", "120MFLOPs", "--iterations", str(iterations),
            "--out", str(out), "--no-onnx", "--json", *extra]  # fmt: skip


def _complete(db: Path) -> dict[int, tuple[str, float]]:
    """trial number -> (arch, value) of COMPLETE trials, read straight from the database."""
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select t.number, a.value_json, v.value from trials t "
            "join trial_user_attributes a on a.trial_id = t.trial_id and a.key = 'nascli' "
            "join trial_values v on v.trial_id = t.trial_id where t.state = 'COMPLETE'"
        ).fetchall()
    return {n: (json.loads(info)["arch"], value) for n, info, value in rows}


@pytest.mark.slow
def test_kill_9_loses_and_redoes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(_cmd(out, 14), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = out / "study.db"
    deadline = time.time() + 240
    before: dict[int, tuple[str, float]] = {}
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
        if db.exists():
            try:
                before = _complete(db)
            except sqlite3.Error:
                continue
            if len(before) >= 4:
                break
    assert process.poll() is None, "search finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _complete(db)
    assert len(before) >= 4
    result = subprocess.run(_cmd(out, 14), capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    after = _complete(db)
    for number, (arch, value) in before.items():
        assert after[number] == (arch, value), "a finished trial changed or vanished"
    archs = [arch for arch, _ in after.values()]
    assert len(archs) == len(set(archs)), "an architecture was evaluated twice"
    assert summary["trials"]["done"] == 14


@pytest.fixture
def postgres_url(postgres_server) -> str:
    return postgres_server.url


@pytest.mark.slow
def test_two_workers_share_one_postgres_study(tmp_path: Path, postgres_url: str) -> None:
    cmd = [sys.executable, "-m", "nascli", "search", "--space", "nb201", "--proxy", "params",
           "--budget", "120MFLOPs", "--iterations", "30", "--no-onnx", "--json",
           "--storage", postgres_url, "--study-name", "shared"]  # fmt: skip
    workers = [
        subprocess.Popen(
            [*cmd, "--out", str(tmp_path / f"w{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=400) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    import optuna

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    archs = [t.user_attrs["nascli"]["arch"] for t in complete]
    assert len(archs) == len(set(archs)), "an architecture was evaluated by both workers"
    assert [t.number for t in trials] == list(range(len(trials))), "a trial number was lost"
    assert not [t for t in trials if t.state.name == "RUNNING"]
    workers_seen = {t.user_attrs["nascli"]["worker"] for t in complete}
    assert len(complete) >= 30 and len(workers_seen) >= 1
    summaries = [json.loads(out) for out, _ in outputs]
    assert max(s["trials"]["done"] for s in summaries) >= 30


@pytest.mark.slow
def test_local_workers_share_the_sqlite_study(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "nascli", "search", "--space", "nb201", "--proxy", "params",
           "--budget", "120MFLOPs", "--iterations", "24", "--no-onnx", "--json",
           "--workers", "2", "--out", str(tmp_path / "run")]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert 24 <= summary["trials"]["done"] <= 25  # a second worker may finish one in flight
    done = _complete(tmp_path / "run" / "study.db")
    archs = [arch for arch, _ in done.values()]
    assert len(archs) == len(set(archs))
