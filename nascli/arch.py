"""``Arch``: the one architecture value used everywhere.

An ``Arch`` is a space name plus the space's canonical encoding of the architecture.
Equal strings mean equal architectures, so ``canonical`` is the identity used by caches,
latency tables and Optuna studies. The value is frozen and hashable; turning it into a
network, a cost or YAML goes through its space (``nascli.spaces.get_space``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError


@dataclass(frozen=True, order=True)
class Arch:
    """An architecture of a named space; ``body`` is the space's canonical encoding."""

    space: str
    body: str

    @property
    def canonical(self) -> str:
        return f"{self.space}:{self.body}"

    def __str__(self) -> str:
        return self.canonical

    @classmethod
    def from_canonical(cls, text: str) -> Arch:
        """Parse ``space:body`` and validate it against its space."""
        from nascli.spaces import get_space

        space_name, sep, _ = text.partition(":")
        if not sep:
            raise ConfigError(f"not a canonical architecture string (no 'space:'): {text!r}")
        return get_space(space_name).parse(text[len(space_name) + 1 :])

    def to_dict(self) -> dict[str, Any]:
        from nascli.spaces import get_space

        return get_space(self.space).to_dict(self)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    @classmethod
    def from_dict(cls, data: Any, source: str = "architecture") -> Arch:
        from nascli.spaces import get_space

        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping with a 'space' key")
        space_name = data.get("space")
        if not isinstance(space_name, str):
            raise ConfigError(f"{source}: missing 'space' name")
        return get_space(space_name).from_dict(data, source=source)

    @classmethod
    def from_yaml(cls, text: str, source: str = "architecture") -> Arch:
        return cls.from_dict(load_yaml_text(text, source), source=source)


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


def resolve_arch(ref: str, space: str | None = None) -> Arch:
    """Turn a user's ARCH argument into an ``Arch``.

    Accepted: a YAML file path, the name of a shipped or user net (``zico-600m``: ``nascli
    arch list``), ``nb201:INDEX``, a NAS-Bench-201 string ``|op~0|+...``, or a canonical string
    ``space:body``. ``space`` names the space for a bare string.
    """
    from nascli.paths import config_files
    from nascli.spaces import get_space

    text = ref.strip()
    path = Path(text)
    named = config_files("archs").get(text) if ":" not in text and "/" not in text else None
    if named is not None and not path.is_file():
        path, text = named, str(named)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        arch = Arch.from_dict(read_yaml_file(path), source=str(path))
        if space is not None and arch.space != space:
            raise ConfigError(f"{path}: architecture is of space {arch.space!r}, not {space!r}")
        return arch
    if text.startswith("|"):
        return get_space(space or "nb201").parse(text)
    head, sep, rest = text.partition(":")
    if sep:
        return get_space(head).parse(rest)
    if space is not None:
        return get_space(space).parse(text)
    raise ConfigError(
        f"cannot read architecture {ref!r}: give a YAML file, nb201:INDEX, "
        "an NB201 string or a canonical 'space:...' string"
    )
