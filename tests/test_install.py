"""Installed as users install it: package data, user folders, search order, replay, metadata.

The wheel test builds the real wheel (setuptools, no network) and reads its file list; the
search-order tests use a real user folder (``NASCLI_HOME``) and a real working directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app
from tests.conftest import REPO

runner = CliRunner()

CPU_DEVICE = (REPO / "configs" / "devices" / "cpu.yaml").read_text()


@pytest.mark.slow
def test_wheel_holds_configs_tables_and_licence(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("nascli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"nascli/{p.relative_to(REPO).as_posix()}"
        for folder in ("configs", "latency_tables")
        for p in (REPO / folder).rglob("*")
        if p.is_file()
    }
    assert shipped and shipped <= names, sorted(shipped - names)
    assert any(n.endswith("licenses/LICENSE") for n in names)
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert "License-Expression: MIT" in metadata
    assert "Requires-Dist: optuna<6,>=5" in metadata


def test_shipped_files_are_read_through_importlib_resources() -> None:
    from importlib import resources

    from nascli.paths import config_files, shipped_root, table_files

    assert shipped_root() == resources.files("nascli")
    devices = config_files("devices")
    assert "cpu" in devices and (shipped_root() / "configs" / "devices" / "cpu.yaml").is_file()
    assert any(p.parent.name == "cpu" and p.name == "nb201-32.json" for p in table_files())


def test_search_order_working_directory_then_user_folder_then_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "configs" / "devices").mkdir(parents=True)
    (work / "configs" / "devices").mkdir(parents=True)
    user_cpu = CPU_DEVICE
    (home / "configs" / "devices" / "laptop.yaml").write_text(
        user_cpu.replace("name: cpu", "name: laptop")
    )
    (home / "configs" / "devices" / "cpu.yaml").write_text(user_cpu)
    (work / "configs" / "devices" / "cpu.yaml").write_text(user_cpu)
    monkeypatch.setenv("NASCLI_HOME", str(home))
    monkeypatch.chdir(work)
    from nascli.paths import config_files, roots

    assert [r.label for r in roots()] == ["cwd", "user", "shipped"]
    devices = config_files("devices")
    assert devices["cpu"] == work / "configs" / "devices" / "cpu.yaml"
    assert devices["laptop"] == home / "configs" / "devices" / "laptop.yaml"
    result = runner.invoke(app, ["devices", "list", "--json"])
    assert result.exit_code == 0, result.output
    names = {row["name"] for row in json.loads(result.stdout)["devices"]}
    assert {"laptop", "cpu", "cuda"} <= names
    result = runner.invoke(app, ["spaces", "list", "--json"])
    spaces = {r["name"] for r in json.loads(result.stdout)["spaces"]}
    assert {"mobilenet-imagenet", "nb201"} <= spaces


def test_user_table_is_found_by_budget_and_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    table = home / "latency_tables" / "cpu" / "nb201-32.json"
    table.parent.mkdir(parents=True)
    table.write_bytes((REPO / "latency_tables" / "cpu" / "nb201-32.json").read_bytes())
    monkeypatch.setenv("NASCLI_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    from nascli.latency.table import default_table_path

    assert default_table_path("cpu", "nb201", 32) == table
    result = runner.invoke(app, ["tables", "list", "--json"])
    paths = [row["path"] for row in json.loads(result.stdout)["tables"]]
    assert str(table) in paths
    assert sum(p.endswith("cpu/nb201-32.json") for p in paths) == 1, "the user's table shadows"


def test_profile_writes_to_the_user_folder_never_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nascli.paths import shipped_root, user_table_path

    monkeypatch.setenv("NASCLI_HOME", str(tmp_path / "home"))
    path = user_table_path("cpu", "nb201", 32)
    assert path == tmp_path / "home" / "latency_tables" / "cpu" / "nb201-32.json"
    assert not path.resolve().is_relative_to(shipped_root().resolve())
    assert "USER_DIR" in runner.invoke(app, ["profile", "--help"]).output


def test_named_search_config_and_named_arch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nascli.config import load_run_config
    from nascli.spaces import resolve_arch

    monkeypatch.chdir(tmp_path)
    assert load_run_config(Path("imagenet-450mflops"))["space"] == "mobilenet-imagenet"
    assert resolve_arch("zico-600m").space == "mobilenet-imagenet"
    result = runner.invoke(app, ["search", "--config", "imagenet-450mflop"])
    assert result.exit_code == 2 and "did you mean 'imagenet-450mflops'" in result.output


def test_replay_of_a_run_config_resumes_the_run(tmp_path: Path) -> None:
    args = ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
            "--iterations", "6", "--out", str(tmp_path / "run"), "--no-onnx", "--json"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    replay = runner.invoke(
        app, ["search", "--config", str(tmp_path / "run" / "config.yaml"), "--json"]
    )
    assert replay.exit_code == 0, replay.output
    a, b = json.loads(first.stdout), json.loads(replay.stdout)
    assert b["study"] == a["study"] and b["trials"]["total"] == a["trials"]["total"]
    assert b["best"]["canonical"] == a["best"]["canonical"]
    more = runner.invoke(
        app,
        ["search", "--config", str(tmp_path / "run" / "config.yaml"), "--iterations", "9",
         "--json"],
    )  # fmt: skip
    assert more.exit_code == 0 and json.loads(more.stdout)["trials"]["done"] == 9


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``nascli`` as a user runs it: a real process, stdout/stderr piped."""
    env = {**__import__("os").environ}
    env.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "nascli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


NB201_SEARCH = ("search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
                "--no-onnx")  # fmt: skip


def test_progress_without_a_terminal_is_plain_lines_and_quiet_silences_it(tmp_path: Path) -> None:
    done = _cli(*NB201_SEARCH, "--iterations", "40", "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("search: ")]
    assert len(lines) >= 3 and lines[-1].startswith("search: 40/40 trials, best ")
    assert "feasible" in lines[-1] and "elapsed 0:" in lines[-1]
    assert "\x1b[" not in done.stderr, "no terminal escapes in a log"
    quiet = _cli(*NB201_SEARCH, "--iterations", "4", "--out", str(tmp_path / "b"), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "run dir:" in quiet.stdout


def test_piped_tables_do_not_wrap() -> None:
    result = _cli("arch", "info", "zico-1g")
    assert result.returncode == 0, result.stderr
    from nascli.spaces import resolve_arch

    canonical = resolve_arch("zico-1g").canonical
    assert len(canonical) > 80
    assert canonical in result.stdout, "the canonical string is cut or wrapped"


def test_a_wrong_baseline_fails_before_any_evaluation(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = runner.invoke(
        app, [*NB201_SEARCH, "--iterations", "5", "--out", str(run), "--baseline", "nope.yaml"]
    )
    assert result.exit_code == 2 and "nope.yaml" in result.output
    assert not run.exists(), "nothing may be created (or evaluated) before the inputs check"
    for option in ("--data", "--table"):
        result = runner.invoke(
            app, [*NB201_SEARCH, "--out", str(run), option, str(tmp_path / "missing.npz")]
        )
        assert result.exit_code == 2 and option in result.output and not run.exists()


def test_a_failing_later_step_loses_no_output(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "pareto.png").mkdir(parents=True)  # the plot cannot be written there
    result = _cli(*NB201_SEARCH, "--iterations", "6", "--out", str(run))
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: pareto.png failed") and "Traceback" not in result.stderr
    for name in ("config.yaml", "top.csv", "best.yaml", "summary.json", "baselines.json"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["failed_steps"]) == {"pareto.png"}
    assert summary["best"]["canonical"] and summary["trials"]["done"] == 6


def test_long_jobs_print_plain_stage_lines_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from nascli.commands.progress import stages

    with stages(True) as start:
        report = start("validation networks", 20)
        for _ in range(20):
            report(1, "")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("validation networks: 20/20")
    with stages(False) as start:
        start("quiet", 5)(5, "")
    assert capsys.readouterr().err == ""
