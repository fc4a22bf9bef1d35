"""Shared test fixtures: the read-only reference data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


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


def shared_file(name: str) -> Path:
    """Path of a ../shared/data file, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"reference data {path} not present (../shared/data beside the repo)")
    return path
