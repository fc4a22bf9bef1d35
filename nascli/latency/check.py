"""``tables check``: is a table well-formed, described, validated and covering its space?

Runs in the normal CI on every shipped table, so it only reads files and prices a few
hundred random networks (no timing).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError

META_FIELDS = {
    "device": ("name", "providers", "session", "precision"),
    "host": ("cpu", "arch", "cores", "os"),
    "software": ("nascli", "onnxruntime", "onnxruntime_package", "torch", "onnx"),
    "export": ("exporter", "opset"),
    "protocol": ("warmup_runs", "warmup_s", "runs", "rounds", "statistic"),
}


# A table fitted to a public benchmark's whole-network timings (``tables fit``) was measured
# by someone else with their own runtime: it records where from instead of an ORT session.
FITTED_META_FIELDS = {
    "device": ("name", "class", "batch_size"),
    "measurements": ("source", "runtime", "file", "column", "networks"),
}


def check_table(path: Path, *, samples: int = 200, seed: int = 0) -> dict[str, Any]:
    """A report: entries, coverage of random networks, and the list of problems found."""
    from nascli.latency.grid import profile_keys
    from nascli.latency.predict import Predictor
    from nascli.latency.table import LatencyTable
    from nascli.spaces import get_space

    report: dict[str, Any] = {"path": str(path), "entries": 0, "coverage": None, "problems": []}
    problems: list[str] = report["problems"]
    try:
        table = LatencyTable.load(path)
    except ConfigError as exc:
        problems.append(str(exc))
        return report
    report["entries"] = len(table.entries)
    from nascli.latency.fit import METHOD as FITTED

    required = FITTED_META_FIELDS if table.meta.get("method") == FITTED else META_FIELDS
    for section, fields in required.items():
        missing = [f for f in fields if f not in table.meta.get(section, {})]
        if missing:
            problems.append(f"metadata {section} lacks {missing}")
    for field in ("created", "method", "fit"):
        if field not in table.meta:
            problems.append(f"metadata lacks {field!r}")
    if not table.meta.get("complete"):
        problems.append("profiling did not finish (complete: false); resume with nascli profile")
    if not (table.meta.get("accuracy") or {}).get("n"):
        problems.append("no accuracy figures; run nascli tables validate TABLE --measure N")
    try:
        space = get_space(table.space)
    except ConfigError as exc:
        problems.append(str(exc))
        return report
    expected = Path(path).stem == f"{table.space}-{table.resolution}"
    if not expected:
        problems.append(f"file name should be {table.space}-{table.resolution}.json")
    keys, enumeration = profile_keys(space, table.resolution)
    if enumeration["method"] == "exact":
        absent = [k.to_str() for k in keys if k.to_str() not in table.entries]
        if absent:
            problems.append(f"{len(absent)} key(s) of the space missing, e.g. {absent[0]}")
    predictor = Predictor(table)
    rng = random.Random(seed)
    priced = estimated = 0
    first_error = None
    for _ in range(samples):
        arch = space.sample(rng)
        try:
            estimated += predictor.predict(arch).estimated
            priced += 1
        except ConfigError as exc:
            first_error = first_error or str(exc)
    report["coverage"] = round(priced / samples, 4) if samples else None
    report["estimated_share"] = round(estimated / samples, 4) if samples else None
    if first_error is not None:
        problems.append(f"{samples - priced}/{samples} random networks not priced: {first_error}")
    return report
