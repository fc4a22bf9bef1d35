"""The data sets nascli reads by name: where their official archives live and what is in them.

Only formats that hold plain numbers are read (no pickle, nothing executed): the CIFAR
*binary* versions (fixed-size records: label byte(s), then 3,072 bytes of R, G, B planes of
32 × 32 pixels, row-major) and SVHN's MATLAB v5 files (``X``: 32 × 32 × 3 × N uint8,
``y``: N × 1 digit labels with 10 standing for the digit 0).

The checksums are the MD5 sums the CIFAR page publishes next to each archive
(https://www.cs.toronto.edu/~kriz/cifar.html). The SVHN page
(http://ufldl.stanford.edu/housenumbers/) publishes none; its MD5 sums here are the ones
torchvision's ``SVHN`` class checks its downloads against.
"""

from __future__ import annotations

from dataclasses import dataclass

from nascli.errors import ConfigError, suggest

CIFAR_SIDE = 32
CIFAR_PIXELS = 3 * CIFAR_SIDE * CIFAR_SIDE  # bytes of one image in a binary record

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


@dataclass(frozen=True)
class ArchiveFile:
    """One downloadable file of a data set and the checksum its publisher gives."""

    name: str
    url: str
    md5: str


@dataclass(frozen=True)
class NamedDataset:
    """A data set read by name: its files per split and how its records are laid out."""

    name: str
    kind: str  # "cifar-binary" or "svhn-mat"
    num_classes: int
    files: dict[str, ArchiveFile]  # split -> file holding it
    members: dict[str, tuple[str, ...]]  # split -> archive members (cifar-binary only)
    label_bytes: int = 0  # cifar-binary: label bytes before the pixels of a record
    label_offset: int = 0  # cifar-binary: which of them is the class label

    @property
    def record_bytes(self) -> int:
        return self.label_bytes + CIFAR_PIXELS

    def file(self, split: str) -> ArchiveFile:
        return self.files[split]


_CIFAR10_FILE = ArchiveFile(
    "cifar-10-binary.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    "c32a1d4ab5d03f1284b67883e8d87530",
)
_CIFAR100_FILE = ArchiveFile(
    "cifar-100-binary.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    "03b5dce01913d631647c71ecec9e9cb8",
)

DATASETS: dict[str, NamedDataset] = {
    "cifar10": NamedDataset(
        name="cifar10",
        kind="cifar-binary",
        num_classes=10,
        files={"train": _CIFAR10_FILE, "test": _CIFAR10_FILE},
        members={
            "train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
            "test": ("cifar-10-batches-bin/test_batch.bin",),
        },
        label_bytes=1,
        label_offset=0,
    ),
    "cifar100": NamedDataset(
        name="cifar100",
        kind="cifar-binary",
        num_classes=100,
        files={"train": _CIFAR100_FILE, "test": _CIFAR100_FILE},
        members={
            "train": ("cifar-100-binary/train.bin",),
            "test": ("cifar-100-binary/test.bin",),
        },
        label_bytes=2,  # coarse label, then the fine label (one of 100 classes)
        label_offset=1,
    ),
    "svhn": NamedDataset(
        name="svhn",
        kind="svhn-mat",
        num_classes=10,
        files={
            "train": ArchiveFile(
                "train_32x32.mat",
                "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
                "e26dedcc434d2e4c54c9b2d4a06d8373",
            ),
            "test": ArchiveFile(
                "test_32x32.mat",
                "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
                "eb5a983be6a315427106f1b164d9cef3",
            ),
        },
        members={},
    ),
}
SPLITS = ("train", "test")


def named_dataset(name: str) -> NamedDataset:
    """The catalog entry of ``name`` (case-insensitive), or ConfigError with the known names."""
    key = name.strip().lower()
    if key not in DATASETS:
        raise ConfigError(
            f"unknown data set {name!r}{suggest(key, list(DATASETS))}; known: {', '.join(DATASETS)}"
        )
    return DATASETS[key]
