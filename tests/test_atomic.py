"""Atomic writes: whole files or none, with the permissions a plain write would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nascli.atomic import write_text_atomic
from nascli.errors import ConfigError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_mode_and_no_temp_file_remains(tmp_path: Path) -> None:
    old_mask = os.umask(0o022)
    try:
        target = tmp_path / "sub" / "table.json"
        write_text_atomic(target, "{}")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "{}"
    assert _mode(target) == 0o644  # not mkstemp's 0600
    assert [p.name for p in target.parent.iterdir()] == ["table.json"]


def test_rewrite_keeps_the_existing_mode(tmp_path: Path) -> None:
    target = tmp_path / "best.yaml"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_unwritable_target_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write"):
        write_text_atomic(blocker / "inside.json", "{}")  # parent is a file
