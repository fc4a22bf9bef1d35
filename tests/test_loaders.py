"""The one YAML/JSON loader: hostile files are one line and exit 2, never a hang or a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from nascli.errors import ConfigError
from nascli.yamlio import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    YAML_MAX_BYTES,
    load_json_text,
    load_yaml_text,
    read_json_file,
    read_yaml_file,
)

from .conftest import REPO


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """nascli in a subprocess; a hang fails the test after 120 s instead of blocking CI."""
    return subprocess.run(
        [sys.executable, "-m", "nascli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def one_error_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def alias_bomb(levels: int = 9, fanout: int = 9) -> str:
    """A 'billion laughs' YAML value: ``fanout ** levels`` strings from ~1.6 KB of text."""
    lines = [f"  a0: &a0 [{', '.join(['lol'] * fanout)}]"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_counted_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # a0 = 3 strings + its sequence (4 nodes); a1 = 3 aliases of a0 (3 x 4) + its sequence
    # (13); the 2 keys and the mapping: 4 + 13 + 2 + 1 = 20 nodes. Small aliases stay allowed.
    import nascli.yamlio

    text = "a0: &a [x, y, z]\na1: [*a, *a, *a]\n"
    monkeypatch.setattr(nascli.yamlio, "MAX_EXPANDED_NODES", 20)
    assert load_yaml_text(text, "t") == {"a0": ["x", "y", "z"], "a1": [["x", "y", "z"]] * 3}
    monkeypatch.setattr(nascli.yamlio, "MAX_EXPANDED_NODES", 19)
    with pytest.raises(ConfigError, match="more than 19 nodes"):
        load_yaml_text(text, "t")


def test_alias_bomb_is_refused_in_bounded_memory() -> None:
    text = "description:\n" + alias_bomb()
    assert len(text) < 2000 and MAX_EXPANDED_NODES < 9**9
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="alias bomb"):
            load_yaml_text(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024  # refused long before expansion (9**9 nodes ~ 30 GB)


def test_alias_bomb_in_a_space_description_is_one_line(tmp_path: Path) -> None:
    space = tmp_path / "bomb-space.yaml"
    space.write_text("name: bomb\nfamily: macro\ndescription:\n" + alias_bomb())
    line = one_error_line(cli("spaces", "show", str(space)))
    assert "alias bomb" in line and "bomb-space.yaml" in line


def test_alias_bomb_in_a_config_study_name_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("study_name:\n" + alias_bomb())
    line = one_error_line(
        cli("search", "--config", str(config), "--budget", "400MFLOPs", "--out", str(tmp_path))
    )
    assert "alias bomb" in line


def test_deep_yaml_nesting_is_refused(tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    with pytest.raises(ConfigError, match=f"deeper than {MAX_DEPTH}"):
        load_yaml_text(deep, "deep.yaml")
    assert load_yaml_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, "ok") is not None
    path = tmp_path / "deep.yaml"
    path.write_text(deep)
    assert "nested deeper" in one_error_line(cli("arch", "info", str(path)))


def test_deep_json_nesting_is_refused() -> None:
    with pytest.raises(ConfigError, match="nested deeper"):
        load_json_text("[" * 3000 + "]" * 3000, "deep.json")
    # brackets inside strings do not count
    assert load_json_text(
        '{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "s"
    )
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_json_text('{"a": 1', "cut.json")


def test_fifo_as_space_and_as_arch_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    line = one_error_line(cli("search", "--space", str(fifo), "--budget", "400MFLOPs"))
    assert "FIFO" in line
    assert "FIFO" in one_error_line(cli("arch", "info", str(fifo)))
    with pytest.raises(ConfigError, match="FIFO"):
        read_json_file(fifo)


def test_device_file_and_directory_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="special file"):
        read_yaml_file(link)
    with pytest.raises(ConfigError, match="directory"):
        read_yaml_file(tmp_path)


def test_size_cap_refuses_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(YAML_MAX_BYTES + 1)  # sparse: nothing is written to disk
    with pytest.raises(ConfigError, match="exceeds"):
        read_yaml_file(big)


def test_not_utf8_and_malformed_yaml_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml_file(path)
    with pytest.raises(ConfigError, match=r"malformed YAML \(line 2\)"):
        load_yaml_text("a: [1, 2\nb: }\n", "bad.yaml")
