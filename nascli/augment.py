"""Seeded training-style views of real images, as the proxies' authors feed their networks.

Gradient proxies score a network on the first N batches of a shuffled *training* loader.
ZiCo's released search (SLDGroup/ZiCo ``evolution_search.py`` + ``datasets/
get_dataset_with_transform.py``) draws ImageNet views with ``RandomResizedCrop(R)`` and a
horizontal flip, and CIFAR views with a horizontal flip and ``RandomCrop(32, padding=4)``.
Each batch therefore holds different pixels even when a small image set is drawn twice, and
ZiCo's per-element standard deviation across batches measures how gradients vary between
views — without augmentation, two batches of the same 64 images give identical gradients
and the score degenerates.

This module reproduces those two transforms on uint8 arrays with torch tensor operations
(no torchvision): crop boxes follow torchvision's sampling rule (10 tries of a random area
in ``scale`` and log-uniform aspect ratio in ``ratio``, then a centre crop clamped to the
ratio range), resizing is bilinear with antialiasing when shrinking, flips have p = 0.5.
Images whose shorter side is at most ``SMALL_IMAGE_SIDE`` pixels are treated as CIFAR-like
(pad-and-crop); larger ones as ImageNet-like (random-resized crop).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

SMALL_IMAGE_SIDE = 64  # CIFAR (32 px), ImageNet16/32/64 are padded and cropped, not resized
CROP_PADDING = 4  # torchvision RandomCrop(32, padding=4), as NB201 and ZiCo train CIFAR
CROP_SCALE = (0.08, 1.0)  # torchvision RandomResizedCrop defaults (ZiCo's imagenet-1k loader)
CROP_RATIO = (3 / 4, 4 / 3)
CROP_TRIES = 10


def random_resized_box(
    height: int,
    width: int,
    rng: np.random.Generator,
    scale: tuple[float, float] = CROP_SCALE,
    ratio: tuple[float, float] = CROP_RATIO,
) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of a crop covering ``scale`` of the area (torchvision's rule)."""
    area = height * width
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(CROP_TRIES):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_low, log_high))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    # Fallback: the whole image, clamped to the allowed aspect ratios, centred.
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        h, w = height, round(height * ratio[1])
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


def padded_crop_offsets(rng: np.random.Generator, padding: int = CROP_PADDING) -> tuple[int, int]:
    """Top/left offsets of a same-size crop from an image zero-padded by ``padding``."""
    return int(rng.integers(0, 2 * padding + 1)), int(rng.integers(0, 2 * padding + 1))


def _resize(image: torch.Tensor, resolution: int) -> torch.Tensor:
    """CHW float → CHW at ``resolution`` (bilinear, antialiased when shrinking)."""
    import torch.nn.functional as F

    if tuple(image.shape[-2:]) == (resolution, resolution):
        return image
    shrink = min(image.shape[-2:]) > resolution
    return F.interpolate(
        image.unsqueeze(0), size=(resolution, resolution), mode="bilinear",
        align_corners=False, antialias=shrink,
    )[0]  # fmt: skip


def augmented_view(image: torch.Tensor, resolution: int, rng: np.random.Generator) -> torch.Tensor:
    """One training view of a CHW float image in [0, 1], at ``resolution``."""
    import torch.nn.functional as F

    height, width = int(image.shape[-2]), int(image.shape[-1])
    if min(height, width) <= SMALL_IMAGE_SIDE:
        padded = F.pad(image, (CROP_PADDING,) * 4)
        top, left = padded_crop_offsets(rng)
        view = _resize(padded[:, top : top + height, left : left + width], resolution)
    else:
        top, left, h, w = random_resized_box(height, width, rng)
        view = _resize(image[:, top : top + h, left : left + w], resolution)
    if rng.random() < 0.5:
        view = view.flip(-1)
    return view


def augmented_batch(images: np.ndarray, resolution: int, rng: np.random.Generator) -> torch.Tensor:
    """uint8 NHWC images → float NCHW views in [0, 1] at ``resolution`` (one draw each)."""
    import torch

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    return torch.stack([augmented_view(image, resolution, rng) for image in x])
