"""Proxy data by name: ``cifar10``, ``cifar100``, ``svhn``, ``imagenet:PATH``, ``folder:PATH``.

``--data`` takes one of these or a path (an ``.npz`` or an image folder, read by
``nascli.data`` as before):

* ``cifar10``, ``cifar100``, ``svhn`` (``:train``, the default, or ``:test``): the official
  archive in the user data folder's ``datasets/`` (fetched from the publisher when missing
  and reachable; ``nascli.datasets.fetch``);
* ``imagenet:PATH``: class sub-folders under ``PATH`` (or ``PATH/train``), of which only the
  chosen images are decoded;
* ``folder:PATH``: any image folder, the same as giving ``PATH`` (a way to name a folder
  called ``cifar10``).

A named data set gives the proxies a seeded, class-balanced subset of exactly
``batch_size × batches`` images (``nascli.datasets.subset``), cached under
``datasets/subsets/``; the next run with the same size and seed reads only that file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nascli.datasets.catalog import DATASETS, SPLITS, named_dataset
from nascli.errors import ConfigError, suggest

if TYPE_CHECKING:
    import numpy as np

IMAGENET_SIDE = 224  # decoded ImageNet images are at least this large (crops need room)
FORMS = "cifar10 | cifar100 | svhn[:train|:test] | imagenet:PATH | folder:PATH | FILE.npz"


@dataclass(frozen=True)
class DataSpec:
    """What ``--data`` names: a catalog data set, an ImageNet-style folder, or a path."""

    kind: str  # "named", "imagenet" or "path"
    text: str
    name: str = ""
    split: str = "train"
    path: Path | None = None


def parse_data_spec(text: str | Path) -> DataSpec:
    """Read ``--data``; only syntax and names are checked here (no file is opened)."""
    if isinstance(text, Path):
        return DataSpec("path", str(text), path=text)
    raw = text.strip()
    if not raw:
        raise ConfigError(f"--data is empty; give {FORMS}")
    head, sep, tail = raw.partition(":")
    key = head.lower()
    if key in DATASETS:
        split = tail.strip().lower() if sep else "train"
        if split not in SPLITS:
            raise ConfigError(f"--data {raw}: split must be one of {', '.join(SPLITS)}")
        return DataSpec("named", raw, name=key, split=split)
    if sep and key in ("imagenet", "folder"):
        if not tail.strip():
            raise ConfigError(f"--data {raw}: give a folder after '{head}:'")
        kind = "imagenet" if key == "imagenet" else "path"
        return DataSpec(kind, raw, path=Path(tail.strip()).expanduser())
    path = Path(raw).expanduser()
    if not path.exists() and not sep and path.suffix == "" and len(path.parts) == 1:
        raise ConfigError(
            f"--data {raw}: no such file or folder, and not a data set name"
            f"{suggest(key, list(DATASETS))}; give {FORMS}"
        )
    return DataSpec("path", raw, path=path)


def check_data_spec(text: str | Path) -> DataSpec:
    """Parse ``--data`` and check that a named folder or file exists (archives are found,
    or fetched, when the batches are loaded)."""
    spec = parse_data_spec(text)
    if spec.path is not None and not spec.path.exists():
        raise ConfigError(f"--data {spec.text}: no such file or folder")
    if spec.kind == "imagenet" and spec.path is not None and not spec.path.is_dir():
        raise ConfigError(f"--data {spec.text}: not a folder")
    return spec


@dataclass(frozen=True)
class Subset:
    """Images chosen for the proxies and where they came from."""

    x: np.ndarray  # uint8 (N, H, W, 3)
    y: np.ndarray  # int64 (N,)
    description: str


def _tag(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:10]


def source_tag(spec: DataSpec) -> str:
    """Identity of the data a named spec reads (for cache keys): the archive's size and
    time, or the ImageNet folder's resolved path and time."""
    if spec.kind == "named":
        from nascli.datasets.fetch import datasets_dir

        archive = datasets_dir() / named_dataset(spec.name).file(spec.split).name
        try:
            stat = archive.stat()
        except OSError:
            return _tag(spec.name, spec.split, "absent")
        return _tag(spec.name, spec.split, stat.st_size, stat.st_mtime_ns)
    if spec.kind == "imagenet" and spec.path is not None:
        root = spec.path.resolve()
        try:
            mtime = root.stat().st_mtime_ns
        except OSError:
            mtime = 0
        return _tag("imagenet", root, mtime)
    raise ValueError(f"{spec.text} is a path, not a named data set")


def data_classes(spec: DataSpec) -> int:
    """How many classes a named data set has (class folders for ``imagenet:PATH``)."""
    if spec.kind == "named":
        return named_dataset(spec.name).num_classes
    from nascli.datasets.imagefolder import class_folders, class_root

    assert spec.path is not None
    return len(class_folders(class_root(spec.path)))


def load_subset(spec: DataSpec, *, n: int, seed: int, resolution: int, num_classes: int) -> Subset:
    """The seeded, class-balanced ``n`` images of a named data set (cached).

    A data set with more classes than the network's ``num_classes`` outputs is refused
    before anything is read (its labels would not fit the classifier).
    """
    from nascli.datasets.fetch import datasets_dir
    from nascli.datasets.subset import BalancedPicker, read_cached, write_cached

    classes = data_classes(spec)
    if classes > num_classes:
        raise ConfigError(
            f"--data {spec.text}: {classes} classes, but the network has {num_classes} outputs"
        )
    side = max(resolution, IMAGENET_SIDE)
    if spec.kind == "named":
        label = f"{spec.name} {spec.split}"
        cache = (
            datasets_dir()
            / "subsets"
            / f"{spec.name}-{spec.split}-{n}-s{seed}-{source_tag(spec)}.npz"
        )
    else:
        label = f"imagenet:{spec.path}"
        cache = datasets_dir() / "subsets" / f"imagenet-{n}-s{seed}-{side}px-{source_tag(spec)}.npz"
    cached = read_cached(cache)
    if cached is None:
        if spec.kind == "named":
            from nascli.datasets.fetch import locate_archive
            from nascli.datasets.readers import pick_from_cifar, pick_from_svhn

            dataset = named_dataset(spec.name)
            archive = locate_archive(spec.name, dataset.file(spec.split))
            picker = BalancedPicker(n, dataset.num_classes, seed)
            if dataset.kind == "cifar-binary":
                pick_from_cifar(archive, dataset, spec.split, picker)
            else:
                pick_from_svhn(archive, picker)
            try:
                x, y = picker.result()
            except ConfigError as exc:
                raise ConfigError(f"{archive}: {exc}") from None
            total = picker.seen
        else:
            from nascli.datasets.imagefolder import folder_subset

            assert spec.path is not None
            x, y, total = folder_subset(spec.path, n, seed, side)
        write_cached(cache, x, y, total)
    else:
        x, y, total = cached
    description = (
        f"{label} ({len(x)} of {total} images, class-balanced, seed {seed}; cache {cache})"
    )
    return Subset(x, y, description)
