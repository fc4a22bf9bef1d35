"""The one loader for every YAML and JSON file nascli reads: bounded, one-line errors.

A file a user names can be hostile or simply wrong: a FIFO or a device named ``*.yaml``
(reading it would block forever or never end), a huge file, a YAML "billion laughs" whose
aliases expand to billions of nodes from a kilobyte of text, or nesting deep enough to
overflow Python's stack. Every reader in nascli goes through this module, which refuses all
of these with a ``ConfigError`` (one line, exit 2) before any memory or time is spent:

- only regular files are read (checked with ``stat`` and again on the descriptor, which is
  opened non-blocking so that a FIFO with no writer cannot hang the open);
- a size cap per format (``YAML_MAX_BYTES``, ``JSON_MAX_BYTES``);
- YAML: nesting depth at most ``MAX_DEPTH`` and the document, with every alias expanded, at
  most ``MAX_EXPANDED_NODES`` nodes (aliases themselves stay allowed: small configs use them);
- JSON: nesting depth at most ``MAX_DEPTH`` (checked on the text, before ``json`` recurses);
  ``NaN``/``Infinity`` are parsed as Python does; the table schema refuses them.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError

__all__ = [
    "JSON_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "YAML_MAX_BYTES",
    "load_json_text",
    "load_yaml_text",
    "read_json_file",
    "read_regular_file",
    "read_text_file",
    "read_yaml_file",
]

#: Spaces, configs, device profiles and architectures are a few KB; 4 MiB is far above any.
YAML_MAX_BYTES = 4 * 1024 * 1024
#: Latency tables are ~150 KB for ~1,000 entries; ORT traces of a long run reach tens of MB.
JSON_MAX_BYTES = 64 * 1024 * 1024
#: Deepest legitimate nesting is a table entry inside metadata (about 5 levels).
MAX_DEPTH = 64
#: A document's node count with every alias expanded (a 4 MiB YAML file has fewer nodes).
MAX_EXPANDED_NODES = 1_000_000


def read_regular_file(path: Path | str, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes`` bytes.

    ``stat`` first, then ``open`` with ``O_NONBLOCK`` and ``fstat`` on the descriptor: the
    path may be swapped between the two, and opening a FIFO without ``O_NONBLOCK`` blocks
    until a writer appears.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"no such file: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    _require_regular(path, info, max_bytes, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        _require_regular(path, os.fstat(fd), max_bytes, what)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:  # the file grew after fstat
                raise ConfigError(f"{path}: {what} larger than {max_bytes:,} bytes; refused")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _require_regular(path: Path, info: os.stat_result, max_bytes: int, what: str) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "special file"
        raise ConfigError(f"{path} is a {kind}, not a regular {what}; refused")
    if info.st_size > max_bytes:
        raise ConfigError(f"{path}: {what} of {info.st_size:,} bytes exceeds {max_bytes:,}")


def read_text_file(path: Path | str, max_bytes: int = YAML_MAX_BYTES, what: str = "file") -> str:
    """``read_regular_file`` decoded as UTF-8 (a decoding error is a one-line ConfigError)."""
    data = read_regular_file(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {path}: not UTF-8 text ({exc.reason})") from None


# ---------------------------------------------------------------------------------- YAML
def _bounded_loader(source: str) -> type:
    """A ``yaml.SafeLoader`` whose composer counts depth and alias-expanded nodes."""
    import yaml
    from yaml.events import AliasEvent

    class BoundedSafeLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0
            self._expanded = 0
            self._weight: dict[int, int] = {}  # id(node) -> its size with aliases expanded

        def _count(self, nodes: int) -> None:
            self._expanded += nodes
            if self._expanded > MAX_EXPANDED_NODES:
                raise ConfigError(
                    f"{source}: YAML expands to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(aliases nested too deep: an alias bomb?); refused"
                )

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                node = super().compose_node(parent, index)
                self._count(self._weight.get(id(node), 1))
                return node
            self._depth += 1
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(
                    f"{source}: YAML nested deeper than {MAX_DEPTH} levels "
                    f"(line {mark.line + 1}); refused"
                )
            before = self._expanded
            node = super().compose_node(parent, index)
            self._depth -= 1
            self._count(1)
            self._weight[id(node)] = self._expanded - before
            return node

    return BoundedSafeLoader


def load_yaml_text(text: str, source: str) -> Any:
    """Safe YAML parse, bounded in depth and alias expansion; one-line errors."""
    import yaml

    if len(text) > YAML_MAX_BYTES:
        raise ConfigError(f"{source}: YAML text longer than {YAML_MAX_BYTES:,} characters")
    loader = None
    try:
        loader = _bounded_loader(source)(text)  # its reader already rejects control characters
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp out of range
        raise ConfigError(f"{source}: unreadable YAML value: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path | str) -> Any:
    """Read (regular files only, size-capped) and parse a YAML file."""
    return load_yaml_text(read_text_file(path, YAML_MAX_BYTES, "YAML file"), str(path))


# ---------------------------------------------------------------------------------- JSON
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (strings removed first), at C speed."""
    import numpy as np

    codes = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8"), dtype=np.uint8)
    steps = np.isin(codes, (91, 123)).astype(np.int64) - np.isin(codes, (93, 125))
    return int(np.cumsum(steps).max(initial=0))


def load_json_text(text: str, source: str) -> Any:
    """``json.loads`` with the depth bound; one-line errors naming the source."""
    if _json_depth(text) > MAX_DEPTH:
        raise ConfigError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels; refused")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON (truncated or corrupt?): {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ConfigError(f"{source}: JSON nested too deep; refused") from None


def read_json_file(path: Path | str, max_bytes: int = JSON_MAX_BYTES) -> Any:
    """Read (regular files only, size-capped) and parse a JSON file."""
    return load_json_text(read_text_file(path, max_bytes, "JSON file"), str(path))
