"""Readers of the official archive formats, feeding a ``BalancedPicker`` record by record.

Nothing is extracted to disk and nothing is unpickled: a CIFAR ``.tar.gz`` is streamed
(``tarfile`` mode ``r|gz``), only the regular-file members the split names are read, and
each must be a whole number of fixed-size records; SVHN's ``.mat`` is read with
``scipy.io.loadmat`` (MATLAB v5 arrays only).
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from nascli.datasets.catalog import CIFAR_SIDE, NamedDataset
from nascli.datasets.subset import BalancedPicker
from nascli.errors import ConfigError

MAX_RECORDS_PER_MEMBER = 60_000  # the largest official member holds 50,000 (CIFAR-100 train)


def cifar_images(records: np.ndarray, dataset: NamedDataset) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of an (N, record_bytes) uint8 array: NHWC images and the class labels."""
    labels = records[:, dataset.label_offset].astype(np.int64)
    planes = records[:, dataset.label_bytes :].reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels


def pick_from_cifar(path: Path, dataset: NamedDataset, split: str, picker: BalancedPicker) -> None:
    """Stream the split's members of a CIFAR binary ``.tar.gz`` through ``picker``."""
    wanted = dataset.members[split]
    found: set[str] = set()
    record = dataset.record_bytes
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                if member.name not in wanted or member.name in found:
                    continue
                if not member.isreg():
                    raise ConfigError(f"{path}: member {member.name} is not a regular file")
                if member.size == 0 or member.size % record:
                    raise ConfigError(
                        f"{path}: member {member.name} holds {member.size} bytes, not a whole "
                        f"number of {record}-byte records"
                    )
                if member.size // record > MAX_RECORDS_PER_MEMBER:
                    raise ConfigError(f"{path}: member {member.name} is too large")
                handle = archive.extractfile(member)
                if handle is None:
                    raise ConfigError(f"{path}: cannot read member {member.name}")
                data = handle.read(member.size)
                if len(data) != member.size:
                    raise ConfigError(f"{path}: member {member.name} is truncated")
                records = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
                x, y = cifar_images(records, dataset)
                try:
                    picker.offer(y, x)
                except ConfigError as exc:
                    raise ConfigError(f"{path}: member {member.name}: {exc}") from None
                found.add(member.name)
    except ConfigError:
        raise
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise ConfigError(f"{path}: not a readable {dataset.name} binary archive ({exc})") from None
    missing = [m for m in wanted if m not in found]
    if missing:
        raise ConfigError(
            f"{path}: not the {dataset.name} binary archive (no member {', '.join(missing)})"
        )


def read_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of an SVHN ``*_32x32.mat``: NHWC uint8 images, labels 0–9 (10 → 0)."""
    from scipy.io import loadmat

    try:
        content = loadmat(str(path), variable_names=["X", "y"])
    except (ValueError, OSError, NotImplementedError, TypeError, zlib.error) as exc:
        raise ConfigError(f"{path}: not a readable SVHN .mat file ({exc})") from None
    if "X" not in content or "y" not in content:
        raise ConfigError(f"{path}: not an SVHN .mat file (no arrays 'X' and 'y')")
    images, labels = np.asarray(content["X"]), np.asarray(content["y"])
    if images.ndim != 4 or images.shape[:3] != (CIFAR_SIDE, CIFAR_SIDE, 3):
        raise ConfigError(f"{path}: 'X' must have shape (32, 32, 3, N), got {images.shape}")
    if images.dtype != np.uint8:
        raise ConfigError(f"{path}: 'X' must be uint8, got {images.dtype}")
    labels = labels.reshape(-1)
    if labels.shape[0] != images.shape[3]:
        raise ConfigError(
            f"{path}: 'y' holds {labels.shape[0]} labels for {images.shape[3]} images"
        )
    if labels.size and (not np.all(np.isfinite(labels)) or labels.min() < 1 or labels.max() > 10):
        raise ConfigError(f"{path}: SVHN labels must be digits 1–10 (10 stands for 0)")
    y = labels.astype(np.int64) % 10
    return np.ascontiguousarray(images.transpose(3, 0, 1, 2)), y


def pick_from_svhn(path: Path, picker: BalancedPicker) -> None:
    x, y = read_svhn(path)
    picker.offer(y, x)
