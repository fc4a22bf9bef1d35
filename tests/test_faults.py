"""Faults a user meets: bad seeds, a damaged or full study database. One line, never a trace."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app

from .conftest import REPO

runner = CliRunner()

SEARCH = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs", "--no-onnx",
          "--quiet", "--threads", "1"]  # fmt: skip


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nascli", *args],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def trial_states(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_seed_out_of_range_is_one_line(seed: str, tmp_path: Path) -> None:
    for args in (
        [*SEARCH, "--seed", seed, "--out", str(tmp_path / "run")],
        ["arch", "sample", "--space", "nb201", "--seed", seed],
        ["score", "nb201:0", "--proxy", "params", "--seed", seed],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (
            f"error: --seed must be between 0 and 4294967295 (2**32 - 1), got {seed}"
        )
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_damaged_study_db_is_one_line_exit_1(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = cli(*SEARCH, "--iterations", "3", "--out", str(run))
    assert first.returncode == 0, first.stderr
    db = run / "study.db"
    with open(db, "r+b") as handle:  # overwrite pages 3-5 (schema and trial tables)
        handle.seek(2 * 4096)
        handle.write(b"\xa5" * 3 * 4096)
    line = one_error_line(cli(*SEARCH, "--iterations", "6", "--out", str(run)), 1)
    assert "disk image is malformed" in line and "restore it from a copy" in line
    debug = cli(*SEARCH, "--iterations", "6", "--out", str(run), "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == line


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A 600 KB tmpfs (root only): a real file system that fills up."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("a tmpfs for the disk-full test needs root and mount(8)")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.slow
def test_disk_full_is_one_line_and_a_rerun_resumes(tiny_tmpfs: Path) -> None:
    run = tiny_tmpfs / "run"
    line = one_error_line(cli(*SEARCH, "--iterations", "300", "--out", str(run)), 1)
    assert "disk is full" in line and "rerun the same command to resume" in line
    before = trial_states(run / "study.db").get("COMPLETE", 0)
    remount = ["mount", "-o", "remount,size=20m", str(tiny_tmpfs)]
    subprocess.run(remount, check=True)
    again = cli(*SEARCH, "--iterations", str(before + 5), "--out", str(run))
    assert again.returncode == 0, again.stderr
    assert trial_states(run / "study.db")["COMPLETE"] == before + 5
    assert (run / "summary.json").exists()
