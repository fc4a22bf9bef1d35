"""The declared latency-table schema: every reader refuses a bad table in one line.

``tables check`` reports the problem (exit 1, as for any failed check); ``predict`` and
``search`` stop with one ``error:`` line and exit 2 before any work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nascli.cli import app

runner = CliRunner()

ENTRY = "nb201_conv:16>16:k3s1:m0:32x32:relu:res=none:post=none"

# (where, value, words of the problem); each a row of a table users wrote by hand or a tool
# wrote wrong. Python's json writes float("nan") as NaN and float("inf") as Infinity.
BAD_ROWS = [
    (("fit", "scale"), -1, "fit.scale: -1 is less than or equal to the minimum of 0"),
    (("fit", "scale"), 0, "fit.scale: 0 is less than or equal to the minimum of 0"),
    (("fit", "overhead_ms"), -100, "fit.overhead_ms: -100 is less than the minimum of 0"),
    (("entry", "min_ms"), float("nan"), "min_ms: nan is not of type 'number'"),
    (("entry", "median_ms"), float("inf"), "median_ms: inf is not of type 'number'"),
    (("entry", "min_ms"), True, "min_ms: True is not of type 'number'"),
    (("entry", "n"), True, "n: True is not of type 'integer'"),
    (("entry", "p90_ms"), "0.3", "p90_ms: '0.3' is not of type 'number'"),
    (("top", "entry_offset_ms"), float("-inf"), "entry_offset_ms: -inf is not of type 'number'"),
]


def bad_table(tmp_path: Path, make: Any, where: tuple[str, str], value: Any) -> Path:
    data = json.loads(make().to_json())
    section, name = where
    target = {"fit": data["fit"], "top": data, "entry": data["entries"][ENTRY]}[section]
    target[name] = value
    path = tmp_path / "nb201-32.json"
    path.write_text(json.dumps(data))  # NaN / Infinity as Python writes them
    return path


def test_schema_is_a_valid_json_schema_file_in_the_package() -> None:
    import jsonschema

    from nascli.latency.schema import table_schema

    schema = table_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["fit"]["properties"]["scale"]["exclusiveMinimum"] == 0


def test_shipped_and_fixture_tables_pass(tiny_nb201_table: Any) -> None:
    from nascli.latency.schema import table_problems
    from nascli.latency.table import list_tables

    assert table_problems(json.loads(tiny_nb201_table().to_json())) == []
    for path in list_tables():
        assert table_problems(json.loads(path.read_text())) == [], path


@pytest.mark.parametrize(("where", "value", "problem"), BAD_ROWS)
def test_bad_table_row_is_one_line_in_every_command(
    tmp_path: Path, tiny_nb201_table: Any, where: tuple[str, str], value: Any, problem: str
) -> None:
    path = bad_table(tmp_path, tiny_nb201_table, where, value)

    checked = runner.invoke(app, ["tables", "check", str(path)])
    assert checked.exit_code == 1 and problem in checked.stdout, checked.output

    predicted = runner.invoke(app, ["predict", "nb201:0", "--table", str(path)])
    assert predicted.exit_code == 2, predicted.output
    assert predicted.stderr.count("\n") == 1 and problem in predicted.stderr

    searched = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "params", "--budget", "5ms@cpu",
         "--table", str(path), "--iterations", "2", "--out", str(tmp_path / "run"), "--no-onnx"],
    )  # fmt: skip
    assert searched.exit_code == 2, searched.output
    assert searched.stderr.count("\n") == 1 and problem in searched.stderr
