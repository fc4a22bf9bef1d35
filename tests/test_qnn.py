"""The QNN HTP path: op acceptance, cycle profiles, plugin sessions (Qualcomm's x86 simulator)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from nascli.latency.qnn import qnn_available
from nascli.latency.qnn_accept import kind_of, parse_refusals, refused_kinds, representatives
from nascli.latency.qnn_cycles import read_graph_cycles, spread
from nascli.layers import LayerKey

needs_qnn = pytest.mark.skipif(
    not qnn_available(), reason="onnxruntime-qnn is not importable (pip install nascli[qnn])"
)

LOG = """\
2026 [V:onnxruntime:, qnn_execution_provider.cc:1713 LogNodeSupport] Validation PASSED for 1 \
nodes in OrtNodeUnit (Relu) :
\tOperator type: Relu Node name: r Node index: 0
2026 [V:onnxruntime:, qnn_execution_provider.cc:1713 LogNodeSupport] Validation FAILED for 1 \
nodes in OrtNodeUnit (Det) :
\tOperator type: Det Node name: det Node index: 1
\tREASON : Operators of type `Det` are not supported by QNN EP.
"""

CSV = """\
Msg Timestamp,Message,Time,Unit of Measurement,Timing Source,Event Level,Event Identifier
0,FINALIZE,27652,US,BACKEND,ROOT,QNN (finalize) time
0,BACKEND,3331519,CYCLES,BACKEND,ROOT,Accelerator (execute) time (cycles)
0,NODE,700228,CYCLES,BACKEND,SUB-EVENT,/0/Conv_token_1:OpId_26 (cycles)
0,BACKEND,27033,US,BACKEND,ROOT,Accelerator (execute) time
0,BACKEND,4422947,CYCLES,BACKEND,ROOT,Accelerator (execute) time (cycles)
"""


def _model(nodes, shape_in, shape_out) -> bytes:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape_out)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_parse_refusals_names_the_failed_node_and_reason() -> None:
    assert parse_refusals(LOG) == [
        {
            "op": "Det",
            "node": "det",
            "reason": "Operators of type `Det` are not supported by QNN EP.",
        }
    ]


def test_block_kind_strings() -> None:
    ir = LayerKey("ir", 16, 24, 5, 2, 28, 28, mid=96, act="relu", residual="proj", post_act="relu")
    assert kind_of(ir) == "ir k5 s2 relu res=proj post=relu expand"
    assert kind_of(LayerKey("nb201_pool", 16, 16, 3, 1, 32, 32)) == "nb201_pool k3 s1 none"


def test_representatives_are_the_smallest_and_largest_of_a_kind() -> None:
    small = LayerKey("conv", 8, 8, 3, 1, 8, 8, act="relu")
    big = LayerKey("conv", 64, 64, 3, 1, 8, 8, act="relu")
    middle = LayerKey("conv", 16, 16, 3, 1, 8, 8, act="relu")
    other = LayerKey("conv", 8, 8, 1, 1, 8, 8, act="relu")
    reps = representatives([middle, big, other, small])
    assert reps == {"conv k1 s1 relu": [other], "conv k3 s1 relu": [small, big]}


def test_refused_kinds_per_space_and_arch() -> None:
    data = {
        "results": [
            {"space": "a", "kind": "x", "htp_arch": 68, "accepted": False},
            {"space": "a", "kind": "x", "htp_arch": 73, "accepted": True},
            {"space": "b", "kind": "y", "htp_arch": 68, "accepted": False},
        ]
    }
    assert refused_kinds(data, "a") == {"x": [68]}
    assert refused_kinds(data) == {"x": [68], "y": [68]}


def test_graph_cycles_are_read_per_run(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    assert read_graph_cycles(path) == [3331519, 4422947]
    assert spread([90, 100, 110]) == pytest.approx(0.2)


@needs_qnn
def test_htp_refuses_an_unsupported_op_and_accepts_a_supported_one() -> None:
    from nascli.latency.qnn_accept import check_model

    refused = check_model(
        _model(
            [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Det", ["r"], ["y"], "det")],
            [2, 3, 3],
            [2],
        ),
        73,
    )
    assert not refused.accepted
    assert [(r["op"], r["node"]) for r in refused.refused] == [("Det", "det")]
    assert "not supported" in refused.refused[0]["reason"]
    relu = _model([helper.make_node("Relu", ["x"], ["y"])], [1, 4, 4], [1, 4, 4])
    accepted = check_model(relu, 73)
    assert accepted.accepted and accepted.refused == []


@needs_qnn
def test_int8_block_runs_on_htp_without_cpu_fallback(tmp_path: Path) -> None:
    from nascli.latency.qnn_accept import block_model, check_model
    from nascli.latency.qnn_cycles import simulate_cycles

    key = LayerKey("nb201_conv", 8, 8, 3, 1, 8, 8, act="relu")
    path = tmp_path / "b.onnx"
    block_model(key, path)
    assert check_model(str(path), 73).accepted
    cycles = simulate_cycles(str(path), 73, 2)
    assert len(cycles) == 2 and all(c > 0 for c in cycles)


@needs_qnn
def test_qnn_npu_profile_session_runs_through_the_plugin(tmp_path: Path) -> None:
    from nascli.latency.devices import load_device, make_session

    session = make_session(
        load_device("qnn-npu"), _model([helper.make_node("Relu", ["x"], ["y"])], [1, 4], [1, 4])
    )
    assert "QNNExecutionProvider" in session.get_providers()
    out = session.run(None, {"x": np.array([[-1.0, 0.0, 2.0, -3.0]], np.float32)})[0]
    np.testing.assert_allclose(out, [[0.0, 0.0, 2.0, 0.0]], atol=1e-2)


def test_search_never_accepts_a_refused_block_kind() -> None:
    """A latency model that refuses nb201's avg-pool edge makes nets with one infeasible."""
    import random
    from dataclasses import replace

    from nascli.budget import parse_budget
    from nascli.search.components import load_latency_model
    from nascli.search.constraints import Constraints
    from nascli.spaces import get_space

    space = get_space("nb201")
    model = load_latency_model("cpu", "nb201", 32, None)
    refused = replace(model, refused=frozenset({"nb201_pool k3 s1 none"}))
    constraints = Constraints(space, [parse_budget("1000ms@cpu", ["cpu"])], {"cpu": refused})
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(40)]
    with_pool = [a for a in archs if any(k.op == "nb201_pool" for k in space.layers(a))]
    without = [a for a in archs if a not in with_pool]
    assert with_pool and without
    assert all(constraints.check(a).over() == ["refused@cpu"] for a in with_pool)
    assert all(constraints.check(a).feasible for a in without)


def test_devices_show_lists_what_the_npu_cannot_run(tmp_path, monkeypatch) -> None:
    """A project's own acceptance file (cwd root) is what ``devices show`` reports."""
    from typer.testing import CliRunner

    from nascli.cli import app

    folder = tmp_path / "configs" / "acceptance"
    folder.mkdir(parents=True)
    record = {"space": "nb201", "htp_arch": 68, "keys": []}
    data = {
        "htp_arches": [68],
        "onnxruntime_qnn": "2.7.0",
        "results": [
            {**record, "kind": "nb201_pool k3 s1 none", "accepted": False},
            {**record, "kind": "nb201_skip k1 s1 none", "accepted": True},
        ],
    }
    (folder / "qnn-npu.yaml").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["devices", "show", "qnn-npu", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["blocks_checked"].startswith("2 block kinds of nb201")
    assert info["cannot_run"] == {"nb201": {"nb201_pool k3 s1 none": [68]}}


NB201_ARCH = "nb201:|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|"


def test_cycles_attributed_to_blocks_by_node_name() -> None:
    """Node cycles go to the edge/block whose module path prefixes them; the rest is overhead."""
    import random

    from nascli.latency.qnn_context import attribute_cycles
    from nascli.spaces import get_space

    space = get_space("nb201")
    keys = space.layers(space.sample(random.Random(0)))
    nodes = {
        "Input OpId_2": 7,
        "input_QuantizeLinear:OpId_16": 100,
        "/features/features.0/features.0.0/Conv_token_1:OpId_20": 1000,
        "/features/features.1/edges.0/edges.0.1/Conv_token_2:OpId_30": 20,
        "/features/features.1/edges.0/edges.0.1/Conv_output_0_QuantizeLinear:OpId_31": 3,
        "/features/features.1/edges.5/edges.5.1/Conv_token_3:OpId_40": 50,
        "/head/head.3/Gemm_token_9:OpId_90": 400,
    }
    per_key, overhead = attribute_cycles(nodes, keys)
    assert per_key[0] == 1000 and per_key[1] == 23 and per_key[6] == 50
    assert per_key[-1] == 400 and overhead == 107
    assert sum(per_key) + overhead == sum(nodes.values())


def test_cycles_budget_and_table_unit() -> None:
    from nascli.budget import parse_budget
    from nascli.errors import ConfigError
    from nascli.latency.table import LatencyTable

    budget = parse_budget("2.5Mcycles@qnn-htp-sim")
    assert (budget.kind, budget.limit, budget.unit) == ("latency", 2.5e6, "htp_cycles")
    assert parse_budget("8ms@cpu").unit == "ms"
    with pytest.raises(ConfigError, match="accepted forms"):
        parse_budget("2Mcycle@qnn-htp-sim")
    data = json.loads((Path("latency_tables/cpu/nb201-32.json")).read_text())
    assert LatencyTable.from_data(data, "t").unit == "ms"
    with pytest.raises(ConfigError, match="unit must be one of"):
        LatencyTable.from_data({**data, "unit": "furlongs"}, "t")


@needs_qnn
@pytest.mark.slow
def test_cycles_table_profiles_validates_and_prices_in_cycles(tmp_path: Path) -> None:
    from nascli.latency.devices import load_device
    from nascli.latency.predict import Predictor
    from nascli.latency.profile import FIT_SEED, random_archs
    from nascli.latency.qnn_table import profile_cycles_table
    from nascli.latency.table import LatencyTable
    from nascli.spaces import get_space

    out = tmp_path / "nb201-8.json"
    device = load_device("qnn-htp-sim")
    profile_cycles_table(device, "nb201", 8, out, probes=4, nets=2, runs=1)
    table = LatencyTable.load(out)
    assert table.unit == "htp_cycles" and "htp_arch 73" in table.meta["unit_note"]
    space = get_space("nb201")
    probe = random_archs(space, 1, FIT_SEED)[0]  # every key of the probe has an entry
    rng = random.Random(1)
    priced = [a for a in (space.sample(rng) for _ in range(100)) if _covered(table, space, a)]
    assert table.meta["accuracy"]["n"] == 2
    for arch in [probe, *priced[:4]]:
        expected = table.meta["fit"]["overhead_ms"] + sum(
            table.entries[k.to_str()]["median_ms"] * n
            for k, n in space.key_counts(arch, resolution=8)
        )
        assert Predictor(table).predict(arch).latency_ms == pytest.approx(expected)


def _covered(table, space, arch) -> bool:
    return all(k.to_str() in table.entries for k, _ in space.key_counts(arch, resolution=8))


@needs_qnn
@pytest.mark.slow
def test_export_writes_an_epcontext_model_that_loads_without_cpu_fallback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nascli.cli import app
    from nascli.latency.qnn import htp_session

    out = tmp_path / "net.onnx"
    args = ["export", NB201_ARCH, "--onnx", str(out), "--device", "qnn-npu", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    context = Path(info["qnn_context_onnx"])
    assert context == tmp_path / "net.qnn_ctx.onnx" and info["epcontext_nodes"] >= 1
    model = onnx.load(str(context))
    assert {n.op_type for n in model.graph.node} == {"EPContext"}
    session = htp_session(str(context), htp_arch=73)  # CPU fallback disabled
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    logits = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert logits.shape == (1, 10) and np.isfinite(logits).all()


def test_export_device_must_be_a_qnn_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nascli.cli import app

    args = ["export", NB201_ARCH, "--onnx", str(tmp_path / "n.onnx"), "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "QNN devices only" in result.stderr and result.stderr.count("\n") == 1


def test_cycles_budget_on_a_milliseconds_table_is_refused(tmp_path: Path, monkeypatch) -> None:
    """``2Mcycles@DEV`` needs DEV's table in cycles; a ms table under that name is bad input."""
    import shutil

    from typer.testing import CliRunner

    from nascli.cli import app

    folder = tmp_path / "latency_tables" / "qnn-htp-sim"
    folder.mkdir(parents=True)
    shutil.copy(Path("latency_tables/cpu/nb201-32.json").resolve(), folder / "nb201-32.json")
    monkeypatch.chdir(tmp_path)
    args = ["search", "--space", "nb201", "--budget", "2Mcycles@qnn-htp-sim", "--out", "r"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "is in htp_cycles but the qnn-htp-sim table" in result.stderr
    assert result.stderr.count("\n") == 1


@needs_qnn
@pytest.mark.slow
def test_search_output_adds_the_context_model_for_a_qnn_target(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from nascli.export import export_onnx
    from nascli.search.outputs import _qnn_context
    from nascli.spaces import resolve_arch

    best = tmp_path / "best.onnx"
    export_onnx(resolve_arch(NB201_ARCH, None), best)
    files: dict[str, str] = {}
    _qnn_context(SimpleNamespace(latency={"cpu": None}), best, files)
    assert files == {}  # no QNN target: nothing more
    _qnn_context(SimpleNamespace(latency={"qnn-htp-sim": None}), best, files)
    assert files == {"best_qnn_context": str(tmp_path / "best.qnn_ctx.onnx")}
    assert (tmp_path / "best.qdq.onnx").is_file()


@needs_qnn
@pytest.mark.slow
def test_cycles_table_calibrated_to_ms_from_a_board_bundle(tmp_path: Path) -> None:
    """Part of the NPU path without the board: the simulator stands in for the Snapdragon.

    A qnn-npu bundle is run by its stand-alone runner (plugin EP, HTP simulator here), and
    ``tables calibrate`` turns the cycles table into milliseconds from its networks.
    """
    import subprocess
    import sys
    import zipfile

    from nascli.latency.bundle import write_bundle
    from nascli.latency.devices import load_device
    from nascli.latency.predict import Predictor
    from nascli.latency.qnn_table import profile_cycles_table
    from nascli.latency.recalibrate import calibrate_table
    from nascli.latency.table import LatencyTable
    from nascli.latency.timing import TimingProtocol
    from nascli.spaces import get_space, resolve_arch

    cycles_path = tmp_path / "nb201-8.json"
    profile_cycles_table(
        load_device("qnn-htp-sim"), "nb201", 8, cycles_path, probes=3, nets=1, runs=1
    )
    cycles = LatencyTable.load(cycles_path)
    bundle = tmp_path / "bundle.zip"
    write_bundle(
        load_device("qnn-npu"), "nb201", 8, bundle, protocol=TimingProtocol.quick(), fit_nets=4
    )
    (tmp_path / "run_bundle.py").write_bytes(zipfile.ZipFile(bundle).read("run_bundle.py"))
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(tmp_path / "run_bundle.py"), "--bundle", str(bundle),
         "--out", str(results), "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    space = get_space("nb201")
    nets = [
        (n["arch"], n["median_ms"])
        for n in json.loads(results.read_text())["networks"]
        if all(
            k.to_str() in cycles.entries
            for k, _ in space.key_counts(resolve_arch(n["arch"], "nb201"), resolution=8)
        )
    ]
    assert len(nets) >= 2, "the probes' keys price too few of the bundle's networks"
    table, info = calibrate_table(cycles, nets, "snapdragon-sim", prior="auto")
    assert table.unit == "ms" and info["base_unit"] == "htp_cycles" and info["prior"] is None
    assert "unit_note" not in table.meta
    arch = resolve_arch(nets[0][0], "nb201")
    by_hand = info["overhead_ms"] + sum(
        table.entries[k.to_str()]["median_ms"] * n for k, n in space.key_counts(arch, resolution=8)
    )
    assert Predictor(table).predict(arch).latency_ms == pytest.approx(by_hand, rel=1e-6)


def test_backend_options_for_the_plugin_and_the_classic_builds(monkeypatch) -> None:
    from types import SimpleNamespace

    from nascli.latency import qnn

    wheel = SimpleNamespace(
        get_qnn_htp_path=lambda: "/w/libQnnHtp.so", get_qnn_cpu_path=lambda: "/w/libQnnCpu.so"
    )
    monkeypatch.setattr(qnn, "qnn_module", lambda: wheel)
    options = {"backend_path": "QnnHtp.dll", "htp_arch": 73}
    assert qnn.resolve_backend(options) == {"backend_path": "/w/libQnnHtp.so", "htp_arch": "73"}
    assert qnn.resolve_backend({"backend_type": "cpu"}) == {"backend_path": "/w/libQnnCpu.so"}
    monkeypatch.setattr(qnn, "qnn_module", lambda: None)  # onnxruntime-qnn 1.x
    assert qnn.resolve_backend(options)["backend_path"] == "QnnHtp.dll"
    assert qnn.resolve_backend({"backend_path": "htp"}) == {"backend_type": "htp"}
    assert qnn.resolve_backend({}) == {"backend_type": "htp"}
