"""Where nascli finds spaces, devices, architectures, searches and latency tables.

Three roots share one layout (``configs/{spaces,devices,archs,searches}/*.yaml`` and
``latency_tables/<device>/<space>-<resolution>.json``) and are searched in this order, the
first file of a name winning:

1. the working directory (a project's own ``configs/`` and ``latency_tables/``);
2. the user folder: ``$NASCLI_HOME`` when set, else ``platformdirs.user_data_dir("nascli")``
   (``~/.local/share/nascli`` on Linux), where ``nascli profile`` writes new tables;
3. the files shipped inside the package, read through ``importlib.resources``.

In a source checkout ``nascli/configs`` and ``nascli/latency_tables`` are links to the
top-level folders, so an editable install and a wheel read the same files the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

CONFIGS = "configs"
TABLES = "latency_tables"
CONFIG_KINDS = ("spaces", "devices", "archs", "searches")


@dataclass(frozen=True)
class Root:
    """One place configs and tables are read from, with the label listings show."""

    label: str  # "cwd", "user" or "shipped"
    path: Path

    @property
    def configs(self) -> Path:
        return self.path / CONFIGS

    @property
    def tables(self) -> Path:
        return self.path / TABLES


def shipped_root() -> Path:
    """The package folder holding ``configs/`` and ``latency_tables/`` (package data)."""
    root = resources.files("nascli")
    if not isinstance(root, Path):  # a zip import: nascli is installed from wheels, unzipped
        raise RuntimeError("nascli must be installed as files, not imported from a zip")
    return root


def user_dir() -> Path:
    """``$NASCLI_HOME``, else the platform's user data folder for nascli."""
    env = os.environ.get("NASCLI_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nascli", appauthor=False))


def roots() -> list[Root]:
    """Every root in search order (working directory, user folder, shipped), no repeats."""
    out: list[Root] = []
    seen: set[Path] = set()
    for label, path in (("cwd", Path.cwd()), ("user", user_dir()), ("shipped", shipped_root())):
        key = _real(path)
        if key in seen:
            continue
        seen.add(key)
        out.append(Root(label, path))
    return out


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def config_files(kind: str) -> dict[str, Path]:
    """``name -> file`` of one kind (``spaces``, ``devices``, ``archs``, ``searches``).

    A name defined in several roots resolves to the first root's file; the same file seen
    through two roots (the repository's folders are also the shipped ones) counts once.
    """
    found: dict[str, Path] = {}
    for root in roots():
        folder = root.configs / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def config_origin(path: Path) -> str:
    """The label of the root a config or table file comes from (for listings)."""
    real = _real(path)
    for root in roots():
        for folder in (root.configs, root.tables):
            if folder.is_dir() and real.is_relative_to(_real(folder)):
                return root.label
    return "path"


def table_files() -> list[Path]:
    """Every ``latency_tables/<device>/<name>.json`` in search order, first of a name only."""
    found: dict[tuple[str, str], Path] = {}
    for root in roots():
        if not root.tables.is_dir():
            continue
        for path in sorted(root.tables.glob("*/*.json")):
            found.setdefault((path.parent.name, path.name), path)
    return sorted(found.values(), key=lambda p: (p.parent.name, p.name))


def table_devices() -> set[str]:
    """Names of the folders of ``latency_tables/`` that hold tables (not device priors)."""
    return {p.parent.name for p in table_files()} - {"priors"}


def find_table(device: str, space: str, resolution: int) -> Path | None:
    """The first ``<device>/<space>-<resolution>.json`` in the search order, or None."""
    relative = Path(device) / f"{space}-{resolution}.json"
    for root in roots():
        candidate = root.tables / relative
        if candidate.is_file():
            return candidate
    return None


def user_table_path(device: str, space: str, resolution: int) -> Path:
    """Where ``nascli profile`` writes a new table by default (never inside the package)."""
    return user_dir() / TABLES / device / f"{space}-{resolution}.json"


def search_order_text() -> str:
    """One line naming the folders searched, for error messages and ``--help``."""
    return "; ".join(f"{r.label}: {r.path}" for r in roots())


# ---------------------------------------------------------------- shipped folders only
def latency_tables_dir() -> Path:
    """The tables the package ships (latency priors live there too)."""
    return shipped_root() / TABLES
