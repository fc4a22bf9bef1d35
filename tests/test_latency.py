"""Latency tables: device profiles, table files, prediction, estimation, calibration, CLI.

Fast tests only (no timing); measuring tests are in test_latency_measure.py.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.errors import ConfigError
from nascli.latency.devices import DeviceProfile, list_devices, load_device, missing_reason
from nascli.latency.table import SCHEMA_VERSION, LatencyTable, diff_tables
from nascli.layers import LayerKey
from nascli.spaces import get_space
from tests.conftest import REPO

runner = CliRunner()
NB201 = get_space("nb201")


# ----------------------------------------------------------------------------- devices
SHIPPED = [
    "cpu",
    "cpu-2t",
    "arm64-cpu",
    "cuda",
    "tensorrt",
    "openvino-cpu",
    "openvino-cpu-int8",
    "openvino-npu",
    "qnn-npu",
    "coreml",
]

EXPECTED = {
    # name: (primary provider, precision, threads, measure, package named in the error)
    "cuda": ("CUDAExecutionProvider", "fp32", 1, "in_context", "onnxruntime-gpu"),
    "tensorrt": ("TensorrtExecutionProvider", "fp16", 1, "in_context", "onnxruntime-gpu"),
    "openvino-cpu": ("OpenVINOExecutionProvider", "fp32", 1, "isolated", "onnxruntime-openvino"),
    "openvino-cpu-int8": (
        "OpenVINOExecutionProvider",
        "int8-qdq",
        1,
        "isolated",
        "onnxruntime-openvino",
    ),
    "openvino-npu": (
        "OpenVINOExecutionProvider",
        "int8-qdq",
        1,
        "in_context",
        "onnxruntime-openvino",
    ),
    "qnn-npu": ("QNNExecutionProvider", "int8-qdq", 1, "in_context", "onnxruntime-qnn"),
    "coreml": ("CoreMLExecutionProvider", "fp32", 1, "in_context", "macOS"),
}


def test_every_required_profile_ships_and_loads() -> None:
    assert set(SHIPPED) <= set(list_devices())
    for name in SHIPPED:
        profile = load_device(name)
        assert profile.name == name
        assert profile.graph_optimization == "all"
        assert profile.providers[-1].name == "CPUExecutionProvider" or name in (
            "cpu",
            "cpu-2t",
            "arm64-cpu",
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerator_profile_configuration_and_clear_error(name: str) -> None:
    provider, precision, threads, measure, package = EXPECTED[name]
    profile = load_device(name)
    assert (
        profile.primary_provider,
        profile.precision,
        profile.intra_op_threads,
        profile.measure,
    ) == (
        provider,
        precision,
        threads,
        measure,
    )
    reason = missing_reason(profile, ["CPUExecutionProvider"])
    assert reason is not None and package in reason and "\n" not in reason
    # host_arch (qnn-npu: timed on the Snapdragon board only) is checked apart.
    any_host = dataclasses.replace(profile, host_arch=None)
    assert missing_reason(any_host, [provider, "CPUExecutionProvider"]) is None


def test_cpu_profiles_session_options() -> None:
    import onnxruntime as ort

    from nascli.latency.devices import session_options

    one, two = load_device("cpu"), load_device("cpu-2t")
    assert missing_reason(one) is None and missing_reason(two) is None
    options = session_options(two)
    assert options.intra_op_num_threads == 2
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session_options(one).intra_op_num_threads == 1


def test_cuda_profile_options_reach_the_session_request() -> None:
    profile = load_device("cuda")
    assert profile.io_binding
    assert profile.providers[0].options["cudnn_conv_algo_search"] == "EXHAUSTIVE"


def test_arm64_profile_refused_on_other_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    reason = missing_reason(load_device("arm64-cpu"), ["CPUExecutionProvider"])
    assert reason is not None and "aarch64" in reason and "bundle" in reason
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert missing_reason(load_device("arm64-cpu"), ["CPUExecutionProvider"]) is None


def test_unknown_device_and_bad_profile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'cuda'"):
        load_device("cudaa")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nproviders: [CPUExecutionProvider]\nprecision: int4\n")
    with pytest.raises(ConfigError, match="precision"):
        load_device(str(bad))
    bad.write_text("name: x\nproviders: []\n")
    with pytest.raises(ConfigError, match="providers"):
        load_device(str(bad))
    bad.write_text("name: x\nproviders: [CPUExecutionProvider]\nthreads: 2\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        load_device(str(bad))


def test_cli_profile_unavailable_provider_is_one_line_exit_2() -> None:
    result = runner.invoke(app, ["profile", "--device", "tensorrt", "--space", "nb201"])
    assert result.exit_code == 2
    assert "onnxruntime-gpu" in result.stderr and result.stderr.count("\n") == 1


def test_cli_profile_refuses_no_probes(tmp_path: Path) -> None:
    args = ["profile", "--device", "cpu", "--space", "nb201", "--method", "regression"]
    result = runner.invoke(app, [*args, "--probes", "0", "--out", str(tmp_path / "t.json")])
    assert result.exit_code == 2
    assert "--probes must be >= 1" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "t.json").exists()


def test_cli_devices_list_json() -> None:
    result = runner.invoke(app, ["devices", "list", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)["devices"]}
    assert rows["cpu"]["available"] is True
    assert rows["cuda"]["available"] is False and "onnxruntime-gpu" in rows["cuda"]["reason"]


# ----------------------------------------------------------------------------- tables
def test_table_round_trip_and_entry_value(tmp_path: Path, tiny_nb201_table) -> None:
    table = tiny_nb201_table()
    table.meta["entry_offset_ms"] = 0.005
    path = table.save(tmp_path / "t.json")
    again = LatencyTable.load(path)
    assert again.entries == table.entries and again.space == "nb201" and again.resolution == 32
    key = next(iter(sorted(again.entries)))
    assert again.value(key) == pytest.approx(again.entries[key]["min_ms"] - 0.005)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_truncated_corrupt_and_foreign_tables(tmp_path: Path, tiny_nb201_table) -> None:
    path = tiny_nb201_table().save(tmp_path / "t.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ConfigError, match="not valid JSON"):
        LatencyTable.load(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ConfigError, match="not a nascli latency table"):
        LatencyTable.load(path)
    data = json.loads(text)
    data["entries"]["nb201_conv:16>16:k3s1:m0:32x32:relu:res=none:post=none"]["min_ms"] = -1
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"min_ms: -1 is less than the minimum of 0"):
        LatencyTable.load(path)
    with pytest.raises(ConfigError, match="does not exist"):
        LatencyTable.load(tmp_path / "nope.json")


def test_newer_schema_version_is_refused(tmp_path: Path, tiny_nb201_table) -> None:
    path = tiny_nb201_table().save(tmp_path / "t.json")
    data = json.loads(path.read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="newer than this nascli supports"):
        LatencyTable.load(path)


def test_table_for_another_space_or_resolution(tmp_path: Path, tiny_nb201_table) -> None:
    table = tiny_nb201_table()
    table.path = tmp_path / "t.json"
    with pytest.raises(ConfigError, match="space 'nb201', not 'mobilenet-imagenet'"):
        table.require("mobilenet-imagenet", 224)
    with pytest.raises(ConfigError, match="resolution 32, not 64"):
        table.require("nb201", 64)
    from nascli.latency.predict import Predictor

    macro = get_space("mobilenet-imagenet")
    with pytest.raises(ConfigError, match="is for space 'nb201'"):
        Predictor(table).predict(macro.initial())


def test_diff_reports_per_key_change(tiny_nb201_table) -> None:
    a = tiny_nb201_table()
    b = tiny_nb201_table()
    key = sorted(b.entries)[3]
    b.entries[key] = {**b.entries[key], "min_ms": b.entries[key]["min_ms"] * 1.5}
    result = diff_tables(a, b)
    assert result["summary"]["common"] == len(a.entries)
    assert result["changes"][0]["key"] == key
    assert result["changes"][0]["change"] == pytest.approx(0.5)
    assert result["summary"]["share_over_10pct"] == pytest.approx(1 / len(a.entries))


# ----------------------------------------------------------------------------- predict
def test_prediction_is_scaled_sum_plus_overhead_by_hand(tiny_nb201_table) -> None:
    from nascli.latency.predict import Predictor

    table = tiny_nb201_table(fit={"scale": 1.1, "overhead_ms": 0.25})
    arch = NB201.parse(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    )
    by_hand = sum(table.entries[k.to_str()]["min_ms"] for k in NB201.layers(arch))
    got = Predictor(table).predict(arch)
    assert got.raw_sum_ms == pytest.approx(by_hand)
    assert got.latency_ms == pytest.approx(1.1 * by_hand + 0.25)
    assert not got.estimated


def test_missing_keys_are_listed(tiny_nb201_table) -> None:
    from nascli.latency.predict import Predictor

    table = tiny_nb201_table()
    table.path = Path("t.json")
    gone = "nb201_pool:32>32:k3s1:m0:16x16:none:res=none:post=none"
    del table.entries[gone]
    arch = NB201.parse("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ConfigError, match="lacks 1 key") as info:
        Predictor(table).predict(arch)
    assert gone in str(info.value)


def test_family_estimate_recovers_a_linear_cost_model() -> None:
    """Entries generated from a known non-negative model are estimated exactly."""
    from nascli.latency.estimate import estimate, features, fit_families

    truth = {
        "one": 0.01,
        "dw_k3": 2e-6,
        "dw_k5": 4e-6,
        "expand": 3e-9,
        "project": 2.5e-9,
        "shortcut": 1e-9,
    }
    rng = random.Random(0)
    entries = {}
    for _ in range(40):
        cin, cout, mid = (
            rng.choice([16, 24, 32, 48]),
            rng.choice([24, 40, 64]),
            rng.choice([32, 96, 192]),
        )
        key = LayerKey(
            "ir",
            cin,
            cout,
            rng.choice([3, 5]),
            2,
            56,
            56,
            mid=mid,
            act="relu",
            residual="proj",
            post_act="relu",
        )
        entries[key.to_str()] = sum(truth[n] * v for n, v in features(key).items())
    families = fit_families(entries)
    assert len(families) == 1
    unseen = LayerKey(
        "ir", 40, 56, 5, 2, 56, 56, mid=144, act="relu", residual="proj", post_act="relu"
    )
    expected = sum(truth[n] * v for n, v in features(unseen).items())
    assert estimate(unseen, families) == pytest.approx(expected, rel=1e-4)
    k7 = LayerKey("ir", 40, 56, 7, 2, 56, 56, mid=144, act="relu", residual="proj", post_act="relu")
    assert estimate(k7, families) is None  # no kernel-7 point in the family: not guessed
    same = LayerKey(
        "ir", 40, 40, 5, 2, 56, 56, mid=144, act="relu", residual="identity", post_act="relu"
    )
    without_shortcut = sum(truth[n] * v for n, v in features(same).items())
    assert estimate(same, families) == pytest.approx(without_shortcut, rel=1e-4)


def test_fit_scale_overhead_and_accuracy_figures_by_hand() -> None:
    from nascli.latency.predict import accuracy_figures, fit_scale_overhead

    raw = [1.0, 2.0, 4.0, 8.0]
    fit = fit_scale_overhead(raw, [1.2 * r + 0.3 for r in raw])
    assert fit["scale"] == pytest.approx(1.2) and fit["overhead_ms"] == pytest.approx(0.3)
    # Times that ignore the block sums: NNLS would say scale 0, overhead 5 (one value for
    # every net, refused by the table schema). The fallback fits the scale alone:
    # ratios x/y = 0.2, 0.4, 0.6 → scale = 1.2 / 0.56
    flat_fit = fit_scale_overhead([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert flat_fit == pytest.approx({"scale": 1.2 / 0.56, "overhead_ms": 0.0})
    figures = accuracy_figures([1.0, 2.2, 2.7, 4.0], [1.0, 2.0, 3.0, 4.2])
    # |errors| / measured = 0, 0.1, 0.1, 0.047619
    assert figures["mape_pct"] == pytest.approx((0 + 0.1 + 0.1 + 0.2 / 4.2) / 4 * 100, abs=1e-3)
    assert figures["within_5pct"] == 0.5 and figures["within_10pct"] == 1.0
    assert figures["spearman"] == pytest.approx(1.0)
    # Constant predictions have no ranking: None, not scipy's NaN (which is not valid JSON).
    flat = accuracy_figures([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert flat["spearman"] is None and flat["kendall"] is None


def test_nb201_enumeration_is_exact() -> None:
    from nascli.latency.grid import nb201_keys

    keys = {k.to_str() for k in nb201_keys(NB201, 32)}
    assert len(keys) == 19  # stem + 5 ops × 3 stages + 2 reductions + head
    rng = random.Random(1)
    for _ in range(50):
        assert {k.to_str() for k in NB201.layers(NB201.sample(rng))} <= keys


def test_macro_grid_is_documented_and_covers_every_family_of_random_nets() -> None:
    from nascli.latency.estimate import family_of
    from nascli.latency.grid import lattice, profile_keys

    assert lattice(16, 96, 8, 5) == [16, 24, 40, 64, 96]
    space = get_space("mobilenet-imagenet")
    keys, info = profile_keys(space, 224)
    assert info["method"] == "grid" and info["grid"]["lattice"] == 5
    families = {family_of(k) for k in keys}
    rng = random.Random(3)
    for _ in range(30):
        for key in space.layers(space.sample(rng)):
            assert family_of(key) in families or key.op == "pool_fc"


def test_prediction_caches_keys_and_archs(tiny_nb201_table) -> None:
    """Repeated predictions are cache hits (speed itself: benchmarks/latency_predict.py)."""
    from nascli.latency.predict import Predictor

    predictor = Predictor(tiny_nb201_table())
    archs = [NB201.from_index(i) for i in range(300)]
    first = [predictor.predict(arch) for arch in archs]
    priced = dict(predictor._by_key)
    assert len(priced) == len({key for arch in archs for key, _ in NB201.key_counts(arch)})
    assert all(predictor.predict(arch) is hit for arch, hit in zip(archs, first, strict=True))
    assert predictor._by_key == priced


# ----------------------------------------------------------------------------- calibrate
def test_calibration_recovers_a_device_that_is_a_per_op_rescaling(tiny_nb201_table) -> None:
    """Target latencies = per-group scales × base sums + overhead: 10 nets recover the rest."""
    from nascli.latency.calibrate import GroupSums
    from nascli.latency.predict import Predictor
    from nascli.latency.recalibrate import calibrate_table

    base = tiny_nb201_table()
    sums = GroupSums(base)
    scales = {g: 1.0 + 0.5 * i for i, g in enumerate(sums.groups)}

    def truth(arch) -> float:
        return sum(scales[g] * s for g, s in zip(sums.groups, sums(arch), strict=True)) + 0.4

    rng = random.Random(0)
    train = [NB201.sample(rng) for _ in range(10)]
    calibrated, info = calibrate_table(base, [(a.body, truth(a)) for a in train], "phone")
    assert calibrated.meta["device"]["name"] == "phone" and info["base_device"] == "cpu"
    predictor = Predictor(calibrated)
    for arch in (NB201.sample(rng) for _ in range(30)):
        assert predictor.predict(arch).latency_ms == pytest.approx(truth(arch), rel=2e-3)


def test_calibration_csv_errors(tmp_path: Path) -> None:
    from nascli.latency.calibrate import read_measurements

    csv_path = tmp_path / "m.csv"
    csv_path.write_text("arch,ms\nnb201:1,3\n")
    with pytest.raises(ConfigError, match="arch,latency_ms"):
        read_measurements(csv_path)
    csv_path.write_text("arch,latency_ms\nnb201:1,abc\nnb201:2,3\n")
    with pytest.raises(ConfigError, match="not a number"):
        read_measurements(csv_path)


def test_calibration_on_real_devices_beats_flops(shared_file) -> None:
    """HELP's measured NB201 latencies: K=10 calibration ranks better than FLOPs (3 devices)."""
    import csv

    import numpy as np
    from scipy.stats import spearmanr

    from nascli.latency.calibrate import GroupSums, fit_calibration

    data = shared_file("nb201_latency_dev_devices.csv")
    table = LatencyTable.load(REPO / "latency_tables" / "cpu" / "nb201-32.json")
    rows = list(csv.DictReader(data.open()))
    subset = random.Random(0).sample(rows, 600)
    sums = GroupSums(table)
    archs = [NB201.from_index(int(r["index"])) for r in subset]
    x = np.array([sums(a) for a in archs])
    flops = np.array([NB201.cost(a).macs for a in archs])
    for device in ("2080ti_1_ms", "titanxp_256_ms", "silver_4210r_ms"):
        y = np.array([float(r[device]) for r in subset])
        fit = fit_calibration(x[:10], y[:10])
        ours = spearmanr(x[10:] @ fit["scales"] + fit["overhead_ms"], y[10:]).statistic
        assert ours > spearmanr(flops[10:], y[10:]).statistic


# ----------------------------------------------------------------------------- CLI on tables
def test_cli_tables_check_shipped_tables_pass() -> None:
    result = runner.invoke(app, ["tables", "check", "--samples", "50", "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    reports = json.loads(result.stdout)["tables"]
    assert {Path(r["path"]).name for r in reports} >= {"nb201-32.json"}
    assert all(r["coverage"] == 1.0 for r in reports)


def test_cli_tables_show_summarises_bulky_metadata() -> None:
    shipped = Path(__file__).resolve().parents[1] / "latency_tables/cpu/mobilenet-imagenet-224.json"
    table = LatencyTable.load(shipped)
    result = runner.invoke(app, ["tables", "show", str(shipped), "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["entries"] == len(table.entries) and "nets" not in shown["accuracy"]
    passes = table.meta["fit_passes"]
    assert shown["fit_passes"] == f"{len(passes)} pass(es) × {len(passes[0])} networks"


def test_cli_tables_check_fails_on_incomplete_table(tmp_path: Path, tiny_nb201_table) -> None:
    path = tiny_nb201_table().save(tmp_path / "nb201-32.json")
    result = runner.invoke(app, ["tables", "check", str(path)])
    assert result.exit_code == 1
    assert "complete: false" in result.stdout and "no accuracy" in result.stdout


def test_cli_predict_json_and_archs_file(tmp_path: Path, tiny_nb201_table) -> None:
    table = tiny_nb201_table(fit={"scale": 2.0, "overhead_ms": 0.5})
    path = table.save(tmp_path / "nb201-32.json")
    listing = tmp_path / "archs.txt"
    listing.write_text("nb201:0\n# comment\nnb201:13714\n")
    result = runner.invoke(
        app, ["predict", "nb201:5", "--archs", str(listing), "--table", str(path), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["table"] == str(path) and payload["space"] == "nb201"
    rows = payload["predictions"]
    assert [r["arch"] for r in rows][1] == NB201.from_index(0).canonical
    arch = NB201.from_index(13714)
    by_hand = 2.0 * sum(table.entries[k.to_str()]["min_ms"] for k in NB201.layers(arch)) + 0.5
    assert (
        rows[2]["latency_ms"] == pytest.approx(by_hand, abs=1e-5) and rows[2]["estimated"] is False
    )


def test_cli_predict_bad_table_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"schema_version": 1, "kind": "nascli-latency-table", "space": ')
    result = runner.invoke(app, ["predict", "nb201:0", "--table", str(path)])
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


def test_cli_calibrate_writes_a_table(tmp_path: Path, tiny_nb201_table) -> None:
    base = tiny_nb201_table().save(tmp_path / "base.json")
    rng = random.Random(4)
    lines = ["arch,latency_ms"] + [f"nb201:{rng.randrange(15625)},{1 + i * 0.1}" for i in range(6)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "cal.json"
    result = runner.invoke(
        app,
        [
            "tables",
            "calibrate",
            "--base",
            str(base),
            "--measurements",
            str(tmp_path / "m.csv"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    table = LatencyTable.load(out)
    assert table.meta["calibration"]["base_device"] == "cpu"
    assert all(e["source"] == "calibrated" for e in table.entries.values())


def test_device_profile_round_trips_through_table_metadata() -> None:
    profile = load_device("cuda")
    again = DeviceProfile.from_dict(
        {k: v for k, v in profile.to_dict().items() if k != "host_arch" or v}, "meta"
    )
    assert again.to_dict() == profile.to_dict()
