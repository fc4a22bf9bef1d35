"""Hypothesis fuzz of the loaders: whatever the text, only nascli's own errors escape.

Generous caps guard against hostile input (each example is bounded by the loader's own
limits); they are not speed assertions.
"""

from __future__ import annotations

import contextlib
import copy
import math
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nascli.errors import ConfigError  # noqa: E402

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Characters that make YAML do something: flow collections, anchors, aliases, tags,
# block scalars, documents, directives, quotes, escapes, comments.
YAML_ALPHABET = st.sampled_from([*"[]{}&*!:-,|>'\"\\#%@`?\n\t abcx019.eE+~", "<<", "!!", "---"])
yaml_texts = st.one_of(st.text(max_size=300), st.lists(YAML_ALPHABET, max_size=200).map("".join))

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


@FUZZ
@given(yaml_texts)
def test_yaml_text_only_raises_config_error(text: str) -> None:
    from nascli.yamlio import load_yaml_text

    with contextlib.suppress(ConfigError):
        load_yaml_text(text, "fuzz.yaml")


@FUZZ
@given(yaml_texts)
def test_run_config_file_only_raises_config_error(tmp_path: Path, text: str) -> None:
    from nascli.config import load_run_config, resolve_config

    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(ConfigError):
        resolve_config(load_run_config(path), {"budgets": ["400MFLOPs"]})


@FUZZ
@given(yaml_texts)
def test_space_file_only_raises_config_error(tmp_path: Path, text: str) -> None:
    from nascli.spaces.registry import _load_yaml_space

    path = tmp_path / "fuzz-space.yaml"
    path.write_text("name: fuzz\nfamily: macro\n" + text, encoding="utf-8")
    with contextlib.suppress(ConfigError):
        _load_yaml_space(path)


@FUZZ
@given(json_values)
def test_table_data_only_raises_config_error(data: Any) -> None:
    from nascli.latency.table import LatencyTable

    with contextlib.suppress(ConfigError):
        LatencyTable.from_data(data, source="fuzz.json")


@FUZZ
@given(
    st.sampled_from(
        [
            ("fit", "scale"),
            ("fit", "overhead_ms"),
            ("entry", "min_ms"),
            ("entry", "n"),
            ("top", "resolution"),
            ("top", "entry_offset_ms"),
        ]
    ),
    json_values,
)
def test_a_bad_value_in_a_valid_table_is_refused_or_is_valid(
    tiny_nb201_table: Any, where: tuple[str, str], value: Any
) -> None:
    """Any value in a numeric field: either refused (ConfigError), or a finite, in-range number."""
    import json

    from nascli.latency.table import LatencyTable

    data = json.loads(tiny_nb201_table().to_json())
    data = copy.deepcopy(data)
    section, name = where
    target = {"fit": data["fit"], "top": data}.get(section) or next(iter(data["entries"].values()))
    target[name] = value
    try:
        table = LatencyTable.from_data(data, source="fuzz.json")
    except ConfigError:
        return
    assert isinstance(value, int | float) and not isinstance(value, bool)
    assert math.isfinite(value) and value >= 0
    if (section, name) == ("fit", "scale"):
        assert value > 0
    assert table.entries
