"""A persistent cache of proxy outcomes keyed by (proxy + settings, canonical arch).

Scoring thousands of cells is the slow part of ``nascli proxies bench``; this cache lets a
rerun with one more proxy compute only that proxy. The settings key holds everything that
changes a score: the proxy name and options, a fingerprint of the data (file contents,
not its name), batch size, number of batches, resolution, seed and the nascli version.
It is a SQLite file (one row per outcome, committed in transactions), so an interrupted
run keeps what it finished and a crash never leaves a half-written file. Failures are
cached too: a degenerate network fails the same way every time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError

CACHE_FILE = "proxy-scores.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    settings TEXT NOT NULL,
    arch TEXT NOT NULL,
    score REAL,
    seconds REAL NOT NULL,
    error TEXT,
    PRIMARY KEY (settings, arch)
)
"""


def data_fingerprint(path: Path | str | None) -> str:
    """``gaussian``, a named data set's archive identity, or a SHA-256 of the file / of the
    folder's file names, sizes and times."""
    if path is None:
        return "gaussian"
    from nascli.datasets import parse_data_spec, source_tag

    spec = parse_data_spec(path)
    if spec.kind != "path":  # a data set by name: its archive (or folder) identifies it
        return f"{spec.name or spec.kind}:{spec.split}:{source_tag(spec)}"
    assert spec.path is not None
    path = spec.path
    digest = hashlib.sha256()
    try:
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file():
                    stat = item.stat()
                    rel = item.relative_to(path).as_posix()
                    digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        else:
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()[:16]


def settings_key(proxy: str, options: Mapping[str, Any], **settings: Any) -> str:
    """A stable string of the proxy name, its options and the scoring settings."""
    from nascli import __version__

    payload = {"proxy": proxy, "options": dict(options), "nascli": __version__, **settings}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


class ScoreCache:
    """Outcomes of proxies on architectures, in ``DIR/proxy-scores.sqlite``."""

    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot use cache {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(
        self, settings: str, archs: Iterable[str]
    ) -> dict[str, tuple[float | None, float, str | None]]:
        """``{arch: (score, seconds, error)}`` for the archs cached under ``settings``."""
        wanted = set(archs)
        rows = self._db.execute(
            "SELECT arch, score, seconds, error FROM outcomes WHERE settings = ?", (settings,)
        )
        return {arch: (score, sec, err) for arch, score, sec, err in rows if arch in wanted}

    def put_many(self, rows: Iterable[tuple[str, str, float | None, float, str | None]]) -> None:
        """Store ``(settings, arch, score, seconds, error)`` rows in one transaction."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)", list(rows)
            )

    def count(self, settings: str | None = None) -> int:
        if settings is None:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outcomes").fetchone()
        else:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM outcomes WHERE settings = ?", (settings,)
            ).fetchone()
        return int(n)

    def proxies(self) -> dict[str, int]:
        """How many outcomes each proxy name has (for tests and ``--json`` reports)."""
        counts: dict[str, int] = {}
        for settings, n in self._db.execute(
            "SELECT settings, COUNT(*) FROM outcomes GROUP BY settings"
        ):
            name = json.loads(settings)["proxy"]
            counts[name] = counts.get(name, 0) + int(n)
        return counts
