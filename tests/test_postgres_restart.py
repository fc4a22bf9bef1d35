"""A PostgreSQL restart, or 20 s without the server, mid-search with 2 workers: retried, the
budget is finished."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Server


def complete_trials(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


@pytest.mark.slow
@pytest.mark.parametrize("outage", ["restart", "down-20s"])
def test_restart_mid_search_costs_at_most_the_in_flight_trials(
    tmp_path: Path, postgres_server: Server, outage: str
) -> None:
    iterations = 60
    url = postgres_server.url
    cmd = [sys.executable, "-m", "nascli", "search", "--space", "nb201", "--proxy", "params",
           "--budget", "120MFLOPs", "--iterations", str(iterations), "--no-onnx", "--quiet",
           "--threads", "1", "--storage", url, "--study-name", "shared"]  # fmt: skip
    workers = [
        subprocess.Popen(
            [*cmd, "--out", str(tmp_path / f"w{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 300
    while complete_trials(postgres_server.url) < 5:
        assert all(w.poll() is None for w in workers), "a worker ended before the restart"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    if outage == "restart":
        log = str(postgres_server.data / "log")
        postgres_server.pg_ctl("-w", "-m", "fast", "-l", log, "restart")
    else:  # the server gone for 20 s, inside the workers' 60 s retry window
        postgres_server.pg_ctl("-w", "-m", "fast", "stop")
        time.sleep(20)
        postgres_server.start()
    outputs = [w.communicate(timeout=400) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "Traceback" not in err
    import optuna

    study = optuna.load_study(study_name="shared", storage=postgres_server.url)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    archs = [t.user_attrs["nascli"]["arch"] for t in complete]
    assert len(complete) >= iterations
    assert len(archs) == len(set(archs)), "an architecture was scored twice"
    lost = [t for t in trials if t.state.name in ("RUNNING", "FAIL") and "error" not in
            t.user_attrs.get("nascli", {})]  # fmt: skip
    assert len(lost) <= 2, "more than the in-flight trials were lost"
