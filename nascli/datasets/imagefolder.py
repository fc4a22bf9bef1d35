"""ImageNet-style class folders: a balanced subset decoded with Pillow, nothing else opened.

``imagenet:PATH`` names a folder of class sub-folders (``PATH/train/`` is used when it
exists, as in the ImageNet training layout), one sub-folder per class, labels in sorted
folder order (for ImageNet's ``n01440764`` … folders that is the standard class index).
Only file names are listed; the ``n`` images of the seeded class-balanced pick are the
only ones decoded. Each is resized so its shorter side is ``side`` pixels (bilinear,
antialiased when shrinking) and centre-cropped to ``side × side``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nascli.datasets.subset import BalancedPicker
from nascli.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def class_root(path: Path) -> Path:
    """``PATH/train`` when it holds class folders, else ``PATH``."""
    if not path.is_dir():
        raise ConfigError(f"imagenet:{path}: no such folder")
    train = path / "train"
    return train if train.is_dir() else path


def class_folders(root: Path) -> list[Path]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(f"{root}: no class sub-folders (expected one folder per class)")
    return folders


def list_images(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted(
            e.name
            for e in entries
            if e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES
        )


def pick_images(root: Path, n: int, seed: int) -> tuple[list[Path], np.ndarray, int]:
    """The ``n`` chosen files, their labels and the number of images listed."""
    folders = class_folders(root)
    files: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(folders):
        names = list_images(folder)
        files.extend(folder / name for name in names)
        labels.extend([label] * len(names))
    if not files:
        raise ConfigError(f"{root}: the class folders hold no images")
    picker = BalancedPicker(n, len(folders), seed)
    picker.offer(np.asarray(labels), np.arange(len(files)))
    chosen, picked = picker.result()
    return [files[int(i)] for i in chosen], picked, len(files)


def decode(file: Path, side: int) -> np.ndarray:
    """RGB uint8 ``side × side``: shorter side resized to ``side``, then centre-cropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            rgb = image.convert("RGB")
            width, height = rgb.size
            scale = side / min(width, height)
            size = (max(side, round(width * scale)), max(side, round(height * scale)))
            rgb = rgb.resize(size, Image.Resampling.BILINEAR)
            left, top = (size[0] - side) // 2, (size[1] - side) // 2
            rgb = rgb.crop((left, top, left + side, top + side))
            return np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ConfigError(f"{file}: cannot read image ({exc})") from None


def folder_subset(path: Path, n: int, seed: int, side: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(x, y, listed)``: ``n`` decoded images of the class folders under ``path`` and the
    number of images they were chosen from."""
    files, labels, listed = pick_images(class_root(path), n, seed)
    return np.stack([decode(f, side) for f in files]), labels, listed
