"""The torch device proxies run on: parsed once, validated, and the rules every proxy follows.

``--proxy-device auto|cpu|cuda|cuda:N|mps`` (config key ``proxy_device``). ``auto`` is the
first CUDA GPU when torch sees one, else the CPU (MPS only when named: several linear-algebra
kernels the proxies use fall back to the CPU there). A device the machine lacks is bad
input (one line, exit 2), never a silent CPU run.

How every proxy is device-agnostic, through one path:

* the network is built and initialised on the CPU from the candidate's seed — including the
  re-initialisations of Zen-NAS, SWAP, AZ-NAS and VKDNW — and only then moved to the device
  (``Candidate.build``), so its weights are the same bits on every device;
* the batches are moved to the device once per command (``batches_to``); noise a proxy draws
  itself comes from a seeded CPU generator and is moved the same way;
* every intermediate tensor is created on the device of the tensors it joins, and sums are
  reduced on the device, one transfer of the final value per proxy (no per-layer ``float``);
* float64 accumulation where a proxy needs it (``accumulation_dtype``); on a device without
  float64 (MPS) sums run in float32, and the two proxies whose whole computation is float64
  (SynFlow's products of |θ| over depth, VKDNW's Fisher spectrum) run on the CPU instead
  (``float64_device``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nascli.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from nascli.proxies.base import Batch

DEVICE_FORMS = "auto, cpu, cuda, cuda:N or mps"
_PATTERN = re.compile(r"auto|cpu|cuda(:[0-9]+)?|mps")


def check_device_text(text: str | None) -> str:
    """The normalised device string (``auto`` for None); ConfigError for an unknown form."""
    value = "auto" if text is None else str(text).strip().lower()
    if not _PATTERN.fullmatch(value):
        raise ConfigError(f"--proxy-device {text!r}: unknown device; give {DEVICE_FORMS}")
    return value


def resolve_device(text: str | None) -> torch.device:
    """A usable ``torch.device`` for ``text``; ConfigError when this machine lacks it."""
    import torch

    value = check_device_text(text)
    if value == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if value.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--proxy-device {value}: torch sees no CUDA device here (torch "
                f"{torch.__version__}); use --proxy-device cpu or auto"
            )
        index = int(value.split(":", 1)[1]) if ":" in value else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(
                f"--proxy-device {value}: this machine has {count} CUDA device(s), "
                f"cuda:0..cuda:{count - 1}"
            )
        return torch.device("cuda", index)
    if value == "mps" and not (torch.backends.mps.is_available()):
        raise ConfigError("--proxy-device mps: torch sees no MPS device here; use cpu or auto")
    return torch.device(value)


def worker_devices(text: str | None, workers: int) -> list[str]:
    """The device of each of ``workers`` processes: one GPU each when the device is ``auto``
    or ``cuda`` and there are several (``cuda:0..N-1``, wrapping), else the same device."""
    import torch

    value = check_device_text(text)
    device = resolve_device(value)
    if device.type == "cuda" and value in ("auto", "cuda"):
        count = torch.cuda.device_count()
        if count > 1:
            return [f"cuda:{i % count}" for i in range(workers)]
    return [str(device)] * workers


def batches_to(batches: Sequence[Batch], device: torch.device | str) -> list[Batch]:
    """The batches on ``device`` (moved once; a batch already there is not copied)."""
    return [(x.to(device), y.to(device)) for x, y in batches]


def supports_float64(device: torch.device | str) -> bool:
    import torch

    return torch.device(device).type != "mps"


def accumulation_dtype(device: torch.device | str) -> torch.dtype:
    """float64 for sums over many terms, float32 where the device has no float64 (MPS)."""
    import torch

    return torch.float64 if supports_float64(device) else torch.float32


def float64_device(device: torch.device | str) -> torch.device:
    """``device`` when it computes in float64, else the CPU (for all-float64 proxies)."""
    import torch

    return torch.device(device) if supports_float64(device) else torch.device("cpu")
