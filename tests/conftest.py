"""Shared fixtures: the read-only reference data in ../shared/data, a hand-made latency table.

``REPO`` stays a module constant because ``parametrize`` lists need it at collection time;
everything a test calls is a fixture.

A test that reads ../shared/data does so through the ``shared_file`` fixture, the one way in,
so the run can count those tests: the summary prints ``shared-data tests: N run, M skipped``.
Without the data they skip with the reason; with ``NASCLI_REQUIRE_SHARED=1`` (CI sets it when
../shared exists) a missing file fails the test and any skipped shared-data test fails the
run, so a CI run that lost the data cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURE = "shared_file"
REQUIRE_SHARED = "NASCLI_REQUIRE_SHARED"
_shared_outcomes: dict[str, str] = {}


def _shared_required() -> bool:
    import os

    return os.environ.get(REQUIRE_SHARED, "") not in ("", "0")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the outcome of every test that uses ``shared_file`` (worst phase wins)."""
    if SHARED_FIXTURE not in getattr(report, "fixturenames", ()):
        return
    if report.outcome == "skipped" or (report.when == "call" and report.outcome == "passed"):
        _shared_outcomes.setdefault(report.nodeid, report.outcome)
    elif report.outcome == "failed":
        _shared_outcomes[report.nodeid] = "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Carry the item's fixture names onto its reports (the log hook sees only reports)."""
    report = yield
    report.fixturenames = tuple(getattr(item, "fixturenames", ()))
    return report


def shared_data_counts() -> tuple[int, int]:
    """(run, skipped) among the shared-data tests seen so far; a failed one counts as run."""
    skipped = sum(1 for o in _shared_outcomes.values() if o == "skipped")
    return len(_shared_outcomes) - skipped, skipped


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``NASCLI_REQUIRE_SHARED=1`` a skipped shared-data test fails the run."""
    _, skipped = shared_data_counts()
    if skipped and _shared_required() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    run, skipped = shared_data_counts()
    line = f"shared-data tests: {run} run, {skipped} skipped"
    if skipped and _shared_required():
        line += f" ({REQUIRE_SHARED}=1: skipped shared-data tests fail the run)"
    terminalreporter.write_line(line)


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_folder(tmp_path_factory: pytest.TempPathFactory):
    """Tests never read or write the developer's own nascli user folder."""
    import os

    old = os.environ.get("NASCLI_HOME")
    os.environ["NASCLI_HOME"] = str(tmp_path_factory.mktemp("nascli-home"))
    yield
    if old is None:
        os.environ.pop("NASCLI_HOME", None)
    else:
        os.environ["NASCLI_HOME"] = old


@pytest.fixture
def shared_file() -> Callable[[str], Path]:
    """``shared_file(name)``: the path of a ../shared/data file; skips the test, with the
    reason, when the reference data is absent (fails it under ``NASCLI_REQUIRE_SHARED=1``)."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            reason = f"reference data {path} not present (../shared/data beside the repo)"
            if _shared_required():
                pytest.fail(f"{reason}; {REQUIRE_SHARED}=1 requires it")
            pytest.skip(reason)
        return path

    return find


@pytest.fixture
def tiny_nb201_table() -> Callable[..., Any]:
    """``tiny_nb201_table(values=None, fit=None)``: an NB201 ``LatencyTable`` with
    hand-chosen entries (entry ``i`` has ``min_ms`` 0.01·(i+1) unless ``values`` names it)."""
    from nascli.latency.devices import load_device
    from nascli.latency.grid import nb201_keys
    from nascli.latency.table import new_table
    from nascli.spaces import get_space

    def make(values: dict[str, float] | None = None, fit: dict | None = None):
        table = new_table(
            "nb201", 32, load_device("cpu").to_dict(), {"statistic": "min", "runs": 1}
        )
        for i, key in enumerate(nb201_keys(get_space("nb201"), 32)):
            v = (values or {}).get(key.to_str(), 0.01 * (i + 1))
            table.entries[key.to_str()] = {
                "median_ms": v * 2,
                "min_ms": v,
                "p10_ms": v,
                "p90_ms": v * 3,
                "n": 5,
            }
        table.meta["fit"] = fit or {"scale": 1.0, "overhead_ms": 0.0}
        table.meta["method"] = "isolated"
        return table

    return make


# A throw-away PostgreSQL 15 server for the tests that share a study across workers:
# Debian's binaries, run as user ``postgres`` on a loopback port in a fresh data folder.
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A throw-away PostgreSQL cluster run as user ``postgres`` on a loopback port."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data),
             *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {args} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.pg_ctl("-w", "-l", str(self.data / "log"), "-o", options, "start")


@pytest.fixture
def postgres_server():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 server binaries not found in {PG_BIN} (apt install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip('psycopg not installed (pip install "psycopg[binary]", the postgres extra)')
    if shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs root to run the server as user 'postgres' (runuser)")
    base = Path(tempfile.mkdtemp(prefix="nascli-pg-"))
    os.chmod(base, 0o755)
    data = base / "pg"
    data.mkdir()
    shutil.chown(data, "postgres")
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(["runuser", "-u", "postgres", "--", *initdb], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    server = Server(data, _free_port())
    server.start()
    try:
        yield server
    finally:
        server.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)
