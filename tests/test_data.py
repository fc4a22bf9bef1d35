"""Proxy input batches: Gaussian, .npz, image folders; sampling, resizing, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.data import IMAGENET_MEAN, IMAGENET_STD, load_batches, load_data
from nascli.errors import ConfigError


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_gaussian_is_seeded_standard_normal_with_labels_in_range() -> None:
    a = load_batches(None, num_classes=10, resolution=16, batch_size=8, n_batches=2, seed=3)
    b = load_batches(None, num_classes=10, resolution=16, batch_size=8, n_batches=2, seed=3)
    c = load_batches(None, num_classes=10, resolution=16, batch_size=8, n_batches=2, seed=4)
    assert len(a) == 2
    x, y = a[0]
    assert x.shape == (8, 3, 16, 16) and x.dtype == torch.float32
    assert y.shape == (8,) and y.dtype == torch.int64
    assert int(y.min()) >= 0 and int(y.max()) < 10
    assert torch.equal(a[1][0], b[1][0]) and torch.equal(a[1][1], b[1][1])
    assert not torch.equal(a[0][0], c[0][0])
    big = load_batches(None, num_classes=10, resolution=32, batch_size=64, n_batches=1, seed=0)
    assert abs(float(big[0][0].mean())) < 0.02 and abs(float(big[0][0].std()) - 1) < 0.02
    info = load_data(None, num_classes=10, resolution=8, batch_size=1, n_batches=1)
    assert info.source == "gaussian" and not info.is_real and not info.labelled


def test_npz_is_normalised_with_imagenet_statistics(tmp_path: Path) -> None:
    x = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    x[0, ..., 0] = 255  # image 0: red channel full, others 0
    x[1] = 51  # image 1: 0.2 everywhere
    path = _npz(tmp_path / "d.npz", x=x, y=np.array([0, 1]))
    data = load_data(path, num_classes=2, resolution=4, batch_size=2, n_batches=1, seed=0)
    assert data.labelled and data.source == "npz"
    xb, yb = data.batches[0]
    by_label = {int(yb[i]): xb[i] for i in range(2)}
    red = by_label[0]
    assert red[0].allclose(torch.full((4, 4), (1 - 0.485) / 0.229))
    assert red[1].allclose(torch.full((4, 4), (0 - 0.456) / 0.224))
    grey = by_label[1]
    for c in range(3):
        expected = (0.2 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        assert grey[c].allclose(torch.full((4, 4), expected), atol=1e-6)


def test_resize_is_bilinear_antialiased_when_shrinking(tmp_path: Path) -> None:
    # 4x4 image, left half black, right half white, shrunk to 2x2. An antialiased bilinear
    # (triangle) filter of half-width 2 centred at input coordinate 0.5 weighs input
    # columns 0, 1, 2 by 0.75, 0.75, 0.25 (column -1 is outside): (0.25 * 1) / 1.75 = 1/7.
    x = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    x[0, :, 2:, :] = 255
    path = _npz(tmp_path / "d.npz", x=x, y=np.array([0]))
    ((xb, _),) = load_batches(path, num_classes=1, resolution=2, batch_size=1, n_batches=1)
    pixel = xb[0, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]  # undo the normalisation
    assert pixel[:, 0].allclose(torch.full((2,), 1 / 7), atol=1e-5)
    assert pixel[:, 1].allclose(torch.full((2,), 6 / 7), atol=1e-5)
    # Upsampling a constant image keeps it constant.
    ((up, _),) = load_batches(path, num_classes=1, resolution=9, batch_size=1, n_batches=1)
    assert up.shape == (1, 3, 9, 9)


def test_batches_are_seeded_permutations(tmp_path: Path) -> None:
    n = 5
    x = np.zeros((n, 2, 2, 3), dtype=np.uint8)
    for i in range(n):
        x[i] = i * 10  # the pixel value tells which image it is
    path = _npz(tmp_path / "d.npz", x=x, y=np.arange(n))

    def drawn(seed: int) -> list[int]:
        out = []
        for xb, yb in load_batches(
            path, num_classes=n, resolution=2, batch_size=3, n_batches=2, seed=seed
        ):
            values = xb[:, 0, 0, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]
            ids = [round(float(v) * 255 / 10) for v in values]
            assert ids == yb.tolist()  # labels travel with their images
            out.extend(ids)
        return out

    first = drawn(0)
    assert sorted(first[:5]) == list(range(n))  # the first 5 draws are a permutation
    assert drawn(0) == first
    assert any(drawn(s) != first for s in (1, 2, 3))


def test_npz_without_labels_is_unlabelled(tmp_path: Path) -> None:
    path = _npz(tmp_path / "d.npz", x=np.zeros((3, 4, 4, 3), dtype=np.uint8))
    data = load_data(path, num_classes=10, resolution=4, batch_size=2, n_batches=1)
    assert data.is_real and not data.labelled
    assert int(data.batches[0][1].max()) < 10  # placeholder labels stay valid


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"y": np.zeros(2, dtype=np.int64)}, "no array 'x'"),
        ({"x": np.zeros((2, 4, 4, 3), dtype=np.float32)}, "uint8"),
        ({"x": np.zeros((2, 4, 4), dtype=np.uint8)}, "(N, H, W, 3)"),
        ({"x": np.zeros((2, 4, 4, 1), dtype=np.uint8)}, "(N, H, W, 3)"),
        ({"x": np.zeros((0, 4, 4, 3), dtype=np.uint8)}, "no images"),
        ({"x": np.zeros((2, 4, 4, 3), dtype=np.uint8), "y": np.zeros(3, dtype=int)}, "'y'"),
        ({"x": np.zeros((2, 4, 4, 3), dtype=np.uint8), "y": np.array([0.5, 1.0])}, "integer"),
        ({"x": np.zeros((2, 4, 4, 3), dtype=np.uint8), "y": np.array([0, 10])}, "10 classes"),
        ({"x": np.zeros((2, 4, 4, 3), dtype=np.uint8), "y": np.array([-1, 0])}, "labels span"),
    ],
)
def test_bad_npz_is_a_config_error(tmp_path: Path, arrays: dict, message: str) -> None:
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_batches(path, num_classes=10, resolution=4, batch_size=1, n_batches=1)


def test_missing_empty_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such data"):
        load_batches(tmp_path / "nope.npz", num_classes=10, resolution=8)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match="empty file"):
        load_batches(empty, num_classes=10, resolution=8)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    with pytest.raises(ConfigError, match=r"not a readable \.npz"):
        load_batches(corrupt, num_classes=10, resolution=8)
    other = tmp_path / "data.csv"
    other.write_text("a,b\n")
    with pytest.raises(ConfigError, match="unsupported"):
        load_batches(other, num_classes=10, resolution=8)


def test_bad_sizes(tmp_path: Path) -> None:
    for kwargs, message in (
        ({"batch_size": 0}, "batch-size"),
        ({"n_batches": 0}, "batches"),
        ({"resolution": 0}, "resolution"),
    ):
        args = {"num_classes": 10, "resolution": 8, **kwargs}
        with pytest.raises(ConfigError, match=message):
            load_batches(None, **args)


def _png(path: Path, color: tuple[int, int, int], size: int = 6) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)


def test_image_folder_with_class_subfolders(tmp_path: Path) -> None:
    _png(tmp_path / "cat" / "a.png", (255, 0, 0))
    _png(tmp_path / "cat" / "b.png", (255, 0, 0))
    _png(tmp_path / "dog" / "c.jpg", (0, 0, 255))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    data = load_data(tmp_path, num_classes=2, resolution=4, batch_size=3, n_batches=1)
    assert data.labelled and data.source == "folder"
    xb, yb = data.batches[0]
    assert xb.shape == (3, 3, 4, 4)
    assert sorted(yb.tolist()) == [0, 0, 1]  # sorted sub-folders: cat=0, dog=1
    for i in range(3):
        red = float(xb[i, 0].mean()) * IMAGENET_STD[0] + IMAGENET_MEAN[0]
        assert red == pytest.approx(1.0 if int(yb[i]) == 0 else 0.0, abs=0.01)
    with pytest.raises(ConfigError, match="labels span"):
        load_data(tmp_path, num_classes=1, resolution=4, batch_size=1, n_batches=1)


def test_flat_image_folder_is_unlabelled_and_empty_folder_fails(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    _png(flat / "a.png", (10, 20, 30), size=40)
    data = load_data(flat, num_classes=10, resolution=8, batch_size=2, n_batches=1)
    assert not data.labelled and data.batches[0][0].shape == (2, 3, 8, 8)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no images"):
        load_data(empty, num_classes=10, resolution=8)
    broken = tmp_path / "broken" / "cls"
    broken.mkdir(parents=True)
    (broken / "x.png").write_bytes(b"not a png")
    with pytest.raises(ConfigError, match="cannot read image"):
        load_data(tmp_path / "broken", num_classes=10, resolution=8)


def test_shared_imagenet_npz_loads_at_96px(shared_file) -> None:
    path = shared_file("imagenet_64_224.npz")
    data = load_data(path, num_classes=1000, resolution=96, batch_size=16, n_batches=2, seed=0)
    assert data.labelled
    assert data.batches[0][0].shape == (16, 3, 96, 96)
    # Natural images normalised with ImageNet statistics: roughly zero mean, unit spread.
    x = data.batches[0][0]
    assert abs(float(x.mean())) < 0.5 and 0.5 < float(x.std()) < 1.5
