"""A throw-away PostgreSQL 15 server for the tests that share a study across workers.

Debian's server binaries, run as user ``postgres`` on a loopback port in a fresh data folder;
the fixture skips with a reason where the binaries, psycopg or root (``runuser``) are missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

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
