"""Input batches for zero-shot proxies: Gaussian noise, ``.npz`` arrays, image folders.

Proxies look at a network's response to a few batches, so this module only has to make
those batches reproducible and shaped like what the network will see:

* **Gaussian** (no ``--data``): ``x ~ N(0, 1)`` of shape ``(B, 3, R, R)`` and random labels
  in ``[0, num_classes)``, both from a seeded ``torch.Generator``. The noise is already
  zero-mean, unit-variance, so it is not normalised again.
* **``.npz``**: an array ``x`` of uint8 images ``(N, H, W, 3)`` and, optionally, integer
  labels ``y`` of shape ``(N,)``. Without ``y`` the data is *unlabelled*: proxies that need
  labels refuse it (``nascli.proxies.runner``), the others get placeholder random labels.
* **Image folder**: class sub-folders of images (labels = sorted sub-folder order), or
  images directly in the folder (unlabelled). Read with Pillow, converted to RGB.
* **A data set by name** (``cifar10``, ``cifar100``, ``svhn``, ``imagenet:PATH``): a seeded,
  class-balanced subset of exactly ``batch_size × n_batches`` images read from the official
  archive (``nascli.datasets``), so every image appears once.

Real images are resized to the requested resolution with bilinear interpolation
(``antialias=True`` when shrinking, which is what a PIL resize does), scaled to [0, 1]
and normalised with the ImageNet mean/std (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225),
the statistics every ImageNet- and CIFAR-trained zero-shot proxy code base uses for
3-channel input.

Batches are drawn without replacement from a seeded permutation of the images; when
``batch_size × n_batches`` exceeds the data set, a fresh permutation continues the draw.
With ``augment=True`` every drawn image becomes a seeded training view (random-resized crop
+ flip, or pad-4 crop + flip for 32-px images; ``nascli.augment``), as the proxies' authors
draw batches from a training loader. Without augmentation, two batches holding the same set
of images (two batches of 64 from 64 images) would give gradient proxies identical
gradients; ``load_data`` refuses that draw with a message instead of scoring it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nascli.augment import augmented_batch
from nascli.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

Batch = tuple["torch.Tensor", "torch.Tensor"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


@dataclass(frozen=True)
class BatchSet:
    """Batches plus what the runner must know about where they came from."""

    batches: list[Batch]
    source: str  # "gaussian", "npz", "folder" or "archive" (a data set by name)
    labelled: bool  # real labels (False for Gaussian random labels and unlabelled data)
    description: str

    @property
    def is_real(self) -> bool:
        return self.source != "gaussian"


def _check_sizes(batch_size: int, n_batches: int, resolution: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    if n_batches < 1:
        raise ConfigError(f"--batches must be at least 1, got {n_batches}")
    if resolution < 1:
        raise ConfigError(f"--resolution must be at least 1, got {resolution}")


def gaussian_batches(
    *, num_classes: int, resolution: int, batch_size: int, n_batches: int, seed: int
) -> list[Batch]:
    """Seeded N(0, 1) images with random labels (the default proxy input)."""
    import torch

    _check_sizes(batch_size, n_batches, resolution)
    generator = torch.Generator().manual_seed(seed)
    out: list[Batch] = []
    for _ in range(n_batches):
        x = torch.randn(batch_size, 3, resolution, resolution, generator=generator)
        y = torch.randint(0, num_classes, (batch_size,), generator=generator, dtype=torch.int64)
        out.append((x, y))
    return out


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import numpy as np

    if path.stat().st_size == 0:
        raise ConfigError(f"{path}: empty file (expected an .npz with arrays 'x' and 'y')")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if "x" not in names:
                found = ", ".join(sorted(names)) or "no arrays"
                raise ConfigError(f"{path}: no array 'x' (found: {found})")
            x = archive["x"]
            y = archive["y"] if "y" in names else None
    except ConfigError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ConfigError(f"{path}: not a readable .npz file ({exc})") from None
    if x.dtype != np.uint8:
        raise ConfigError(f"{path}: 'x' must be uint8 images, got dtype {x.dtype}")
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ConfigError(f"{path}: 'x' must have shape (N, H, W, 3), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ConfigError(f"{path}: 'x' holds no images")
    if y is not None:
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise ConfigError(
                f"{path}: 'y' must have shape ({x.shape[0]},) to match 'x', got {tuple(y.shape)}"
            )
        if not np.issubdtype(y.dtype, np.integer):
            raise ConfigError(f"{path}: 'y' must hold integer labels, got dtype {y.dtype}")
    return x, y


def _load_folder(path: Path, resolution: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Images of class sub-folders (labelled) or of the folder itself (unlabelled)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    def images_in(folder: Path) -> list[Path]:
        return sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )

    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[tuple[Path, int]] = []
    if classes:
        for label, folder in enumerate(classes):
            files.extend((f, label) for f in images_in(folder))
    else:
        files = [(f, -1) for f in images_in(path)]
    if not files:
        raise ConfigError(
            f"{path}: no images found (expected class sub-folders of {'/'.join(IMAGE_SUFFIXES)})"
        )
    arrays = []
    for file, _ in files:
        try:
            with Image.open(file) as image:
                # PIL's bilinear resize antialiases when shrinking, like the torch path.
                rgb = image.convert("RGB").resize(
                    (resolution, resolution), Image.Resampling.BILINEAR
                )
                arrays.append(np.asarray(rgb, dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as exc:
            raise ConfigError(f"{file}: cannot read image ({exc})") from None
    x = np.stack(arrays)
    y = np.array([label for _, label in files], dtype=np.int64) if classes else None
    return x, y


def _draw_indices(n_items: int, total: int, seed: int) -> list[int]:
    """``total`` indices from successive seeded permutations of ``range(n_items)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out: list[int] = []
    while len(out) < total:
        out.extend(int(i) for i in rng.permutation(n_items)[: total - len(out)])
    return out


def _to_tensor(images: np.ndarray, resolution: int) -> torch.Tensor:
    """uint8 NHWC → normalised float NCHW at ``resolution``."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-2:] != (resolution, resolution):
        shrink = min(x.shape[-2:]) > resolution
        x = F.interpolate(
            x, size=(resolution, resolution), mode="bilinear", align_corners=False,
            antialias=shrink,
        )  # fmt: skip
    return _normalise(x)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    """Float NCHW in [0, 1] → ImageNet-normalised."""
    import torch

    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def _refuse_identical_batches(indices: list[int], batch_size: int, n_batches: int) -> None:
    """Without augmentation, two batches of the same images give identical gradients."""
    seen: dict[tuple[int, ...], int] = {}
    for b in range(n_batches):
        key = tuple(sorted(indices[b * batch_size : (b + 1) * batch_size]))
        if key in seen:
            raise ConfigError(
                f"batches {seen[key] + 1} and {b + 1} would hold the same {batch_size} images "
                "without augmentation (gradient proxies would see identical batches): use "
                "--augment, more images, or a smaller --batch-size"
            )
        seen[key] = b


def load_data(
    path: Path | str | None,
    *,
    num_classes: int,
    resolution: int,
    batch_size: int = 64,
    n_batches: int = 2,
    seed: int = 0,
    augment: bool = False,
) -> BatchSet:
    """Batches from ``path`` (``.npz``, image folder or a data set by name such as
    ``cifar10``; ``nascli.datasets``) or Gaussian noise when ``None``.

    ``augment`` draws a seeded training view of every real image (ignored for Gaussian
    input, which differs between batches by construction).
    """
    import numpy as np
    import torch

    _check_sizes(batch_size, n_batches, resolution)
    if path is None:
        batches = gaussian_batches(
            num_classes=num_classes, resolution=resolution, batch_size=batch_size,
            n_batches=n_batches, seed=seed,
        )  # fmt: skip
        return BatchSet(batches, "gaussian", False, "Gaussian N(0,1), random labels")
    from nascli.datasets import load_subset, parse_data_spec

    spec = parse_data_spec(path)
    named_description = None
    if spec.kind != "path":
        subset = load_subset(
            spec, n=batch_size * n_batches, seed=seed, resolution=resolution,
            num_classes=num_classes,
        )  # fmt: skip
        x, y, source = subset.x, subset.y, "archive"
        named_description = subset.description
        path = spec.text
    else:
        assert spec.path is not None
        path = spec.path
        if not path.exists():
            raise ConfigError(f"no such data file or folder: {path}")
        if path.is_dir():
            x, y = _load_folder(path, resolution)
            source = "folder"
        elif path.suffix.lower() == ".npz":
            x, y = _load_npz(path)
            source = "npz"
        else:
            raise ConfigError(
                f"{path}: unsupported data (give an .npz file, an image folder or a data set "
                "name: cifar10, cifar100, svhn, imagenet:PATH)"
            )
    if y is not None and len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ConfigError(
            f"{path}: labels span [{int(y.min())}, {int(y.max())}] but the network has "
            f"{num_classes} classes"
        )
    indices = _draw_indices(len(x), batch_size * n_batches, seed)
    if not augment:
        _refuse_identical_batches(indices, batch_size, n_batches)
    views = np.random.default_rng([seed, 1])
    placeholder = torch.Generator().manual_seed(seed)
    batches: list[Batch] = []
    for b in range(n_batches):
        chosen = np.asarray(indices[b * batch_size : (b + 1) * batch_size])
        if augment:
            xb = _normalise(augmented_batch(x[chosen], resolution, views))
        else:
            xb = _to_tensor(x[chosen], resolution)
        if y is not None:
            yb = torch.from_numpy(y[chosen].astype(np.int64))
        else:
            yb = torch.randint(0, num_classes, (batch_size,), generator=placeholder)
        batches.append((xb, yb))
    labelled = y is not None
    views_note = ", augmented views" if augment else ""
    if named_description is not None:
        description = f"{named_description}{views_note}"
    else:
        description = (
            f"{path} ({len(x)} images, {'labelled' if labelled else 'unlabelled'}{views_note})"
        )
    return BatchSet(batches, source, labelled, description)


def load_batches(
    path: Path | str | None,
    *,
    num_classes: int,
    resolution: int,
    batch_size: int = 64,
    n_batches: int = 2,
    seed: int = 0,
    augment: bool = False,
) -> list[Batch]:
    """``load_data(...).batches``: the list of ``(x, y)`` a proxy's ``score`` takes."""
    return load_data(
        path, num_classes=num_classes, resolution=resolution, batch_size=batch_size,
        n_batches=n_batches, seed=seed, augment=augment,
    ).batches  # fmt: skip
