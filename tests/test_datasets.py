"""Data sets by name: official archive formats built here, read, subset, cached, searched.

Every archive is made by the test in the publisher's format (a ``.tar.gz`` of fixed-size
binary records for CIFAR, a MATLAB v5 file for SVHN, class folders of images for
ImageNet), with pixel values chosen so a decoded image can be checked against them.
No test reaches the network: ``NASCLI_OFFLINE`` is set, and the download test reads a
``file://`` address.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.data import load_data
from nascli.datasets import check_data_spec, load_subset, parse_data_spec
from nascli.datasets.catalog import DATASETS, ArchiveFile
from nascli.datasets.fetch import download, locate_archive
from nascli.datasets.subset import BalancedPicker, class_quotas
from nascli.errors import ConfigError, JobError
from nascli.score_cache import data_fingerprint

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh user data folder, offline."""
    monkeypatch.setenv("NASCLI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NASCLI_OFFLINE", "1")
    return tmp_path / "home"


def image_of(index: int) -> np.ndarray:
    """A 32×32×3 uint8 image whose pixels encode ``index`` and the channel/row/column."""
    rows = np.arange(32, dtype=np.int64)[:, None, None]
    cols = np.arange(32, dtype=np.int64)[None, :, None]
    chans = np.arange(3, dtype=np.int64)[None, None, :]
    return ((index * 7 + chans * 50 + rows * 3 + cols) % 256).astype(np.uint8)


def cifar_record(labels: tuple[int, ...], index: int) -> bytes:
    """One binary record: label byte(s), then the R, G and B planes, row-major."""
    planes = image_of(index).transpose(2, 0, 1)  # HWC -> CHW, as the format stores it
    return bytes(labels) + planes.tobytes()


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def make_cifar10(folder: Path, per_class: int = 6) -> dict[int, int]:
    """cifar-10-binary.tar.gz with ``per_class`` train images per class over 5 batches
    (+ a test batch); returns image index -> label for the train split."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = {}
    batches: list[bytearray] = [bytearray() for _ in range(5)]
    index = 0
    for label in range(10):
        for _ in range(per_class):
            labels[index] = label
            batches[index % 5] += cifar_record((label,), index)
            index += 1
    with tarfile.open(folder / "cifar-10-binary.tar.gz", "w:gz") as archive:
        add_member(archive, "cifar-10-batches-bin/batches.meta.txt", b"airplane\n")
        for i, data in enumerate(batches, start=1):
            add_member(archive, f"cifar-10-batches-bin/data_batch_{i}.bin", bytes(data))
        test = b"".join(cifar_record((i % 10,), 1000 + i) for i in range(10))
        add_member(archive, "cifar-10-batches-bin/test_batch.bin", test)
    return labels


def test_specs_parse_and_unknown_names_fail() -> None:
    named = parse_data_spec("CIFAR10:train")
    assert (named.kind, named.name, named.split) == ("named", "cifar10", "train")
    assert parse_data_spec("cifar10").split == "train"
    assert parse_data_spec("svhn:test").split == "test"
    spec = parse_data_spec("imagenet:/data/imagenet")
    assert (spec.kind, spec.path) == ("imagenet", Path("/data/imagenet"))
    assert parse_data_spec("folder:cifar10").kind == "path"
    with pytest.raises(ConfigError, match="did you mean 'cifar10'"):
        parse_data_spec("cifar")
    with pytest.raises(ConfigError, match="split must be one of train, test"):
        parse_data_spec("cifar10:val")
    with pytest.raises(ConfigError, match="no such file or folder"):
        check_data_spec("imagenet:/no/such/folder")


def test_class_quotas_balance_and_move_shortfalls() -> None:
    rng = np.random.default_rng(0)
    quotas = class_quotas(np.array([100] * 10), 25, rng)
    assert quotas.sum() == 25 and sorted(Counter(quotas.tolist()).items()) == [(2, 5), (3, 5)]
    # class 0 has 1 image: its shortfall of 4 goes to the others, one each
    quotas = class_quotas(np.array([1, 9, 9, 9, 9]), 25, rng)
    assert quotas.tolist()[0] == 1 and quotas.sum() == 25 and max(quotas) - min(quotas[1:]) == 0


def test_picker_does_not_depend_on_how_records_are_split() -> None:
    labels = np.arange(200) % 10
    whole = BalancedPicker(30, 10, seed=3)
    whole.offer(labels, np.arange(200))
    parts = BalancedPicker(30, 10, seed=3)
    for start in range(0, 200, 70):
        parts.offer(labels[start : start + 70], np.arange(start, min(start + 70, 200)))
    assert np.array_equal(whole.result()[0], parts.result()[0])
    chosen, chosen_labels = whole.result()
    assert np.array_equal(labels[chosen], chosen_labels)
    assert Counter(chosen_labels.tolist()) == dict.fromkeys(range(10), 3)


def test_cifar10_binary_archive_is_decoded_subset_and_cached(home: Path) -> None:
    labels = make_cifar10(home / "datasets")
    subset = load_subset(parse_data_spec("cifar10"), n=20, seed=0, resolution=32, num_classes=10)
    assert subset.x.shape == (20, 32, 32, 3) and subset.x.dtype == np.uint8
    assert Counter(subset.y.tolist()) == dict.fromkeys(range(10), 2)  # class-balanced
    for image, label in zip(subset.x, subset.y, strict=True):
        index = int((int(image[0, 0, 0]) * pow(7, -1, 256)) % 256)  # pixel (0,0,R) = 7·index
        assert labels[index] == label and np.array_equal(image, image_of(index))
    assert "cifar10 train (20 of 60 images" in subset.description
    cached = list((home / "datasets" / "subsets").glob("cifar10-train-20-s0-*.npz"))
    assert len(cached) == 1
    again = load_subset(parse_data_spec("cifar10"), n=20, seed=0, resolution=32, num_classes=10)
    assert np.array_equal(again.x, subset.x) and np.array_equal(again.y, subset.y)
    other = load_subset(parse_data_spec("cifar10"), n=20, seed=1, resolution=32, num_classes=10)
    assert not np.array_equal(other.x, subset.x)
    test = load_subset(parse_data_spec("cifar10:test"), n=10, seed=0, resolution=32, num_classes=10)
    assert sorted(test.y.tolist()) == list(range(10))
    assert data_fingerprint("cifar10") != data_fingerprint("cifar10:test")


def test_cached_subset_is_used_without_the_archive(home: Path) -> None:
    make_cifar10(home / "datasets")
    first = load_subset(parse_data_spec("cifar10"), n=10, seed=0, resolution=32, num_classes=10)
    archive = home / "datasets" / "cifar-10-binary.tar.gz"
    fingerprint = data_fingerprint("cifar10")
    tag_before = sorted(p.name for p in (home / "datasets" / "subsets").iterdir())
    stat = archive.stat()
    archive.rename(home / "moved")
    (home / "moved").rename(archive)  # same bytes, same times: same cache entry
    assert archive.stat().st_mtime_ns == stat.st_mtime_ns
    assert data_fingerprint("cifar10") == fingerprint
    second = load_subset(parse_data_spec("cifar10"), n=10, seed=0, resolution=32, num_classes=10)
    assert np.array_equal(first.x, second.x)
    assert sorted(p.name for p in (home / "datasets" / "subsets").iterdir()) == tag_before


def test_cifar100_reads_the_fine_label(home: Path) -> None:
    folder = home / "datasets"
    folder.mkdir(parents=True)
    train = b"".join(cifar_record((i % 20, i), i) for i in range(100))  # coarse, fine
    with tarfile.open(folder / "cifar-100-binary.tar.gz", "w:gz") as archive:
        add_member(archive, "cifar-100-binary/train.bin", train)
        add_member(archive, "cifar-100-binary/test.bin", train[: 10 * 3074])
    subset = load_subset(parse_data_spec("cifar100"), n=100, seed=0, resolution=32, num_classes=100)
    assert sorted(subset.y.tolist()) == list(range(100))
    for image, label in zip(subset.x, subset.y, strict=True):
        assert np.array_equal(image, image_of(int(label)))
    with pytest.raises(ConfigError, match="100 classes, but the network has 10 outputs"):
        load_subset(parse_data_spec("cifar100"), n=10, seed=0, resolution=32, num_classes=10)


def test_svhn_mat_labels_ten_are_zero(home: Path) -> None:
    from scipy.io import savemat

    folder = home / "datasets"
    folder.mkdir(parents=True)
    images = np.stack([image_of(i) for i in range(30)])  # N,H,W,C
    digits = np.array([(i % 10) or 10 for i in range(30)], dtype=np.float64)  # 10 means 0
    savemat(folder / "test_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": digits[:, None]})
    subset = load_subset(parse_data_spec("svhn:test"), n=10, seed=0, resolution=32, num_classes=10)
    assert sorted(subset.y.tolist()) == list(range(10))
    for image, label in zip(subset.x, subset.y, strict=True):
        index = int((int(image[0, 0, 0]) * pow(7, -1, 256)) % 256)
        assert index % 10 == label and np.array_equal(image, image_of(index))


def test_missing_archive_names_file_and_folder(home: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_subset(parse_data_spec("cifar10"), n=10, seed=0, resolution=32, num_classes=10)
    message = str(caught.value)
    assert "cifar-10-binary.tar.gz" in message and str(home / "datasets") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in message
    result = runner.invoke(app, ["score", "nb201:0", "--proxy", "naswot", "--data", "svhn"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: svhn: train_32x32.mat not found")


def test_download_checks_the_publishers_md5(tmp_path: Path) -> None:
    payload = b"archive bytes" * 1000
    source = tmp_path / "published.bin"
    source.write_bytes(payload)
    target = tmp_path / "data" / "file.bin"
    with pytest.raises(JobError, match="md5"):
        download(source.as_uri(), target, "0" * 32)
    assert not target.exists() and list(target.parent.iterdir()) == []  # no partial file
    download(source.as_uri(), target, hashlib.md5(payload).hexdigest())
    assert target.read_bytes() == payload


def test_unreachable_address_is_one_config_error(home: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("NASCLI_OFFLINE")
    missing = ArchiveFile("x.tar.gz", (tmp_path / "absent.tar.gz").as_uri(), "0" * 32)
    with pytest.raises(ConfigError, match=r"x.tar.gz not found and not fetched .*place it in"):
        locate_archive("cifar10", missing)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("truncated", "not a whole number of 3073-byte records"),
        ("symlink", "is not a regular file"),
        ("absent", "no member cifar-10-batches-bin/data_batch_5.bin"),
        ("garbage", "not a readable cifar10 binary archive"),
    ],
)
def test_bad_archives_are_refused_without_extracting(home: Path, member: str, message: str):
    folder = home / "datasets"
    folder.mkdir(parents=True)
    path = folder / "cifar-10-binary.tar.gz"
    if member == "garbage":
        path.write_bytes(b"not a gzip file at all")
    else:
        with tarfile.open(path, "w:gz") as archive:
            for i in range(1, 5):
                add_member(archive, f"cifar-10-batches-bin/data_batch_{i}.bin",
                           cifar_record((i,), i))  # fmt: skip
            if member == "truncated":
                add_member(archive, "cifar-10-batches-bin/data_batch_5.bin", b"\x01" * 100)
            elif member == "symlink":
                info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_5.bin")
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(info)
            add_member(archive, "../escape.bin", b"x")
    with pytest.raises(ConfigError, match=message):
        load_subset(parse_data_spec("cifar10"), n=4, seed=0, resolution=32, num_classes=10)
    assert not (home / "escape.bin").exists() and not (folder / "cifar-10-batches-bin").exists()


def test_imagenet_folders_decode_only_the_chosen_images(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    import nascli.datasets.imagefolder as imagefolder

    root = tmp_path / "imagenet" / "train"
    for c, wnid in enumerate(("n01", "n02", "n03")):
        (root / wnid).mkdir(parents=True)
        for i in range(4):  # a 60x40 image, left half value 10*c+i, right half 200
            pixels = np.full((40, 60, 3), 200, dtype=np.uint8)
            pixels[:, :30] = 10 * c + i
            Image.fromarray(pixels).save(root / wnid / f"img{i}.png")
    decoded: list[Path] = []
    real_decode = imagefolder.decode
    monkeypatch.setattr(imagefolder, "decode", lambda f, s: decoded.append(f) or real_decode(f, s))
    spec = parse_data_spec(f"imagenet:{tmp_path / 'imagenet'}")
    subset = load_subset(spec, n=6, seed=0, resolution=32, num_classes=1000)
    assert len(decoded) == 6  # of 12 listed
    assert subset.x.shape == (6, 224, 224, 3)  # shorter side 224, centre crop
    assert Counter(subset.y.tolist()) == {0: 2, 1: 2, 2: 2}
    for image, label in zip(subset.x, subset.y, strict=True):
        value = int(image[112, 0, 0])  # left edge of the centre crop: the left half's value
        assert value // 10 == label and int(image[112, 223, 0]) == 200


def test_load_data_batches_from_a_named_set(home: Path) -> None:
    make_cifar10(home / "datasets")
    data = load_data("cifar10", num_classes=10, resolution=32, batch_size=8, n_batches=2, seed=0)
    assert data.is_real and data.labelled and data.source == "archive"
    images = [tuple(x.flatten()[:5].tolist()) for x, _ in data.batches for x in x]
    assert len(set(images)) == 16  # the 16 images of the subset, each once
    assert data.description.startswith("cifar10 train (16 of 60 images")


def test_search_with_cifar10_by_name_end_to_end(home: Path, tmp_path: Path) -> None:
    make_cifar10(home / "datasets")
    base = ["search", "--space", "nb201", "--proxy", "naswot", "--budget", "200MFLOPs",
            "--iterations", "3", "--batch-size", "8", "--batches", "2", "--no-onnx",
            "--threads", "1"]  # fmt: skip
    result = runner.invoke(app, [*base, "--data", "cifar10", "--out", str(tmp_path / "real")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "real" / "summary.json").read_text())
    assert summary["proxy"]["data"].startswith("cifar10 train (16 of 60 images")
    assert not any("real data" in note for note in summary["notes"])
    assert list((home / "datasets" / "subsets").glob("cifar10-train-16-s0-*.npz"))

    noise = runner.invoke(app, [*base, "--out", str(tmp_path / "noise")])
    assert noise.exit_code == 0, noise.output
    summary = json.loads((tmp_path / "noise" / "summary.json").read_text())
    told = [n for n in summary["notes"] if "need(s) real data" in n]
    assert len(told) == 1 and "--data cifar10" in told[0]
    assert noise.stderr.count("need(s) real data") == 1


def test_search_refuses_a_missing_archive_before_scoring(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "naswot", "--budget", "200MFLOPs",
         "--iterations", "2", "--data", "cifar100", "--out", str(tmp_path / "run")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --data cifar100: 100 classes, but the network has 10 outputs"
    ]


def test_catalog_entries_are_complete() -> None:
    for dataset in DATASETS.values():
        for split in ("train", "test"):
            file = dataset.file(split)
            assert len(file.md5) == 32 and file.url.endswith(file.name)
            if dataset.kind == "cifar-binary":
                assert dataset.members[split]
