"""Tables on another host: say so once, and re-anchor a table here in about a minute.

A CPU table measured on one machine ranks networks right on another (Spearman ≈ .99 between
two Xeons) but its absolute figures can be off by a third: the per-table scale and overhead
(``meta["fit"]``) are what differ. ``reanchor`` times N seeded networks of the table's
space here, with the table's own device profile and protocol, and refits only those two
numbers; the entries, and so the ranking, stay as measured.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from nascli.errors import ConfigError, NascliWarning
from nascli.latency.table import LatencyTable, host_info, now_iso

CALIBRATION_SEED = 2_000_003  # networks timed by reanchor (validation uses its own seed)
LOCAL_PROVIDERS = ("CPUExecutionProvider", "DnnlExecutionProvider", "OpenVINOExecutionProvider")

_warned: set[str] = set()


class HostMismatchWarning(NascliWarning):
    """A latency table measured on another CPU (or core count) than this host."""


def host_differences(table: LatencyTable) -> list[str]:
    """What differs between the table's host and this one (CPU model, cores); [] if same.

    Only for tables of a device that runs on this host's CPU: a phone or NPU table was
    measured elsewhere on purpose.
    """
    device = table.meta.get("device") or {}
    providers = [p.get("name") for p in device.get("providers") or [] if isinstance(p, dict)]
    if not providers or providers[0] not in LOCAL_PROVIDERS or device.get("host_arch"):
        return []
    theirs, ours = table.meta.get("host") or {}, host_info()
    out = []
    if theirs.get("cpu") and theirs.get("cpu") != ours["cpu"]:
        out.append(f"CPU {theirs['cpu']!r}, this host {ours['cpu']!r}")
    if theirs.get("cores") and theirs.get("cores") != ours["cores"]:
        out.append(f"{theirs['cores']} cores, this host {ours['cores']}")
    return out


def warn_if_other_host(table: LatencyTable) -> str | None:
    """Warn (once per table per process) when the table was measured on another host."""
    differences = host_differences(table)
    where = str(table.path or table.device_name)
    if not differences or where in _warned:
        return None
    _warned.add(where)
    message = (
        f"latency table {where} was measured on another host ({'; '.join(differences)}): "
        "absolute latencies may be off (ranking holds); re-anchor it here with "
        f"`nascli tables calibrate --base {where} --measure 10 --out OUT` "
        "or `nascli search ... --calibrate 10`"
    )
    warnings.warn(message, HostMismatchWarning, stacklevel=2)
    return message


def table_profile(table: LatencyTable) -> Any:
    """The device profile recorded in the table (what it was measured with)."""
    from nascli.latency.devices import PROFILE_KEYS, DeviceProfile

    data = {k: v for k, v in (table.meta.get("device") or {}).items() if k in PROFILE_KEYS}
    return DeviceProfile.from_dict(data, str(table.path or "table"))


def reanchor(
    table: LatencyTable,
    count: int,
    *,
    seed: int = CALIBRATION_SEED,
    passes: int = 1,
    stage: Callable[[str, int], Callable[[int, str], None]] | None = None,
) -> tuple[LatencyTable, dict[str, Any]]:
    """A copy of ``table`` whose scale and overhead are refitted to ``count`` nets timed here."""
    from dataclasses import replace

    from nascli.latency.devices import require_available
    from nascli.latency.measure import measure_networks
    from nascli.latency.predict import Predictor, accuracy_figures, fit_scale_overhead
    from nascli.latency.profile import random_archs
    from nascli.latency.timing import TimingProtocol
    from nascli.spaces import get_space

    if count < 2:
        raise ConfigError("--measure needs at least 2 networks to fit scale and overhead")
    device = table_profile(table)
    require_available(device)
    # The table's clock and statistic; fewer repeats (a minimum of 20 runs is as steady as one
    # of 50 on whole networks here), so N = 10 takes about a minute of CPU on 2 cores.
    base = TimingProtocol.from_dict(table.meta["protocol"])
    protocol = replace(base, runs=min(base.runs, 20), rounds=min(base.rounds, 2), passes=passes)
    space = get_space(table.space)
    archs = random_archs(space, count, seed)
    before = Predictor(table).predict_many(archs)
    raw = [p.raw_sum_ms for p in before]
    report = stage("calibration networks", count * passes) if stage else _silent
    stats = measure_networks(space.name, archs, table.resolution, device, protocol, progress=report)
    measured = [float(s[f"{protocol.statistic}_ms"]) for s in stats]
    fit = fit_scale_overhead(raw, measured)
    info = {
        **fit,
        "nets": count,
        "seed": seed,
        "method": "recalibrated here: NNLS of scale and overhead on whole networks",
        "base": str(table.path) if table.path else None,
        "base_fit": table.meta.get("fit"),
        "host": host_info(),
        "date": now_iso(),
        "before": accuracy_figures([p.latency_ms for p in before], measured),
        "after": accuracy_figures([fit["scale"] * r + fit["overhead_ms"] for r in raw], measured),
    }
    meta = {k: v for k, v in table.meta.items() if k not in ("accuracy", "fit_passes")}
    meta.update(fit={**(table.meta.get("fit") or {}), **fit, "nets": count, "seed": seed})
    meta.update(host=host_info(), calibration=info, updated=now_iso())
    return LatencyTable(meta=meta, entries=dict(table.entries)), info


def _silent(_done: int, _what: str) -> None:
    return None
