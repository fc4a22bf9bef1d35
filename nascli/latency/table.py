"""Latency table files: schema-versioned JSON with the metadata that makes them trustworthy.

``latency_tables/<device>/<space>-<resolution>.json``. JSON, never pickle: a table is
data a team reviews in a pull request. Entries are keyed by ``LayerKey.to_str()`` and
store median/min/p10/p90/n (ms) plus their source (``isolated``, ``in_context``,
``imported``, ``calibrated``). Metadata records how the numbers were measured (device
profile, host, software versions, exporter, protocol, date) and how well the table
predicts whole networks (``accuracy``, written by ``tables validate``).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.layers import LayerKey

SCHEMA_VERSION = 1
KIND = "nascli-latency-table"
# What entries hold: milliseconds (every measured table) or simulated HTP cycles
# (``qnn-htp-sim``: the fields keep their ``_ms`` names, ``unit`` says what they hold).
UNITS = ("ms", "htp_cycles")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def host_info() -> dict[str, Any]:
    """The machine a table was measured on."""
    import os

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu or platform.machine(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def software_info() -> dict[str, Any]:
    from importlib import metadata

    import nascli

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    packages = [
        p
        for p in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-qnn")
        if version(p)
    ]
    import onnxruntime

    return {
        "nascli": nascli.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_package": packages[0] if packages else "onnxruntime",
        "torch": version("torch"),
        "onnx": version("onnx"),
        "numpy": version("numpy"),
    }


def export_info() -> dict[str, Any]:
    from nascli.export import EXPORTER, OPSET

    return {"exporter": EXPORTER, "opset": OPSET}


@dataclass
class LatencyTable:
    """A table in memory: metadata and entries (``key string -> stats``)."""

    meta: dict[str, Any]
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    # ----------------------------------------------------------------- identity
    @property
    def space(self) -> str:
        return str(self.meta["space"])

    @property
    def resolution(self) -> int:
        return int(self.meta["resolution"])

    @property
    def device_name(self) -> str:
        return str(self.meta["device"].get("name", "?"))

    @property
    def unit(self) -> str:
        """``ms``, or ``htp_cycles`` for a table of simulated HTP cycles."""
        return str(self.meta.get("unit", "ms"))

    @property
    def statistic(self) -> str:
        return str(self.meta["protocol"].get("statistic", "min"))

    def value(self, key: str) -> float:
        """The entry's time in ms used for prediction (statistic minus the run offset)."""
        entry = self.entries[key]
        offset = float(self.meta.get("entry_offset_ms", 0.0))
        return max(float(entry[f"{self.statistic}_ms"]) - offset, 0.0)

    # ----------------------------------------------------------------- files
    def to_json(self) -> str:
        payload = {
            "schema_version": SCHEMA_VERSION,
            "kind": KIND,
            **self.meta,
            "entries": {k: self.entries[k] for k in sorted(self.entries)},
        }
        return json.dumps(payload, indent=1, sort_keys=False) + "\n"

    def save(self, path: Path | None = None) -> Path:
        from nascli.atomic import write_text_atomic

        target = Path(path or self.path or "")
        if not str(target):
            raise ConfigError("no path to save the latency table to")
        self.meta["updated"] = now_iso()
        write_text_atomic(target, self.to_json())
        self.path = target
        return target

    @classmethod
    def load(cls, path: Path | str) -> LatencyTable:
        """Read and validate a table; every problem is a one-line ConfigError."""
        from nascli.yamlio import read_json_file

        path = Path(path)
        if not path.exists():
            raise ConfigError(f"latency table {path} does not exist")
        data = read_json_file(path)
        return cls.from_data(data, source=str(path), path=path)

    @classmethod
    def from_data(cls, data: Any, source: str, path: Path | None = None) -> LatencyTable:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise ConfigError(f"{source} is not a nascli latency table (kind != {KIND!r})")
        version = data.get("schema_version")
        if not isinstance(version, int):
            raise ConfigError(f"{source}: schema_version missing or not an integer")
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{source} has schema version {version}, newer than this nascli supports "
                f"({SCHEMA_VERSION}); upgrade nascli"
            )
        from nascli.latency.schema import validate_table_data

        validate_table_data(data, source)
        for key in data["entries"]:
            LayerKey.from_str(key)
        meta = {k: v for k, v in data.items() if k not in ("entries", "schema_version", "kind")}
        if meta.get("unit", "ms") not in UNITS:
            raise ConfigError(f"{source}: unit must be one of {list(UNITS)}")
        return cls(meta=meta, entries=dict(data["entries"]), path=path)

    def require(self, space: str, resolution: int) -> None:
        """ConfigError when this table was measured for another space or resolution."""
        if self.space != space:
            raise ConfigError(
                f"latency table {self.path} is for space {self.space!r}, not {space!r}"
            )
        if self.resolution != resolution:
            raise ConfigError(
                f"latency table {self.path} is for resolution {self.resolution}, not {resolution}"
            )


def new_table(
    space: str, resolution: int, device: dict[str, Any], protocol: dict[str, Any]
) -> LatencyTable:
    """An empty table with all the measurement metadata of this machine."""
    return LatencyTable(
        meta={
            "space": space,
            "resolution": resolution,
            "device": device,
            "host": host_info(),
            "software": software_info(),
            "export": export_info(),
            "protocol": protocol,
            "created": now_iso(),
            "updated": now_iso(),
            "complete": False,
        }
    )


def default_table_path(device: str, space: str, resolution: int) -> Path:
    """The table found for (device, space, resolution), else where ``profile`` writes one."""
    from nascli.paths import find_table, user_table_path

    return find_table(device, space, resolution) or user_table_path(device, space, resolution)


#: Folders of ``latency_tables/`` that hold other files than tables (device priors).
NOT_TABLES = frozenset({"priors"})


def list_tables(root: Path | None = None) -> list[Path]:
    """Tables under ``root``, or every table in the search order (``nascli.paths``)."""
    from nascli.paths import table_files

    if root is None:
        return [p for p in table_files() if p.parent.name not in NOT_TABLES]
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.json") if p.parent.name not in NOT_TABLES)


def diff_tables(a: LatencyTable, b: LatencyTable) -> dict[str, Any]:
    """Per-key relative change of b vs a (same statistic) and a drift summary."""
    import numpy as np

    common = sorted(set(a.entries) & set(b.entries))
    changes = []
    for key in common:
        va, vb = a.value(key), b.value(key)
        rel = (vb - va) / va if va > 0 else float("nan")
        changes.append({"key": key, "a_ms": va, "b_ms": vb, "change": rel})
    rels = np.array([c["change"] for c in changes if np.isfinite(c["change"])])
    summary = {
        "common": len(common),
        "only_a": len(set(a.entries) - set(b.entries)),
        "only_b": len(set(b.entries) - set(a.entries)),
        "median_change": float(np.median(rels)) if rels.size else None,
        "mean_abs_change": float(np.mean(np.abs(rels))) if rels.size else None,
        "max_abs_change": float(np.max(np.abs(rels))) if rels.size else None,
        "share_over_10pct": float(np.mean(np.abs(rels) > 0.10)) if rels.size else None,
    }
    changes.sort(key=lambda c: -abs(c["change"]) if np.isfinite(c["change"]) else 0.0)
    return {"summary": summary, "changes": changes}
