"""Shared test fixtures: the read-only reference data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


def shared_file(name: str) -> Path:
    """Path of a ../shared/data file, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"reference data {path} not present (../shared/data beside the repo)")
    return path
