"""CLI contract: --version, fast --help without torch, JSON output, one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nascli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_version() -> None:
    from nascli import __version__

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"nascli {__version__}"


def test_cli_import_does_not_import_torch() -> None:
    code = "import sys, nascli.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_arch_info_json_is_the_only_stdout() -> None:
    result = run("arch", "info", "nb201:13714", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert set(info) >= {"space", "canonical", "macs", "params", "layers", "peak_activation_bytes"}
    assert info["macs"] / 1e6 == pytest.approx(153.27, rel=0.01)
    assert info["params"] / 1e6 == pytest.approx(1.073, rel=0.01)


def test_spaces_list_json() -> None:
    result = run("spaces", "list", "--json")
    assert result.returncode == 0
    names = {row["name"] for row in json.loads(result.stdout)["spaces"]}
    assert {"mobilenet-imagenet", "nb201"} <= names


def test_arch_sample_writes_valid_yaml(tmp_path) -> None:
    result = run("arch", "sample", "--space", "nb201", "-n", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("*.yaml"))
    assert len(files) == 3
    again = run("arch", "info", str(files[0]), "--json")
    assert json.loads(again.stdout)["space"] == "nb201"


def _bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("space: mobilenet-imagenet\nblocks: [\n")
    return str(path)


def _kernel4(tmp_path):
    text = (REPO / "configs/archs/zico-1g.yaml").read_text().replace("kernel: 7", "kernel: 4", 1)
    path = tmp_path / "k4.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("make_args", "needle"),
    [
        (lambda t: ["arch", "info", _bad_yaml(t)], "malformed YAML"),
        (lambda t: ["spaces", "show", "nosuchspace"], "unknown search space"),
        (lambda t: ["arch", "sample", "--space", "nosuchspace"], "unknown search space"),
        (lambda t: ["arch", "info", _kernel4(t)], "kernel 4"),
        (lambda t: ["arch", "info", "|nor_conv_3x3~0|+|bogus~0|"], "NB201"),
        (lambda t: ["arch", "info", "nb201:99999"], "out of range"),
        (lambda t: ["arch", "info", "missing.yaml"], "no such file"),
        (lambda t: ["export", "nb201:1", "--onnx", "/proc/nascli/x.onnx"], "cannot write"),
        (lambda t: ["search", "--bogus"], "No such option: --bogus"),
        (lambda t: ["search", "--iterations", "many"], "Invalid value for '--iterations'"),
        (lambda t: ["tables", "validate"], "Missing argument"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, make_args, needle: str) -> None:
    result = run(*make_args(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_no_arguments_prints_the_help() -> None:
    result = run("tables")
    assert result.returncode == 2
    assert "validate" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("target", "needle"),
    [("a-file/x.onnx", "cannot write"), ("a-dir", "is a directory")],
    ids=["parent-is-a-file", "target-is-a-directory"],
)
def test_unwritable_export_path_is_exit_2(tmp_path, target: str, needle: str) -> None:
    """Paths no user can write, root included (CI runs as root)."""
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-dir").mkdir()
    result = run("export", "nb201:1", "--onnx", str(tmp_path / target))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert (tmp_path / "a-file").read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-dir", "a-file"]
    assert not any((tmp_path / "a-dir").iterdir())


def test_export_command_writes_checked_onnx(tmp_path) -> None:
    out = tmp_path / "m.onnx"
    result = run("export", "nb201:13714", "--onnx", str(out), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["max_rel_diff"] < 1e-4
    assert out.exists()


def test_every_search_option_reaches_the_config_by_its_own_name() -> None:
    """``nascli search`` passes its options through ``cli_overrides`` by name: each
    command parameter (bar the command's own) is a ``SearchConfig`` field or alias, so a
    new option cannot be silently dropped by a hand-written copy."""
    import inspect
    from pathlib import Path

    from nascli.commands.search import COMMAND_ONLY, search_command
    from nascli.config import OPTION_NAMES, cli_overrides
    from nascli.errors import ConfigError

    names = [p for p in inspect.signature(search_command).parameters if p != "ctx"]
    options = [n for n in names if n not in COMMAND_ONLY]
    assert len(options) >= 24
    assert set(cli_overrides(dict.fromkeys(options, 1))) <= set(OPTION_NAMES)
    assert cli_overrides(
        {"budget": ["450MFLOPs"], "out": Path("runs/x"), "baseline": [], "seed": None}
    ) == {"budgets": ["450MFLOPs"], "out": "runs/x"}
    with pytest.raises(ConfigError, match="unknown search option 'bogus'"):
        cli_overrides({"bogus": 1})
