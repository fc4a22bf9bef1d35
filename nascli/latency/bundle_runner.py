"""Time a nascli latency bundle on this board. Needs only onnxruntime and numpy.

    python run_bundle.py [--bundle DIR_OR_ZIP] [--out results.json] [--quick]

Same protocol as ``nascli profile`` (read from manifest.json): fresh session per model,
seeded input, warm-up >= warmup_runs and >= warmup_s, timed runs over shuffled rounds,
repeated in `passes` passes over all models (samples pooled);
stores median/min/p10/p90/n per model. Copy results.json back and run
``nascli tables import results.json --out TABLE``.
"""

import argparse
import json
import os
import platform
import random
import tempfile
import time
import zipfile

import numpy as np
import onnxruntime as ort

LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def make_session(path, device):
    session = device["session"]
    options = ort.SessionOptions()
    options.graph_optimization_level = LEVELS[session["graph_optimization"]]
    options.intra_op_num_threads = session["intra_op_threads"]
    options.inter_op_num_threads = session["inter_op_threads"]
    spin = "1" if session["allow_spinning"] else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    options.log_severity_level = 3
    primary = device["providers"][0]
    if primary["name"] == "QNNExecutionProvider" and qnn_plugin(options, primary["options"]):
        return ort.InferenceSession(path, sess_options=options)
    available = ort.get_available_providers()
    providers = [
        (p["name"], {k: str(v) for k, v in p["options"].items()})
        for p in device["providers"]
        if p["name"] in available
    ]
    if not providers or providers[0][0] != device["providers"][0]["name"]:
        raise SystemExit(
            f"error: {device['providers'][0]['name']} is not available here "
            f"(have {', '.join(available)})"
        )
    return ort.InferenceSession(path, sess_options=options, providers=providers)


def qnn_plugin(options, provider_options):
    """Attach onnxruntime-qnn 2.x (a plugin beside onnxruntime); False if it is absent."""
    try:
        import onnxruntime_qnn as qnn
    except ImportError:
        return False
    if not hasattr(ort, "register_execution_provider_library"):
        return False
    name = qnn.get_ep_name()
    devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
    if not devices:
        ort.register_execution_provider_library(name, qnn.get_library_path())
        devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
    if not devices:
        return False
    values = {k: str(v) for k, v in provider_options.items()}
    values["backend_path"] = qnn.get_qnn_htp_path()  # the wheel's own HTP library
    options.add_provider_for_devices(devices, values)
    return True


def clock_fn(name):
    return time.perf_counter_ns if name == "wall" else time.thread_time_ns


def time_models(paths_shapes, device, protocol):
    """Pooled samples of every model over ``passes`` passes (fresh sessions in each)."""
    rng = random.Random(protocol["seed"])
    samples = [[] for _ in paths_shapes]
    for _ in range(protocol.get("passes", 1)):
        for i, values in enumerate(time_pass(paths_shapes, device, protocol, rng)):
            samples[i].extend(values)
    return [summarize(s) for s in samples]


def time_pass(paths_shapes, device, protocol, rng):
    clock = clock_fn(protocol.get("clock", "wall"))
    per_round = -(-protocol["runs"] // protocol["rounds"])
    runners = []
    for path, shape in paths_shapes:
        session = make_session(path, device)
        rng_in = np.random.default_rng(protocol["seed"])
        kind = session.get_inputs()[0].type
        if kind in ("tensor(uint8)", "tensor(int8)"):  # int8 block without boundary Q/DQ
            info = np.iinfo(np.uint8 if kind == "tensor(uint8)" else np.int8)
            x = rng_in.integers(info.min, info.max + 1, size=shape, dtype=info.dtype)
        else:
            x = rng_in.standard_normal(shape).astype(np.float32)
        feeds = {session.get_inputs()[0].name: x}
        runners.append((session, feeds))
    samples = [[] for _ in runners]
    for session, feeds in runners:
        start, done = time.perf_counter(), 0
        while done < protocol["warmup_runs"] or time.perf_counter() - start < protocol["warmup_s"]:
            session.run(None, feeds)
            done += 1
    for round_index in range(protocol["rounds"]):
        order = list(range(len(runners)))
        rng.shuffle(order)
        for i in order:
            session, feeds = runners[i]
            if round_index > 0:
                for _ in range(protocol["rewarm_runs"]):
                    session.run(None, feeds)
            for _ in range(per_round):
                t0 = clock()
                session.run(None, feeds)
                samples[i].append((clock() - t0) / 1e6)
    return samples


def summarize(values):
    v = np.asarray(values, dtype=np.float64)
    p10, median, p90 = np.percentile(v, [10, 50, 90])
    return {
        "median_ms": float(median),
        "min_ms": float(v.min()),
        "p10_ms": float(p10),
        "p90_ms": float(p90),
        "n": int(v.size),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default="results.json")
    parser.add_argument("--quick", action="store_true", help="few repeats (smoke test only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.bundle
        if zipfile.is_zipfile(folder):
            with zipfile.ZipFile(folder) as archive:
                archive.extractall(tmp)
            folder = tmp
        with open(os.path.join(folder, "manifest.json")) as handle:
            manifest = json.load(handle)
        device, protocol = manifest["device"], dict(manifest["protocol"])
        if args.quick:
            protocol.update(warmup_runs=2, warmup_s=0.0, runs=4, rounds=2, rewarm_runs=1, passes=1)
        started = time.time()
        null = (os.path.join(folder, "null.onnx"), [device["batch_size"], 8, 8, 8])
        offset = time_models([null], device, protocol)[0][f"{protocol['statistic']}_ms"]
        blocks = time_models(
            [(os.path.join(folder, m["file"]), m["shape"]) for m in manifest["models"]],
            device,
            protocol,
        )
        nets = time_models(
            [(os.path.join(folder, n["file"]), n["shape"]) for n in manifest["networks"]],
            device,
            protocol,
        )
    results = {
        "bundle_format": manifest["bundle_format"],
        "manifest": {k: v for k, v in manifest.items() if k not in ("models", "networks")},
        "protocol_used": protocol,
        "host": {
            "cpu": platform.processor() or platform.machine(),
            "arch": platform.machine(),
            "cores": os.cpu_count(),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
        },
        "software": {
            "onnxruntime": ort.__version__,
            "providers_available": ort.get_available_providers(),
        },
        "entry_offset_ms": offset,
        "entries": {m["key"]: s for m, s in zip(manifest["models"], blocks)},  # noqa: B905
        "networks": [dict(arch=n["arch"], **s) for n, s in zip(manifest["networks"], nets)],  # noqa: B905
        "seconds": round(time.time() - started, 1),
    }
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=1)
    print(f"wrote {args.out} ({len(blocks)} blocks, {len(nets)} networks)")


if __name__ == "__main__":
    main()
