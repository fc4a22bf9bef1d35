"""Reading YAML safely, with one-line errors that name the source and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nascli.errors import ConfigError


def load_yaml_text(text: str, source: str) -> Any:
    """``yaml.safe_load`` with a one-line error naming the source and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}") from None


def read_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file, turning OS and parse errors into ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return load_yaml_text(text, str(path))
