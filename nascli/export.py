"""Arch → PyTorch module → ONNX, checked by ``onnx.checker`` and an ORT CPU run.

Uses the TorchScript-based exporter (``dynamo=False``): its node names keep module paths
(useful to map ORT profiler events back to blocks) and it needs no ``onnxscript``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from nascli import __version__
from nascli.arch import Arch
from nascli.errors import ConfigError, JobError

OPSET = 17
EXPORTER = "torch.onnx.export(dynamo=False)"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float
    max_rel_diff: float
    opset: int


def export_onnx(
    arch: Arch,
    out: Path,
    *,
    resolution: int | None = None,
    batch_size: int = 1,
    seed: int = 0,
    verify: bool = True,
    dynamic_batch: bool = False,
) -> ExportResult:
    """Build ``arch``, export it to ``out`` atomically, check it and compare ORT with torch.

    The model carries ``metadata_props`` (``nascli.arch`` canonical string, ``nascli.space``,
    ``nascli.version``, ``nascli.resolution``), so a deployed file says what it is.
    ``dynamic_batch`` makes the batch dimension symbolic (``batch``).
    """
    from nascli.spaces import get_space

    space = get_space(arch.space)
    size = resolution or space.resolution
    out = Path(out)
    _check_writable(out)
    import torch

    torch.manual_seed(seed)
    model = space.build(arch, resolution=size).eval()
    example = torch.randn(batch_size, 3, size, size, generator=torch.Generator().manual_seed(seed))
    metadata = {
        "nascli.arch": arch.canonical,
        "nascli.space": arch.space,
        "nascli.version": __version__,
        "nascli.resolution": str(size),
    }
    export_module(model, example, out, metadata=metadata, dynamic_batch=dynamic_batch)
    if not verify:
        return ExportResult(out, 0.0, 0.0, OPSET)
    abs_diff, rel_diff = compare_with_ort(model, example, out)
    return ExportResult(out, abs_diff, rel_diff, OPSET)


def export_module(
    model,
    example,
    out: Path,
    *,
    metadata: dict[str, str] | None = None,
    dynamic_batch: bool = False,
) -> None:
    """Export a module to ONNX via a temporary file renamed into place, then check it.

    The file gets the mode a plain ``open(out, "w")`` would give it (``mkstemp`` makes 0600).
    """
    import onnx
    import torch

    from nascli.atomic import _file_mode

    _check_writable(out)
    mode = _file_mode(out)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter announces its own deprecation on every call.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                input_names=["input"],
                output_names=["output"],
                opset_version=OPSET,
                dynamo=False,
                dynamic_axes=(
                    {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None
                ),
            )
        proto = onnx.load(str(tmp))
        if metadata:
            onnx.helper.set_model_props(proto, {**_props(proto), **metadata})
        onnx.checker.check_model(proto)
        if metadata:
            onnx.save(proto, str(tmp))
        os.chmod(tmp, mode)
        os.replace(tmp, out)
    except onnx.checker.ValidationError as exc:
        raise JobError(f"exported ONNX model failed onnx.checker: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _props(proto) -> dict[str, str]:
    return {entry.key: entry.value for entry in proto.metadata_props}


def compare_with_ort(model, example, path: Path) -> tuple[float, float]:
    """Max absolute and relative difference between torch and ONNX Runtime (CPU) outputs."""
    import numpy as np
    import onnxruntime as ort
    import torch

    with torch.no_grad():
        expected = model(example).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": example.numpy()})[0]
    abs_diff = float(np.max(np.abs(got - expected)))
    rel_diff = abs_diff / max(float(np.max(np.abs(expected))), 1e-12)
    return abs_diff, rel_diff


def _check_writable(out: Path) -> None:
    """Fail early, with one line, when ``out`` cannot be created (before building anything)."""
    if out.is_dir():
        raise ConfigError(f"cannot write {out}: it is a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from None
    if not os.access(out.parent, os.W_OK):
        raise ConfigError(f"cannot write {out}: {out.parent} is not writable")
