"""Which block kinds of each shipped space the Qualcomm HTP runs, per accepted ``htp_arch``.

Every block kind of every space (its smallest and largest profiling key) is exported and
quantized to int8 QDQ exactly as a ``cpu-int8`` table entry, then compiled and run once on
the QNN execution provider's HTP backend (Qualcomm's simulator on x86-64 Linux) with CPU
fallback disabled. ``htp_arch`` values are those the installed onnxruntime-qnn accepts.
As a reference measured in the same run, a model with one operator the QNN EP does not
support (``Det``) is checked first: it must be refused, with its node and reason.

Prints a Markdown table and writes ``configs/acceptance/qnn-npu.yaml`` (read by
``nascli devices show qnn-npu`` and by searches under a ``qnn-npu`` budget).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/qnn_op_acceptance.py \
        [--spaces nb201 ...] [--arches 68 73 ...] [--out configs/acceptance/qnn-npu.yaml]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from nascli.atomic import write_text_atomic
from nascli.latency.qnn import qnn_version
from nascli.latency.qnn_accept import (
    CANDIDATE_HTP_ARCHES,
    accepted_htp_arches,
    check_model,
    check_space,
)

SPACES = ("mobilenet-imagenet", "resnet-imagenet", "nas-bench-macro", "nb201")


def unsupported_reference() -> bytes:
    """Relu then Det: Det has no QNN builder, so the HTP must refuse this model."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Det", ["r"], ["y"], "det")],
        "reference",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spaces", nargs="+", default=list(SPACES))
    parser.add_argument("--arches", nargs="+", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("configs/acceptance/qnn-npu.yaml"))
    args = parser.parse_args()
    import onnxruntime

    start = time.perf_counter()
    accepted = accepted_htp_arches()
    arches = args.arches or accepted
    print(f"onnxruntime {onnxruntime.__version__}, onnxruntime-qnn {qnn_version()}")
    print(f"htp_arch accepted: {accepted} (probed {list(CANDIDATE_HTP_ARCHES)})")
    reference = check_model(unsupported_reference(), arches[0])
    print(f"reference (Relu + Det): accepted={reference.accepted} refused={reference.refused}")
    results = []
    for space in args.spaces:
        results.extend(check_space(space, arches))
    print()
    print("| space | block kind | " + " | ".join(f"v{a}" for a in arches) + " |")
    print("|---|---|" + "---|" * len(arches))
    rows: dict[tuple[str, str], dict[int, dict]] = {}
    for record in results:
        rows.setdefault((record["space"], record["kind"]), {})[record["htp_arch"]] = record
    for (space, kind), by_arch in rows.items():
        cells = []
        for arch in arches:
            record = by_arch[arch]
            if record["accepted"]:
                cells.append("runs")
            else:
                nodes = ", ".join(f"{r['op']} ({r['reason']})" for r in record["refused"])
                cells.append("refused: " + (nodes or record["errors"][0]))
        print(f"| {space} | {kind} | " + " | ".join(cells) + " |")
    refused = sum(1 for r in results if not r["accepted"])
    print(f"\n{len(rows)} kinds x {len(arches)} arches, {refused} refused, "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    data = {
        "device": "qnn-npu",
        "what": "int8 QDQ block models on the QNN HTP backend, CPU fallback disabled",
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_qnn": qnn_version(),
        "command": "python benchmarks/qnn_op_acceptance.py",
        "htp_arches": arches,
        "reference_refused": not reference.accepted,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, yaml.safe_dump(data, sort_keys=False, width=100))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
