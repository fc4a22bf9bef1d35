"""A calibrated copy of a table: per-op-type scales fitted to a device's measured networks.

The fit is the device prior's MAP fit when a prior applies (``nascli.latency.prior``), else
the free per-op-type fit of ``nascli.latency.calibrate``; this module joins the two, so
neither of them imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nascli.latency.calibrate import GroupSums, family_group, fit_calibration, group_of
from nascli.latency.table import LatencyTable
from nascli.layers import LayerKey


def calibrate_table(
    base: LatencyTable,
    measurements: Sequence[tuple[str, float]],
    device_name: str,
    prior: str = "none",
) -> tuple[LatencyTable, dict[str, Any]]:
    """A new table: base entries × per-op-type scale, plus the fitted overhead.

    ``prior`` names a device prior (``nascli.latency.prior.resolve_prior``: ``auto``,
    ``none`` or a file); with one the scales are its MAP fit, or the free per-op fit where
    the prior does not fit these networks.
    """
    import copy

    from nascli.latency.prior import resolve_prior
    from nascli.spaces import resolve_arch

    if base.unit != "ms" and prior == "auto":
        prior = "none"  # device priors hold ms-per-ms scales, not ms per simulated cycle
    found, prior_path = resolve_prior(base, prior)

    grouping = found.grouping if found is not None else "op"
    sums = GroupSums(base, grouping)
    archs = [resolve_arch(ref, base.space) for ref, _ in measurements]
    x = [sums(a) for a in archs]
    y = [v for _, v in measurements]
    if found is not None:
        from nascli.latency.prior import fit_prior_calibration

        fit = {**fit_prior_calibration(x, y, found), "lambda": None}
        method = (
            "device prior (MAP, sigma LOO-chosen)"
            if fit["method"] == "prior"
            else "per-op-type NNLS scales (device prior did not fit)"
        )
    else:
        fit = fit_calibration(x, y)
        method = "per-op-type NNLS scales (ridge to a common scale, LOO-chosen)"
    scales = dict(zip(sums.groups, (float(s) for s in fit["scales"]), strict=True))
    table = LatencyTable(meta=copy.deepcopy(base.meta), entries={})
    offset = float(base.meta.get("entry_offset_ms", 0.0))
    for text, entry in base.entries.items():
        factor = scales[group_of(LayerKey.from_str(text), grouping)]
        new = {
            f: round(max(float(entry[f]) - offset, 0.0) * factor, 6)
            for f in ("median_ms", "min_ms", "p10_ms", "p90_ms")
        }
        table.entries[text] = {**new, "n": entry["n"], "source": "calibrated"}
    families = base.meta.get("families") or {}
    table.meta["families"] = {}
    for name, model in families.items():
        # Family models are linear in their coefficients: scale them like their entries.
        factor = scales.get(family_group(name), 1.0) if grouping == "op" else 1.0
        table.meta["families"][name] = {
            **model,
            "coef": {k: v * factor for k, v in model["coef"].items()},
        }
    table.meta["entry_offset_ms"] = 0.0
    table.meta["device"] = {
        **base.meta["device"],
        "name": device_name,
        "calibrated_from": base.device_name,
    }
    table.meta["fit"] = {
        "scale": 1.0,
        "overhead_ms": round(fit["overhead_ms"], 6),
        "nets": len(y),
        "method": method,
    }
    table.meta["calibration"] = {
        "base_device": base.device_name,
        "scales": {k: round(v, 6) for k, v in scales.items()},
        "overhead_ms": round(fit["overhead_ms"], 6),
        "ridge_lambda": fit["lambda"],
        "grouping": grouping,
        "prior": prior_path,
        "prior_used": fit.get("method") == "prior",
        "prior_sigma": fit.get("sigma"),
        "loo_mape_pct": round(fit["loo_mape"] * 100, 3)
        if fit["loo_mape"] is not None and fit["loo_mape"] != float("inf")
        else None,
        "nets": [{"arch": a.canonical, "latency_ms": v} for a, v in zip(archs, y, strict=True)],
    }
    if "measurements" in table.meta:  # a fitted base: say whose timings the new table holds
        table.meta["measurements"] = {
            **table.meta["measurements"],
            "source": f"{len(y)} networks measured on {device_name} (tables calibrate), "
            f"scaling {base.device_name}'s table",
            "runtime": "as measured on the device",
            "networks": len(y),
        }
    table.meta.pop("accuracy", None)
    table.meta.pop("fit_accuracy", None)
    if base.unit != "ms":  # e.g. simulated HTP cycles: the scales turn them into ms
        table.meta["unit"] = "ms"
        table.meta["calibration"]["base_unit"] = base.unit
        table.meta.pop("unit_note", None)
        table.meta.pop("repeatability", None)
    table.meta["complete"] = True
    return table, table.meta["calibration"]
