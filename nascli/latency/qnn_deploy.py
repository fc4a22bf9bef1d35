"""Deployable Qualcomm HTP output: the int8 QDQ model and its precompiled EPContext model.

``nascli export ARCH --onnx OUT --device qnn-npu`` writes, beside the float ``OUT``:

* ``OUT-stem.qdq.onnx``: the int8 static QDQ model (nascli's ``cpu-int8``/``qnn-npu``
  quantization; calibrated on seeded random inputs, so recalibrate on real images before
  shipping accuracy-critical models);
* ``OUT-stem.qnn_ctx.onnx``: an ONNX model with one ``EPContext`` node that embeds the HTP
  context binary compiled for ``htp_arch`` (``ep.context_enable``); a Snapdragon device
  loads it without compiling the graph again.

The context model is loaded back here (Qualcomm's simulator on x86-64) with CPU fallback
disabled and run once, so a file that does not load is never reported as written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from nascli.errors import ConfigError

# Snapdragon 8 Gen 2 class; used when the device profile names none (a context binary is
# compiled for one HTP architecture).
DEFAULT_HTP_ARCH = 73


@dataclass(frozen=True)
class ContextExport:
    qdq: Path
    context: Path
    htp_arch: int
    nodes: int  # EPContext nodes in the context model


def sibling(out: Path, suffix: str) -> Path:
    name = out.name[: -len(".onnx")] if out.name.endswith(".onnx") else out.name
    return out.with_name(f"{name}{suffix}")


def export_qnn_context(float_model: Path, htp_arch: int = DEFAULT_HTP_ARCH) -> ContextExport:
    """Quantize ``float_model``, compile it for the HTP into an EPContext model, reload it."""
    import onnx

    from nascli.latency.models import quantize_qdq
    from nascli.latency.qnn import htp_session, htp_session_options, qnn_available
    from nascli.latency.qnn_cycles import seeded_feeds

    if not qnn_available():
        raise ConfigError("--device qnn-npu needs onnxruntime-qnn: pip install nascli[qnn]")
    qdq = sibling(float_model, ".qdq.onnx")
    context = sibling(float_model, ".qnn_ctx.onnx")
    tmp_qdq = qdq.with_name(f".{qdq.name}.tmp")
    shutil.copyfile(float_model, tmp_qdq)
    try:
        quantize_qdq(tmp_qdq)
        tmp_qdq.replace(qdq)
    finally:
        tmp_qdq.unlink(missing_ok=True)
    tmp_context = context.with_name(f".{context.name}.tmp.onnx")
    options = htp_session_options()
    options.add_session_config_entry("ep.context_enable", "1")
    options.add_session_config_entry("ep.context_embed_mode", "1")
    options.add_session_config_entry("ep.context_file_path", str(tmp_context))
    try:
        session = htp_session(str(qdq), htp_arch=htp_arch, options=options)
        del session
        if not tmp_context.is_file():
            raise ConfigError(f"onnxruntime-qnn wrote no context model for {qdq}")
        nodes = sum(n.op_type == "EPContext" for n in onnx.load(str(tmp_context)).graph.node)
        loaded = htp_session(str(tmp_context), htp_arch=htp_arch)
        loaded.run(None, seeded_feeds(loaded, 0))
        del loaded
        tmp_context.replace(context)
    finally:
        tmp_context.unlink(missing_ok=True)
    return ContextExport(qdq, context, htp_arch, nodes)
