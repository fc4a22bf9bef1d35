"""Where nascli finds its shipped configs and tables.

An editable install (the README's) reads them from the repository; ``NASCLI_HOME``
points elsewhere (a copy of ``configs/`` and ``latency_tables/``) for other layouts.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    env = os.environ.get("NASCLI_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    return project_root() / "configs"


def latency_tables_dir() -> Path:
    return project_root() / "latency_tables"
