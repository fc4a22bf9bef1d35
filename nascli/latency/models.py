"""Tiny ONNX models for table entries, converted to the device profile's precision.

Each entry's model is exactly the module the network runs for that key
(``nascli.nn.blocks.build_block``), exported with the same exporter as whole networks.
fp16 targets get ``onnxruntime.transformers.float16`` (float32 inputs/outputs kept);
int8 targets (NPUs) get static QDQ quantization calibrated on seeded random data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nascli.layers import LayerKey


def input_shape(key: LayerKey, batch: int) -> tuple[int, int, int, int]:
    return (batch, key.cin, key.h, key.w)


def export_block(key: LayerKey, out: Path, *, batch: int = 1, seed: int = 0) -> None:
    """Build the module of ``key`` (seeded init), export it to ``out`` (ONNX, opset 17)."""
    import torch

    from nascli.export import export_module
    from nascli.nn.blocks import build_block

    torch.manual_seed(seed)
    model = build_block(key).eval()
    example = torch.randn(*input_shape(key, batch), generator=torch.Generator().manual_seed(seed))
    export_module(model, example, out)


def export_network(space_name: str, arch, resolution: int, out: Path, *, batch: int = 1) -> None:
    """Export a whole network exactly as the table's blocks are built."""
    import torch

    from nascli.export import export_module
    from nascli.spaces import get_space

    torch.manual_seed(0)
    model = get_space(space_name).build(arch, resolution=resolution).eval()
    example = torch.randn(
        batch, 3, resolution, resolution, generator=torch.Generator().manual_seed(0)
    )
    export_module(model, example, out)


def convert_precision(path: Path, precision: str, *, seed: int = 0) -> None:
    """Rewrite the model at ``path`` in ``precision`` (fp32: unchanged)."""
    if precision == "fp32":
        return
    import onnx

    from nascli.atomic import write_bytes_atomic

    if precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
        write_bytes_atomic(path, model.SerializeToString())
        return
    if precision == "int8-qdq":
        quantize_qdq(path, seed=seed)
        return
    raise ValueError(f"unknown precision {precision!r}")


def quantize_qdq(path: Path, *, seed: int = 0, samples: int = 4) -> None:
    """Static QDQ int8 quantization (per-channel weights) calibrated on random inputs."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    model = onnx.load(str(path))
    graph_input = model.graph.input[0]
    shape = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    rng = np.random.default_rng(seed)
    batches = [
        {graph_input.name: rng.standard_normal(shape).astype(np.float32)} for _ in range(samples)
    ]

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._iter = iter(batches)

        def get_next(self):
            return next(self._iter, None)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.onnx"
        quantize_static(
            str(path),
            str(out),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        from nascli.atomic import write_bytes_atomic

        write_bytes_atomic(path, out.read_bytes())
