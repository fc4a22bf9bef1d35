"""int8 QDQ block models: boundary Q/DQ stripped, numerically the same block (real ORT sessions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from nascli.latency.models import convert_precision, export_block, strip_qdq_boundary
from nascli.latency.timing import typed_input
from nascli.layers import LayerKey

KEY = LayerKey("ir", 16, 24, 3, 2, 16, 16, mid=48, act="relu", residual="proj", post_act="relu")


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _qparams(model: onnx.ModelProto, node) -> tuple[float, int]:
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    return float(inits[node.input[1]]), int(inits[node.input[2]])


def test_stripped_int8_block_computes_the_same_as_the_qdq_block(tmp_path: Path) -> None:
    float_path = tmp_path / "block.onnx"
    export_block(KEY, float_path)
    qdq = tmp_path / "qdq.onnx"
    shutil.copy(float_path, qdq)
    convert_precision(qdq, "int8-qdq")
    stripped = tmp_path / "stripped.onnx"
    shutil.copy(qdq, stripped)
    model = onnx.load(str(qdq))
    quant = next(n for n in model.graph.node if model.graph.input[0].name in n.input)
    dequant = next(n for n in model.graph.node if model.graph.output[0].name in n.output)
    in_scale, in_zero = _qparams(model, quant)
    out_scale, out_zero = _qparams(model, dequant)

    assert strip_qdq_boundary(stripped)
    session = _session(stripped)
    assert session.get_inputs()[0].type == "tensor(uint8)"
    assert session.get_outputs()[0].type == "tensor(uint8)"
    x = np.random.default_rng(0).standard_normal((1, 16, 16, 16)).astype(np.float32)
    reference = _session(qdq).run(None, {"input": x})[0]
    q_in = np.clip(np.rint(x / in_scale) + in_zero, 0, 255).astype(np.uint8)
    q_out = session.run(None, {session.get_inputs()[0].name: q_in})[0]
    got = (q_out.astype(np.float32) - out_zero) * out_scale
    assert got.shape == reference.shape
    np.testing.assert_allclose(got, reference, atol=out_scale * 1.01)
    # Stripping twice changes nothing more; a float model is left alone.
    assert not strip_qdq_boundary(stripped)
    assert not strip_qdq_boundary(float_path)


def test_block_flag_strips_only_int8_blocks(tmp_path: Path) -> None:
    path = tmp_path / "block.onnx"
    export_block(KEY, path)
    convert_precision(path, "int8-qdq", block=True)
    session = _session(path)
    x = typed_input(session, (1, 16, 16, 16), 0)
    assert x.dtype == np.uint8
    assert session.run(None, {session.get_inputs()[0].name: x})[0].dtype == np.uint8
    fp32 = tmp_path / "fp32.onnx"
    export_block(KEY, fp32)
    convert_precision(fp32, "fp32", block=True)
    assert _session(fp32).get_inputs()[0].type == "tensor(float)"


def test_int8_network_keeps_float_io(tmp_path: Path) -> None:
    """Whole networks (fit and validation) keep float input/output: what a user runs."""
    from nascli.latency.models import export_network
    from nascli.spaces import get_space

    space = get_space("nb201")
    path = tmp_path / "net.onnx"
    export_network("nb201", space.from_index(123), 32, path)
    convert_precision(path, "int8-qdq")
    session = _session(path)
    assert session.get_inputs()[0].type == "tensor(float)"
    out = session.run(None, {"input": np.zeros((1, 3, 32, 32), np.float32)})[0]
    assert out.dtype == np.float32


def test_identity_folding_lets_every_conv_quantize(tmp_path: Path) -> None:
    """Exported blocks reach shared (deduplicated) biases through Identity nodes; folded, the
    graph computes the same and the quantizer turns every Conv into an integer conv."""
    from nascli.latency.models import fold_initializer_identities

    path = tmp_path / "block.onnx"
    export_block(KEY, path)
    model = onnx.load(str(path))
    identities = sum(n.op_type == "Identity" for n in model.graph.node)
    assert identities > 0  # the exporter's deduplicated zero biases
    assert fold_initializer_identities(model) == identities
    assert not any(n.op_type == "Identity" for n in model.graph.node)
    folded = tmp_path / "folded.onnx"
    onnx.save(model, str(folded))
    x = np.random.default_rng(1).standard_normal((1, 16, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(
        _session(folded).run(None, {"input": x})[0],
        _session(path).run(None, {"input": x})[0],
        rtol=1e-5,
        atol=1e-6,
    )
    convert_precision(path, "int8-qdq")
    quantized = onnx.load(str(path))
    convs = [n for n in quantized.graph.node if n.op_type == "Conv"]
    # QDQ form: every Conv reads DequantizeLinear'd weights and a quantized bias.
    producers = {o: n.op_type for n in quantized.graph.node for o in n.output}
    assert convs and all(producers.get(c.input[2]) == "DequantizeLinear" for c in convs)
