"""Which blocks the Qualcomm HTP runs: each block kind's int8 QDQ model, CPU fallback off.

A *block kind* is what decides the kernels a block compiles to: its op, kernel, stride,
activation, shortcut, post-activation and whether it has an expansion conv. Channel counts
and sizes only scale the work, so every kind of a space is checked on two members (the
smallest and the largest of the space's profiling keys), built exactly as a table entry is
(``export_block`` + the ``cpu-int8`` QDQ quantization, boundary Q/DQ stripped).

A kind is *refused* when the QNN EP will not take one of its nodes: the session then fails
because CPU fallback is disabled, and the EP's verbose log names the node and the reason
(``Validation FAILED ... REASON : ...``), which is recorded.

The results live in ``configs/acceptance/<device>.yaml`` (written by
``benchmarks/qnn_op_acceptance.py``), read by ``nascli devices show`` and by the search,
which treats an architecture using a refused kind as infeasible under that device.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.layers import LayerKey

# QNN_HTP_DEVICE_ARCH values to probe; the EP logs "Invalid HTP architecture" for others.
CANDIDATE_HTP_ARCHES = (66, 68, 69, 73, 75, 79, 81, 85)
_FAILED = re.compile(r"Validation FAILED for \d+ nodes in OrtNodeUnit \((?P<unit>[^)]*)\)")
_NODE = re.compile(r"Operator type: (?P<op>\S+) Node name: (?P<name>.*?) Node index")
_REASON = re.compile(r"REASON : (?P<reason>.*)")


def kind_of(key: LayerKey) -> str:
    """The block kind of ``key`` as a readable, stable string."""
    parts = [key.op, f"k{key.kernel}", f"s{key.stride}", key.act]
    if key.residual != "none":
        parts.append(f"res={key.residual}")
    if key.post_act != "none":
        parts.append(f"post={key.post_act}")
    if key.mid > 0 and key.op == "ir":
        parts.append("expand")
    return " ".join(parts)


def _size(key: LayerKey) -> int:
    return key.cin * key.cout * max(key.mid, 1) * key.h * key.w * key.kernel**2


def representatives(keys: list[LayerKey]) -> dict[str, list[LayerKey]]:
    """Per kind, its smallest and largest key (one when they coincide), kinds sorted."""
    groups: dict[str, list[LayerKey]] = {}
    for key in keys:
        groups.setdefault(kind_of(key), []).append(key)
    out = {}
    for kind in sorted(groups):
        members = sorted(groups[kind], key=lambda k: (_size(k), k.to_str()))
        out[kind] = list(dict.fromkeys([members[0], members[-1]]))
    return out


@dataclass
class Verdict:
    """Whether the HTP took the whole model; the nodes it refused and why."""

    accepted: bool
    refused: list[dict[str, str]] = field(default_factory=list)
    error: str = ""


def parse_refusals(log: str) -> list[dict[str, str]]:
    """The (op, node, reason) triples of the EP's ``Validation FAILED`` log records."""
    refused: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in log.splitlines():
        if _FAILED.search(line):
            current = {"op": _FAILED.search(line)["unit"], "node": "", "reason": ""}
            refused.append(current)
        elif current is not None and (node := _NODE.search(line)):
            current["op"], current["node"] = node["op"], node["name"].strip()
        elif current is not None and (reason := _REASON.search(line)):
            current["reason"] = reason["reason"].strip()
            current = None
    unique = {(r["op"], r["node"], r["reason"]): r for r in refused}
    return list(unique.values())


def check_model(model: str | bytes, htp_arch: int) -> Verdict:
    """Compile and run ``model`` once on the HTP (simulator on x86), CPU fallback disabled."""
    import numpy as np

    from nascli.latency.qnn import CapturedStderr, htp_session, htp_session_options

    with CapturedStderr() as captured:
        try:
            options = htp_session_options()
            options.log_severity_level = 0
            session = htp_session(model, htp_arch=htp_arch, options=options)
            feeds = {}
            for graph_input in session.get_inputs():
                dtype = {"tensor(uint8)": np.uint8, "tensor(int8)": np.int8}.get(
                    graph_input.type, np.float32
                )
                feeds[graph_input.name] = np.zeros(graph_input.shape, dtype=dtype)
            session.run(None, feeds)
            error = ""
        except Exception as exc:  # any refusal is the answer, recorded
            error = str(exc).splitlines()[0]
    if not error:
        return Verdict(True)
    return Verdict(False, parse_refusals(captured.text), error)


def accepted_htp_arches(candidates: tuple[int, ...] = CANDIDATE_HTP_ARCHES) -> list[int]:
    """The ``htp_arch`` values this onnxruntime-qnn compiles for (no "Invalid" log record)."""
    import onnx
    from onnx import TensorProto, helper

    from nascli.latency.qnn import CapturedStderr, htp_session, htp_session_options

    shape = [1, 8, 8, 8]
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    accepted = []
    for arch in candidates:
        with CapturedStderr() as captured:
            options = htp_session_options()
            options.log_severity_level = 1
            try:
                htp_session(model.SerializeToString(), htp_arch=arch, options=options)
            except Exception:  # a failed compile is a refusal too
                continue
        if "Invalid HTP architecture" not in captured.text:
            accepted.append(arch)
    return accepted


def block_model(key: LayerKey, out: Path) -> None:
    """The int8 QDQ model of ``key`` exactly as a ``cpu-int8``/``qnn-npu`` table entry."""
    from nascli.latency.models import convert_precision, export_block

    export_block(key, out)
    convert_precision(out, "int8-qdq", block=True)


def check_space(space_name: str, arches: list[int], progress=None) -> list[dict[str, Any]]:
    """One record per (kind, htp_arch): accepted, and the refused nodes of its members."""
    from nascli.latency.grid import profile_keys
    from nascli.spaces import get_space

    space = get_space(space_name)
    keys, _ = profile_keys(space, space.resolution)
    records = []
    with tempfile.TemporaryDirectory(prefix="nascli-qnn-") as tmp:
        for kind, members in representatives(keys).items():
            paths = []
            for index, key in enumerate(members):
                path = Path(tmp) / f"{len(records)}-{index}.onnx"
                block_model(key, path)
                paths.append(path)
            for arch in arches:
                verdicts = [check_model(str(path), arch) for path in paths]
                refused = [r for v in verdicts for r in v.refused]
                errors = sorted({v.error for v in verdicts if v.error})
                records.append(
                    {
                        "space": space_name,
                        "kind": kind,
                        "htp_arch": arch,
                        "keys": [k.to_str() for k in members],
                        "accepted": all(v.accepted for v in verdicts),
                        "refused": refused,
                        "errors": errors,
                    }
                )
                if progress is not None:
                    progress(records[-1])
    return records


def refused_kinds(data: dict[str, Any], space: str | None = None) -> dict[str, list[int]]:
    """``kind -> htp_arches that refuse it`` from an acceptance file (one space or all)."""
    out: dict[str, list[int]] = {}
    for record in data.get("results", []):
        if space is not None and record.get("space") != space:
            continue
        if not record.get("accepted", True):
            out.setdefault(record["kind"], []).append(int(record["htp_arch"]))
    return out


def load_acceptance(device: str) -> dict[str, Any] | None:
    """``configs/acceptance/<device>.yaml`` from the first root that has it, or None.

    A device without its own file whose first provider is QNN (``qnn-htp-sim``, a user's
    Snapdragon profile) reads ``qnn-npu``'s: the HTP compiler decides, not the profile name.
    """
    from nascli.arch import read_yaml_file
    from nascli.paths import config_files

    files = config_files("acceptance")
    path = files.get(device)
    if path is None and "qnn-npu" in files:
        from nascli.latency.devices import load_device

        try:
            profile = load_device(device)
        except ConfigError:  # an unknown device simply has no acceptance data
            return None
        if profile.primary_provider == "QNNExecutionProvider":
            path = files["qnn-npu"]
    return read_yaml_file(path) if path is not None else None


def device_refusals(device: str, space: str) -> frozenset[str]:
    """Block kinds of ``space`` the device's HTP refuses (at its ``htp_arch``, else at any)."""
    data = load_acceptance(device)
    if data is None:
        return frozenset()
    arch = None
    try:
        from nascli.latency.devices import load_device

        options = load_device(device).providers[0].options
        arch = int(options["htp_arch"]) if "htp_arch" in options else None
    except (ConfigError, ValueError):  # no usable option: refused on any arch counts
        arch = None
    return frozenset(
        kind
        for kind, arches in refused_kinds(data, space).items()
        if arch is None or arch in arches
    )


def acceptance_summary(device: str) -> dict[str, Any] | None:
    """What ``devices show`` prints: kinds checked, arches, and the refused kinds per space."""
    data = load_acceptance(device)
    if data is None:
        return None
    results = data.get("results", [])
    spaces = sorted({r["space"] for r in results})
    refused = {space: refused_kinds(data, space) for space in spaces}
    kinds = {(r["space"], r["kind"]) for r in results}
    return {
        "checked": f"{len(kinds)} block kinds of {', '.join(spaces)}, int8 QDQ, "
        f"CPU fallback disabled, htp_arch {data.get('htp_arches')} "
        f"(onnxruntime-qnn {data.get('onnxruntime_qnn')})",
        "cannot_run": {
            space: {kind: arches for kind, arches in by_kind.items()}
            for space, by_kind in refused.items()
            if by_kind
        },
    }
