"""Shared fixtures: the read-only reference data in ../shared/data, a hand-made latency table.

``REPO`` stays a module constant because ``parametrize`` lists need it at collection time;
everything a test calls is a fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@pytest.fixture
def shared_file() -> Callable[[str], Path]:
    """``shared_file(name)``: the path of a ../shared/data file; skips the test, with the
    reason, when the reference data is absent."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"reference data {path} not present (../shared/data beside the repo)")
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
