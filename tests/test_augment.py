"""Training-style views for proxy batches: crop boxes, pad-crops, flips, identical batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.augment import (
    CROP_PADDING,
    augmented_batch,
    augmented_view,
    padded_crop_offsets,
    random_resized_box,
)
from nascli.data import load_data
from nascli.errors import ConfigError


def test_random_resized_box_follows_torchvision_rule() -> None:
    """Areas within [8 %, 100 %] of the image, aspect within [3/4, 4/3] (rounding aside)."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        top, left, h, w = random_resized_box(200, 300, rng)
        assert top >= 0 and top + h <= 200 and left >= 0 and left + w <= 300
        assert 0.08 * 0.9 <= h * w / (200 * 300) <= 1.0
        assert 3 / 4 * 0.9 <= w / h <= 4 / 3 * 1.1


def test_random_resized_box_falls_back_to_a_centred_clamped_crop() -> None:
    """A 1000×10 strip cannot hold any sampled box: the fallback is centred, ratio 3/4."""
    top, left, h, w = random_resized_box(1000, 10, np.random.default_rng(0), scale=(0.9, 1.0))
    assert (h, w) == (round(10 / (3 / 4)), 10)
    assert (top, left) == ((1000 - h) // 2, 0)


def test_pad_crop_keeps_pixels_shifted_by_the_offset() -> None:
    """A 32-px view is the padded image cropped at the drawn offset (hand-derived shift)."""
    image = torch.arange(3 * 32 * 32, dtype=torch.float32).reshape(3, 32, 32) / 3072.0
    seed = 5
    top, left = padded_crop_offsets(np.random.default_rng(seed))
    flip = np.random.default_rng(seed)
    flip.integers(0, 9), flip.integers(0, 9)
    flipped = flip.random() < 0.5
    view = augmented_view(image, 32, np.random.default_rng(seed))
    padded = torch.nn.functional.pad(image, (CROP_PADDING,) * 4)
    expected = padded[:, top : top + 32, left : left + 32]
    if flipped:
        expected = expected.flip(-1)
    assert torch.equal(view, expected)


def test_augmented_batch_shape_range_and_seed() -> None:
    images = np.random.default_rng(1).integers(0, 256, (4, 120, 90, 3), dtype=np.uint8)
    a = augmented_batch(images, 48, np.random.default_rng(3))
    b = augmented_batch(images, 48, np.random.default_rng(3))
    c = augmented_batch(images, 48, np.random.default_rng(4))
    assert a.shape == (4, 3, 48, 48) and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)


def _npz(tmp_path: Path, n: int, side: int) -> Path:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    path = tmp_path / "images.npz"
    np.savez(path, x=x, y=np.arange(n) % 10)
    return path


def test_two_batches_of_the_same_images_are_refused_without_augmentation(tmp_path) -> None:
    path = _npz(tmp_path, 8, 32)
    with pytest.raises(ConfigError, match="batches 1 and 2 would hold the same 8 images"):
        load_data(path, num_classes=10, resolution=32, batch_size=8, n_batches=2, augment=False)


def test_augmented_batches_of_the_same_images_differ(tmp_path) -> None:
    path = _npz(tmp_path, 8, 32)
    data = load_data(path, num_classes=10, resolution=32, batch_size=8, n_batches=2, augment=True)
    (x1, y1), (x2, y2) = data.batches
    assert sorted(y1.tolist()) == sorted(y2.tolist())  # the same images ...
    assert not torch.equal(x1, x2)  # ... in different views
    assert "augmented" in data.description


def test_proxies_that_take_loss_gradients_augment_by_default() -> None:
    from nascli.proxies.runner import default_augment, make_proxies

    assert default_augment(make_proxies(["zico"]), None) is True
    assert default_augment(make_proxies(["naswot"]), None) is False
    assert default_augment(make_proxies(["zico"]), False) is False


def test_search_augments_real_data_for_zico_and_refuses_identical_batches(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from nascli.cli import app

    data = _npz(tmp_path, 8, 32)
    base = ["search", "--space", "nb201", "--proxy", "zico", "--budget", "120MFLOPs",
            "--data", str(data), "--batch-size", "8", "--iterations", "2", "--no-onnx",
            "--threads", "1", "--json"]  # fmt: skip
    refused = CliRunner().invoke(app, [*base, "--no-augment", "--out", str(tmp_path / "a")])
    assert refused.exit_code == 2
    assert "would hold the same 8 images" in refused.output
    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trials"]["done"] == 2
