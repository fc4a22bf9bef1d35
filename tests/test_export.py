"""ONNX export: onnx.checker passes and ONNX Runtime agrees with torch."""

from __future__ import annotations

import random

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from nascli.export import export_onnx
from nascli.spaces import get_space, resolve_arch


@pytest.mark.parametrize(
    ("ref", "resolution"),
    [
        ("nb201:13714", None),
        ("nb201:1", None),
        pytest.param("sample:mobilenet-imagenet", 96, marks=pytest.mark.slow),
    ],
)
def test_export_matches_torch(tmp_path, ref: str, resolution: int | None) -> None:
    if ref.startswith("sample:"):
        arch = get_space(ref.split(":", 1)[1]).sample(random.Random(3))
    else:
        arch = resolve_arch(ref)
    out = tmp_path / "net.onnx"
    result = export_onnx(arch, out, resolution=resolution, batch_size=2)
    onnx.checker.check_model(onnx.load(str(out)))
    assert result.max_rel_diff < 1e-4
    # An independent check on another random input.
    space = get_space(arch.space)
    size = resolution or space.resolution
    torch.manual_seed(0)
    model = space.build(arch, resolution=size).eval()
    x = torch.randn(2, 3, size, size)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-4 * max(np.max(np.abs(expected)), 1e-6)


def test_no_partial_file_left_on_failure(tmp_path) -> None:
    arch = resolve_arch("nb201:13714")
    target = tmp_path / "sub" / "net.onnx"
    export_onnx(arch, target)
    assert [p.name for p in target.parent.iterdir()] == ["net.onnx"]
