"""Find a data set's archive in the user data folder, or fetch it from its publisher.

Archives live in ``<user data folder>/datasets/`` (``$NASCLI_HOME/datasets`` when set).
A missing one is downloaded from the publisher's address with a short timeout, checked
against the publisher's MD5 and moved into place atomically; a machine that cannot reach
the address (or runs with ``NASCLI_OFFLINE=1``) gets one line naming the file to place and
the folder to place it in.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from nascli.datasets.catalog import ArchiveFile
from nascli.errors import ConfigError, JobError

TIMEOUT_S = 15.0  # per socket operation: a machine without internet fails fast
CHUNK = 1 << 20


def datasets_dir() -> Path:
    """``<user data folder>/datasets``: where archives are placed and subsets cached."""
    from nascli.paths import user_dir

    return user_dir() / "datasets"


def offline() -> bool:
    return os.environ.get("NASCLI_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def locate_archive(dataset: str, file: ArchiveFile) -> Path:
    """The archive's path in the data folder, fetched first when missing and reachable."""
    folder = datasets_dir()
    path = folder / file.name
    if path.is_file():
        return path
    place = f"download {file.url} (md5 {file.md5}) and place it in {folder}"
    if offline():
        raise ConfigError(f"{dataset}: {file.name} not found (NASCLI_OFFLINE is set); {place}")
    print(f"fetching {file.url} into {folder}", file=sys.stderr)
    try:
        download(file.url, path, file.md5)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(
            f"{dataset}: {file.name} not found and not fetched ({reason}); {place}"
        ) from None
    return path


def download(url: str, path: Path, md5: str, timeout: float = TIMEOUT_S) -> None:
    """Stream ``url`` to ``path`` through a temporary file; refuse a wrong MD5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5.lower():
            raise JobError(
                f"{url}: downloaded file has md5 {digest.hexdigest()}, the publisher gives {md5}"
            )
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
