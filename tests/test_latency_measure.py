"""Latency measurement on this machine with tiny models and few repeats.

NB201 at 8×8 px keeps every model tiny; TimingProtocol.quick() keeps repeats few.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from nascli.errors import ConfigError
from nascli.latency.devices import load_device
from nascli.latency.measure import attribute_profile, block_prefixes
from nascli.latency.table import LatencyTable
from nascli.latency.timing import TimingProtocol, merge_summaries, summarize
from nascli.layers import LayerKey
from nascli.spaces import get_space

NB201 = get_space("nb201")
QUICK = TimingProtocol.quick()


def test_summary_statistics_by_hand() -> None:
    stats = summarize([4.0, 1.0, 3.0, 2.0, 5.0])
    assert stats == {"median_ms": 3.0, "min_ms": 1.0, "p10_ms": 1.4, "p90_ms": 4.6, "n": 5}


def test_pooled_summaries_by_hand() -> None:
    old = summarize([4.0, 1.0, 3.0, 2.0, 5.0])  # median 3, p10 1.4, p90 4.6
    new = {**summarize([2.0, 0.5, 2.5]), "source": "isolated"}  # median 2, p10 0.8, p90 2.4
    pooled = merge_summaries(old, new)
    assert pooled["min_ms"] == 0.5 and pooled["n"] == 8 and pooled["source"] == "isolated"
    assert pooled["median_ms"] == pytest.approx((3.0 * 5 + 2.0 * 3) / 8)
    assert pooled["p10_ms"] == pytest.approx((1.4 * 5 + 0.8 * 3) / 8)
    assert merge_summaries(None, new) == new


def test_protocol_validation() -> None:
    with pytest.raises(ConfigError):
        TimingProtocol(runs=0)
    with pytest.raises(ConfigError):
        TimingProtocol(passes=0)
    # Tables written before ``passes`` existed read back as one pass.
    legacy = {k: v for k, v in TimingProtocol().to_dict().items() if k != "passes"}
    assert TimingProtocol.from_dict(legacy) == TimingProtocol(passes=1)
    assert TimingProtocol().passes == 2 and TimingProtocol.quick().passes == 1
    with pytest.raises(ConfigError):
        TimingProtocol(statistic="mean")
    assert TimingProtocol().runs >= 50 and TimingProtocol().warmup_runs >= 10
    assert TimingProtocol(runs=50, rounds=3).runs_per_round * 3 >= 50


def test_profiler_events_are_attributed_to_blocks_by_hand() -> None:
    """Synthetic ORT trace: 2 runs (1 warm-up) of a 3-block macro net."""
    keys = [
        LayerKey("conv", 3, 8, 3, 2, 16, 16, act="relu"),
        LayerKey("ir", 8, 8, 3, 1, 8, 8, mid=16, act="relu", residual="identity", post_act="relu"),
        LayerKey("pool_fc", 8, 10, 1, 1, 8, 8),
    ]
    assert block_prefixes(keys)[0][0].startswith("/features/features.")

    def node(name: str, ts: int, dur: int) -> dict:
        return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur}

    events = [
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 100},
        node("/features/features.0/features.0.0/Conv", 1, 50),
        {"cat": "Session", "name": "model_run", "ts": 1000, "dur": 400},
        node("/features/features.0/features.0.0/Conv", 1000, 100),  # owner 0: 100 µs
        node("ReorderOutput", 1110, 20),  # no path: previous block's (0), gap 10 + 20
        node("/features/features.1/body/body.0/Conv", 1140, 150),  # gap 10 + 150 -> block 1
        node("/head/fc/Gemm", 1300, 90),  # gap 10 + 90 -> block 2
    ]
    per_run, loose, totals = attribute_profile(events, keys, skip_runs=1)
    assert len(per_run) == 1 and totals == [0.4]
    assert per_run[0] == pytest.approx([0.13, 0.16, 0.10])
    assert loose == [0.0]
    per_run, _, _ = attribute_profile(events, keys, skip_runs=1, node_overhead_ms=0.005)
    assert per_run[0] == pytest.approx([0.125, 0.155, 0.095])  # Conv floors at its kernel
    # The profiler correction never takes a node below its own kernel time.
    per_run, _, _ = attribute_profile(events, keys, skip_runs=1, node_overhead_ms=1.0)
    assert per_run[0] == pytest.approx([0.12, 0.15, 0.09])


def test_nb201_prefixes_map_edges_and_reductions() -> None:
    keys = NB201.layers(NB201.from_index(7), resolution=8)
    prefixes = dict(block_prefixes(keys))
    assert prefixes["/features/features.1/edges.0/"] == 1
    assert prefixes["/features/features.1/edges.5/"] == 6
    assert keys[prefixes["/features/features.6/"]].op == "nb201_res"
    assert prefixes["/head/"] == len(keys) - 1


@pytest.mark.slow
def test_isolated_profile_resumes_after_interruption(tmp_path: Path) -> None:
    from nascli.latency import measure
    from nascli.latency.profile import profile_table

    out = tmp_path / "nb201-8.json"
    device = load_device("cpu")
    original = measure.CHUNK
    measure.CHUNK = 6

    def interrupting(name: str, total: int):
        def report(done: int, _what: str) -> None:
            if name == "blocks" and done:
                raise KeyboardInterrupt

        return report

    try:
        with pytest.raises(KeyboardInterrupt):
            profile_table(device, "nb201", 8, out, protocol=QUICK, fit_nets=2, stage=interrupting)
        partial = LatencyTable.load(out)
        assert len(partial.entries) == 6 and partial.meta["complete"] is False
        kept = dict(partial.entries)
        table = profile_table(device, "nb201", 8, out, protocol=QUICK, fit_nets=2)
    finally:
        measure.CHUNK = original
    assert len(table.entries) == 19 and table.meta["complete"] is True
    assert all(table.entries[k] == v for k, v in kept.items())
    for field in ("host", "software", "export", "protocol", "device", "fit", "entry_offset_ms"):
        assert field in table.meta
    assert table.meta["export"]["opset"] == 17
    with pytest.raises(ConfigError, match="another device"):
        profile_table(load_device("cpu-2t"), "nb201", 8, out, protocol=QUICK, fit_nets=0)


@pytest.mark.slow
def test_passes_pool_samples_and_resume_mid_pass(tmp_path: Path) -> None:
    """Pass 2 re-times every key; an interruption inside it resumes only the keys it lacks."""
    from nascli.latency import measure
    from nascli.latency.profile import profile_table

    out = tmp_path / "nb201-8.json"
    two = replace(QUICK, passes=2)
    per_pass = QUICK.runs_per_round * QUICK.rounds

    def interrupting(name: str, total: int):
        def report(done: int, _what: str) -> None:
            if name == "blocks, pass 2" and done:
                raise KeyboardInterrupt

        return report

    original = measure.CHUNK
    measure.CHUNK = 6
    try:
        with pytest.raises(KeyboardInterrupt):
            profile_table(load_device("cpu"), "nb201", 8, out, protocol=two, fit_nets=2,
                          stage=interrupting)  # fmt: skip
        partial = LatencyTable.load(out).entries
        assert sorted(e["passes"] for e in partial.values()) == [1] * 13 + [2] * 6
        assert all(e["n"] == per_pass * e["passes"] for e in partial.values())
        # The fit networks were timed right after pass 1, before pass 2 began.
        assert len(LatencyTable.load(out).meta["fit_passes"]) == 1
        table = profile_table(load_device("cpu"), "nb201", 8, out, protocol=two, fit_nets=2)
    finally:
        measure.CHUNK = original
    assert all(e["passes"] == 2 and e["n"] == 2 * per_pass for e in table.entries.values())
    fit_passes = table.meta["fit_passes"]
    assert len(fit_passes) == 2 and all(len(p) == 2 for p in fit_passes)
    pooled_min = [min(a["min_ms"], b["min_ms"]) for a, b in zip(*fit_passes, strict=True)]
    from nascli.latency.predict import Predictor
    from nascli.latency.profile import FIT_SEED, random_archs

    unfitted = Predictor(table, fit={"scale": 1.0, "overhead_ms": 0.0})
    sums = [unfitted.predict(a).raw_sum_ms for a in random_archs(NB201, 2, FIT_SEED)]
    expected = [round(m / r, 4) for m, r in zip(pooled_min, sums, strict=True)]
    assert table.meta["fit"]["raw_sum_ratio"] == expected  # the fit used both passes' minima
    for text, entry in partial.items():
        if entry["passes"] == 2:
            assert table.entries[text] == entry  # not timed a third time
        else:
            assert table.entries[text]["min_ms"] <= entry["min_ms"]


@pytest.mark.slow
def test_network_timing_pools_passes() -> None:
    from nascli.latency.measure import measure_networks

    archs = [NB201.from_index(7), NB201.from_index(13714)]
    one = measure_networks("nb201", archs, 8, load_device("cpu"), QUICK)
    two = measure_networks("nb201", archs, 8, load_device("cpu"), replace(QUICK, passes=2))
    per_pass = QUICK.runs_per_round * QUICK.rounds
    assert [s["n"] for s in one] == [per_pass] * 2 and [s["n"] for s in two] == [2 * per_pass] * 2


@pytest.mark.slow
def test_in_context_profile_and_validate(tmp_path: Path) -> None:
    from nascli.latency.profile import profile_table, validate_table

    out = tmp_path / "nb201-8.json"
    device = load_device("cpu-2t")
    two = replace(QUICK, passes=2)
    table = profile_table(device, "nb201", 8, out, protocol=two, probes=3, fit_nets=2)
    assert len(table.entries) == 19
    # Two passes: every probe ran twice, the fit networks were timed after each pass.
    assert table.meta["in_context"]["probes_done"] == 6 and len(table.meta["fit_passes"]) == 2
    assert {e["source"] for e in table.entries.values()} == {"in_context"}
    conv = table.entries["nb201_conv:16>16:k3s1:m0:8x8:relu:res=none:post=none"]
    assert conv["min_ms"] > 0
    accuracy = validate_table(table, device, 3, protocol=QUICK)
    assert accuracy["n"] == 3 and 0 <= accuracy["within_10pct"] <= 1
    assert LatencyTable.load(out).meta["accuracy"]["mape_pct"] == accuracy["mape_pct"]


@pytest.mark.slow
def test_regression_method_on_nb201(tmp_path: Path) -> None:
    from nascli.latency.profile import profile_table

    table = profile_table(
        load_device("cpu"),
        "nb201",
        8,
        tmp_path / "nb201-8.json",
        protocol=replace(QUICK, clock="thread_cpu"),
        method="regression",
        probes=16,
    )
    sources = {e["source"] for e in table.entries.values()}
    assert sources == {"regression", "regression-constant"}
    with pytest.raises(ConfigError, match="few keys"):
        profile_table(
            load_device("cpu"),
            "mobilenet-imagenet",
            224,
            tmp_path / "m.json",
            protocol=QUICK,
            method="regression",
        )
    with pytest.raises(ConfigError, match="1-thread CPU"):
        profile_table(
            load_device("cpu-2t"),
            "nb201",
            8,
            tmp_path / "x.json",
            protocol=replace(QUICK, clock="thread_cpu"),
        )


@pytest.mark.slow
def test_bundle_round_trip_with_the_runner_in_a_subprocess(tmp_path: Path) -> None:
    from nascli.latency.bundle import import_results, write_bundle
    from nascli.latency.predict import Predictor

    zip_path = tmp_path / "bundle.zip"
    manifest = write_bundle(load_device("cpu"), "nb201", 8, zip_path, protocol=QUICK, fit_nets=2)
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "run_bundle.py", "null.onnx"} <= names
    assert len(manifest["models"]) == 19
    runner_source = zipfile.ZipFile(zip_path).read("run_bundle.py").decode()
    assert "import nascli" not in runner_source and "torch" not in runner_source
    results = tmp_path / "results.json"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
            "open(sys.argv[2], 'wb').write(z.read('run_bundle.py'))",
            str(zip_path),
            str(tmp_path / "run_bundle.py"),
        ],
        check=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "run_bundle.py"),
            "--bundle",
            str(zip_path),
            "--out",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    table = import_results(results)
    assert len(table.entries) == 19
    assert {e["source"] for e in table.entries.values()} == {"imported"}
    assert table.meta["fit"]["nets"] == 2
    prediction = Predictor(table).predict(NB201.from_index(0))
    assert prediction.latency_ms > 0
    broken = tmp_path / "broken.json"
    broken.write_text(results.read_text()[:100])
    with pytest.raises(ConfigError, match="not valid JSON"):
        import_results(broken)
    assert json.loads(results.read_text())["entries"]


@pytest.mark.slow
def test_int8_and_fp16_models_run_on_cpu(tmp_path: Path) -> None:
    """The profiler's precision conversions produce models ORT runs (QDQ nodes present)."""
    import onnx
    import onnxruntime as ort

    from nascli.latency.models import convert_precision, export_block
    from nascli.latency.timing import seeded_input

    key = LayerKey("ir", 8, 16, 3, 1, 8, 8, mid=32, act="relu", residual="proj", post_act="relu")
    for precision in ("int8-qdq", "fp16"):
        path = tmp_path / f"{precision}.onnx"
        export_block(key, path)
        convert_precision(path, precision)
        ops = {n.op_type for n in onnx.load(str(path)).graph.node}
        if precision == "int8-qdq":
            assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": seeded_input((1, 8, 8, 8), 0)})[0]
        assert out.shape == (1, 16, 8, 8)


def test_thread_cpu_clock_only_where_one_thread_does_all_the_work() -> None:
    """CPU EP at 1 thread and OpenVINO's CPU device at num_of_threads 1 compute on the
    calling thread; 2 threads or a GPU do not, so the thread clock would under-count."""
    from nascli.latency.devices import load_device
    from nascli.latency.profile import check_protocol, runs_on_calling_thread
    from nascli.latency.timing import TimingProtocol

    assert runs_on_calling_thread(load_device("cpu"))
    assert runs_on_calling_thread(load_device("openvino-cpu"))
    assert runs_on_calling_thread(load_device("openvino-cpu-int8"))
    assert not runs_on_calling_thread(load_device("cpu-2t"))
    assert not runs_on_calling_thread(load_device("cuda"))
    check_protocol(load_device("openvino-cpu"), TimingProtocol(clock="thread_cpu"))
    with pytest.raises(ConfigError, match="1-thread CPU device"):
        check_protocol(load_device("cpu-2t"), TimingProtocol(clock="thread_cpu"))
