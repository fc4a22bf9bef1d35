"""The CI definitions: GitHub workflows valid against GitHub's workflow schema, the test
workflow running the README's test command, and the shared-data accounting of the test run.

The schema is SchemaStore's ``github-workflows.json`` (the schema GitHub's own editors and
actionlint-style checkers use), as vendored by the ``check-jsonschema`` package of the test
extra and read from there offline (``--builtin-schema vendor.github-workflows``); its YAML
loader reads YAML 1.2, so ``on:`` stays a key instead of turning into ``True``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def _schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
               "vendor.github-workflows", *map(str, paths)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_every_workflow_matches_githubs_workflow_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in files} >= {"ci.yml", "latency-tables.yml"}
    result = _schema_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    runs-on: ${{ matrix.os }}\n", ""),  # a job without a runner
        ("    steps:\n", "    step:\n"),  # a misspelt key
        ("timeout-minutes: 60", "timeout-minutes: [60]"),  # a wrong type
    ],
)
def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path, old: str, new: str) -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    assert old in text
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace(old, new))
    result = _schema_check(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr


def test_the_test_workflow_runs_the_readme_test_command_on_linux_and_macos() -> None:
    readme = (REPO / "README.md").read_text()
    (command,) = [line for line in readme.splitlines() if line.rstrip().endswith("pytest -q")]
    workflow = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest"}
    assert set(matrix["python"]) == {"3.10", "3.13"}
    assert job["runs-on"] == "${{ matrix.os }}"
    runs = [step.get("run", "") for step in job["steps"]]
    assert command.strip() in [r.strip() for r in runs]
    assert any("ruff format --check nascli tests benchmarks" in r for r in runs)
    floor = re.search(r'requires-python = ">=(\d+\.\d+)"', (REPO / "pyproject.toml").read_text())
    assert floor is not None and floor.group(1) in matrix["python"]


# ------------------------------------------------------------- shared-data accounting
_A_SHARED_TEST = """
def test_reads_the_reference_data(shared_file):
    assert shared_file("x.csv").read_text() == "1"


def test_without_data():
    pass
"""


_SKIPS_ITSELF = """

def test_skips_after_reading(shared_file):
    import pytest

    shared_file("x.csv")
    pytest.skip("skipped for another reason")
"""


def _run_copy(
    tmp_path: Path, *, data: bool, require: bool, extra: str = ""
) -> subprocess.CompletedProcess[str]:
    """pytest on a copy of this conftest, laid out as repo/tests beside shared/data."""
    tests = tmp_path / "repo" / "tests"
    tests.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "test_one.py").write_text(_A_SHARED_TEST + extra)
    if data:
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "shared" / "data" / "x.csv").write_text("1")
    env = {k: v for k, v in os.environ.items() if k != "NASCLI_REQUIRE_SHARED"}
    if require:
        env["NASCLI_REQUIRE_SHARED"] = "1"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    return subprocess.run(
        command, cwd=tests.parent, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("data", "require", "code", "line"),
    [
        (True, True, 0, "shared-data tests: 1 run, 0 skipped"),
        (False, False, 0, "shared-data tests: 0 run, 1 skipped"),
        (False, True, 1, "shared-data tests: 1 run, 0 skipped"),  # the missing file fails it
    ],
)
def test_shared_data_tests_are_counted_and_required_on_demand(
    tmp_path: Path, data: bool, require: bool, code: int, line: str
) -> None:
    result = _run_copy(tmp_path, data=data, require=require)
    assert result.returncode == code, result.stdout + result.stderr
    assert line in result.stdout
    if not data and require:
        assert "NASCLI_REQUIRE_SHARED=1 requires it" in result.stdout


def test_a_shared_data_test_skipped_for_any_reason_fails_a_run_that_requires_them(
    tmp_path: Path,
) -> None:
    relaxed = _run_copy(tmp_path / "a", data=True, require=False, extra=_SKIPS_ITSELF)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "shared-data tests: 1 run, 1 skipped" in relaxed.stdout
    strict = _run_copy(tmp_path / "b", data=True, require=True, extra=_SKIPS_ITSELF)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "skipped shared-data tests fail the run" in strict.stdout
