"""The latency-tables workflow: every matrix row names a real device profile and its provider."""

from __future__ import annotations

import yaml

from nascli.latency.devices import load_device
from tests.conftest import REPO

PACKAGE_OF = {
    "CPUExecutionProvider": "onnxruntime",
    "CoreMLExecutionProvider": "onnxruntime",
    "OpenVINOExecutionProvider": "onnxruntime-openvino",
    "CUDAExecutionProvider": "onnxruntime-gpu",
    "TensorrtExecutionProvider": "onnxruntime-gpu",
    "QNNExecutionProvider": "onnxruntime-qnn",
}


def test_matrix_rows_swap_in_the_provider_package_their_device_needs() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "latency-tables.yml").read_text())
    rows = workflow["jobs"]["regenerate"]["strategy"]["matrix"]["include"]
    assert {"openvino-cpu", "cpu-int8"} <= {r["device"] for r in rows}
    for row in rows:
        device = load_device(row["device"])
        assert row["provider"] == device.primary_provider, row
        assert row["ort"] == PACKAGE_OF[row["provider"]], row


def test_every_shipped_table_has_a_row_that_regenerates_it() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "latency-tables.yml").read_text())
    rows = workflow["jobs"]["regenerate"]["strategy"]["matrix"]["include"]
    written = {f"{r['device']}/{r['space']}-{r.get('res', 224)}.json" for r in rows}
    shipped = {
        str(path.relative_to(REPO / "latency_tables"))
        for path in (REPO / "latency_tables").glob("*/*.json")
        if path.parent.name != "priors"
    }
    assert shipped and shipped <= written, sorted(shipped - written)
