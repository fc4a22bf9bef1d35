"""Bundles for boards nascli cannot run on: ONNX models + manifest + a tiny runner.

``nascli profile --bundle OUT.zip`` writes every block model of the table (already in the
device's precision) and a few whole networks (for the overhead fit), ``manifest.json``
(keys, input shapes, providers, session options, protocol) and ``run_bundle.py``, which
needs only ``onnxruntime`` and ``numpy``. On the board: ``python run_bundle.py`` writes
``results.json``; back here, ``nascli tables import results.json --out TABLE`` builds the
table (same schema, entries marked ``imported``).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.devices import DeviceProfile
from nascli.latency.timing import TimingProtocol

BUNDLE_FORMAT = 1
RUNNER = Path(__file__).with_name("bundle_runner.py")


def write_bundle(
    device: DeviceProfile,
    space_name: str,
    resolution: int | None,
    out: Path,
    *,
    protocol: TimingProtocol,
    grid=None,
    fit_nets: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Write the bundle zip (``fit_nets`` default: as ``nascli profile``); returns its manifest."""
    from nascli.atomic import write_bytes_atomic
    from nascli.latency.grid import profile_keys
    from nascli.latency.models import convert_precision, export_block, export_network
    from nascli.latency.profile import DEFAULT_FIT_NETS, FIT_SEED, random_archs
    from nascli.latency.table import export_info, now_iso
    from nascli.spaces import get_space

    space = get_space(space_name)
    resolution = resolution or space.resolution
    keys, enumeration = profile_keys(space, resolution, grid)
    if limit is not None:
        keys = keys[:limit]
    models: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nascli-bundle-") as tmp:
        folder = Path(tmp)
        for index, key in enumerate(keys):
            name = f"blocks/{index:05d}.onnx"
            export_block(key, folder / name, batch=device.batch_size, seed=protocol.seed)
            convert_precision(folder / name, device.precision, seed=protocol.seed, block=True)
            models.append(
                {
                    "key": key.to_str(),
                    "file": name,
                    "shape": [device.batch_size, key.cin, key.h, key.w],
                }
            )
        fit_count = DEFAULT_FIT_NETS if fit_nets is None else fit_nets
        for index, arch in enumerate(random_archs(space, fit_count, FIT_SEED)):
            name = f"networks/{index:03d}.onnx"
            export_network(space.name, arch, resolution, folder / name, batch=device.batch_size)
            convert_precision(folder / name, device.precision, seed=protocol.seed)
            networks.append(
                {
                    "arch": arch.canonical,
                    "file": name,
                    "shape": [device.batch_size, 3, resolution, resolution],
                }
            )
        manifest = {
            "bundle_format": BUNDLE_FORMAT,
            "created": now_iso(),
            "space": space.name,
            "resolution": resolution,
            "device": device.to_dict(),
            "protocol": protocol.to_dict(),
            "export": export_info(),
            "enumeration": enumeration,
            "models": models,
            "networks": networks,
        }
        from nascli.latency.measure import null_model_bytes

        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
        (folder / "null.onnx").write_bytes(null_model_bytes(device.batch_size))
        zip_path = folder / "bundle.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(folder / "manifest.json", "manifest.json")
            archive.write(RUNNER, "run_bundle.py")
            archive.write(folder / "null.onnx", "null.onnx")
            for item in models + networks:
                archive.write(folder / item["file"], item["file"])
        write_bytes_atomic(Path(out), zip_path.read_bytes())
    return manifest


def import_results(path: Path) -> Any:
    """Turn a runner's results.json into a LatencyTable (not yet saved)."""
    from nascli.latency.estimate import fit_families
    from nascli.latency.predict import Predictor, fit_scale_overhead
    from nascli.latency.table import LatencyTable, export_info, new_table, software_info

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"results file {path} does not exist")
    from nascli.yamlio import read_json_file

    data = read_json_file(path)
    if not isinstance(data, dict) or data.get("bundle_format") != BUNDLE_FORMAT:
        raise ConfigError(
            f"{path} is not the results of a nascli bundle (bundle_format {BUNDLE_FORMAT})"
        )
    for field in ("manifest", "host", "entries", "networks", "entry_offset_ms"):
        if field not in data:
            raise ConfigError(f"{path}: missing {field!r}")
    manifest = data["manifest"]
    table: LatencyTable = new_table(
        manifest["space"], manifest["resolution"], manifest["device"], manifest["protocol"]
    )
    table.meta["host"] = data["host"]
    table.meta["software"] = {
        **software_info(),
        **data.get("software", {}),
        "imported_by": "nascli",
    }
    table.meta["export"] = manifest.get("export", export_info())
    table.meta["enumeration"] = manifest.get("enumeration", {})
    table.meta["method"] = "isolated"
    table.meta["entry_offset_ms"] = float(data["entry_offset_ms"])
    table.meta["bundle"] = {"results": str(path), "created": manifest.get("created")}
    table.entries = {k: {**v, "source": "imported"} for k, v in data["entries"].items()}
    table = LatencyTable.from_data(json.loads(table.to_json()), source=str(path))
    statistic = table.statistic
    values = {text: table.value(text) for text in table.entries}
    grid = table.meta["enumeration"].get("method") == "grid"
    table.meta["families"] = fit_families(values) if grid else {}
    if data["networks"]:
        from nascli.spaces import arch_from_canonical

        predictor = Predictor(table, fit={"scale": 1.0, "overhead_ms": 0.0})
        raw = [
            predictor.predict(arch_from_canonical(n["arch"])).raw_sum_ms for n in data["networks"]
        ]
        measured = [n[f"{statistic}_ms"] for n in data["networks"]]
        table.meta["fit"] = {**fit_scale_overhead(raw, measured), "nets": len(raw)}
    else:
        table.meta["fit"] = {"scale": 1.0, "overhead_ms": 0.0, "nets": 0}
    table.meta["complete"] = True
    return table
