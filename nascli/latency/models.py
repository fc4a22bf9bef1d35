"""Tiny ONNX models for table entries, converted to the device profile's precision.

Each entry's model is exactly the module the network runs for that key
(``nascli.nn.blocks.build_block``), exported with the same exporter as whole networks.
fp16 targets get ``onnxruntime.transformers.float16`` (float32 inputs/outputs kept);
int8 targets (NPUs) get static QDQ quantization calibrated on seeded random data.

An int8 *block* timed alone would also pay what a network pays once: quantizing its float
input and dequantizing its output (measured on this kind of x86 CPU: a stride-2 stem or
inverted-residual block 2-3x slower in int8 than fp32 alone, while the whole int8 network is
faster than fp32). Inside a network consecutive blocks hand over int8 tensors, so block
models drop their boundary QuantizeLinear/DequantizeLinear (``strip_qdq_boundary``) and take
and return the quantized tensor.
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


def convert_precision(path: Path, precision: str, *, seed: int = 0, block: bool = False) -> None:
    """Rewrite the model at ``path`` in ``precision`` (fp32: unchanged).

    ``block``: a table entry's model (int8: boundary Q/DQ removed, int8 in and out).
    """
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
        if block:
            strip_qdq_boundary(path)
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
    if fold_initializer_identities(model):
        from nascli.atomic import write_bytes_atomic

        write_bytes_atomic(path, model.SerializeToString())
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


def fold_initializer_identities(model) -> int:
    """Point consumers of ``Identity(initializer)`` at the initializer; drop the Identity.

    The TorchScript exporter stores identical tensors once and reaches the copies through
    Identity nodes (freshly initialised BatchNorms fold into identical zero conv biases).
    ORT's quantizer quantizes a Conv only when its bias is an initializer, so without this
    such convs stay float between a DequantizeLinear and a QuantizeLinear (measured: an int8
    network 30.5 ms with them, 17.6 ms with every conv a QLinearConv).
    """
    graph = model.graph
    names = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    folded = {
        n.output[0]: n.input[0]
        for n in graph.node
        if n.op_type == "Identity" and n.input[0] in names and n.output[0] not in outputs
    }
    if not folded:
        return 0
    keep = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in folded)]
    for node in keep:
        for i, name in enumerate(node.input):
            if name in folded:
                node.input[i] = folded[name]
    del graph.node[:]
    graph.node.extend(keep)
    return len(folded)


def strip_qdq_boundary(path: Path) -> bool:
    """Drop the graph input's QuantizeLinear and the graph output's DequantizeLinear.

    The model then reads and writes the quantized tensors (uint8/int8) directly. Nothing
    changes (False) when the input feeds anything but one QuantizeLinear or the output is
    not produced by a DequantizeLinear, e.g. a block that left its boundary in float.
    """
    import onnx

    from nascli.atomic import write_bytes_atomic

    model = onnx.load(str(path))
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        return False
    inp, out = graph.input[0], graph.output[0]
    readers = [n for n in graph.node if inp.name in n.input]
    writers = [n for n in graph.node if out.name in n.output]
    if len(readers) != 1 or readers[0].op_type != "QuantizeLinear":
        return False
    if len(writers) != 1 or writers[0].op_type != "DequantizeLinear":
        return False
    quant, dequant = readers[0], writers[0]
    if any(dequant.output[0] in n.input for n in graph.node):
        return False
    elem = {
        "uint8": onnx.TensorProto.UINT8,
        "int8": onnx.TensorProto.INT8,
    }
    inits = {i.name: i for i in graph.initializer}

    def zero_point_type(node) -> int:
        zp = inits.get(node.input[2]) if len(node.input) > 2 else None
        return zp.data_type if zp is not None else elem["uint8"]

    in_shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    out_shape = [d.dim_value for d in out.type.tensor_type.shape.dim]
    new_in = onnx.helper.make_tensor_value_info(quant.output[0], zero_point_type(quant), in_shape)
    new_out = onnx.helper.make_tensor_value_info(
        dequant.input[0], zero_point_type(dequant), out_shape
    )
    graph.node.remove(quant)
    graph.node.remove(dequant)
    del graph.input[:]
    graph.input.append(new_in)
    del graph.output[:]
    graph.output.append(new_out)
    onnx.checker.check_model(model)
    write_bytes_atomic(path, model.SerializeToString())
    return True
