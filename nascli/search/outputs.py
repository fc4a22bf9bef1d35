"""Turn a finished (or stopped) study into the run dir's outputs and ``summary.json``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError, NascliError
from nascli.report import (
    Row,
    bias_report,
    mean_width,
    pareto_png,
    top_csv,
    top_rows,
    write_csv,
    write_json,
)
from nascli.search.driver import SearchDriver, SearchState
from nascli.search.evolution import pareto_ranks
from nascli.search.storage import redact
from nascli.yamlio import read_json_file


@dataclass
class SearchResult:
    summary: dict[str, Any]
    top: list[Row]
    baselines: list[Row]
    run_dir: Path


def feasible_rows(driver: SearchDriver, state: SearchState) -> list[Row]:
    """One row per distinct evaluated architecture (cached duplicates dropped)."""
    rows: dict[str, Row] = {}
    for record in state.trials:
        if record.state != "COMPLETE" or record.values is None or not record.arch:
            continue
        if record.arch in rows:
            continue
        info = record.info
        rows[record.arch] = Row(
            arch=record.arch,
            value=float(record.values[0]),
            scores={k: float(v) for k, v in info.get("scores", {}).items()},
            macs=int(info.get("macs", 0)),
            params=int(info.get("params", 0)),
            layers=int(info.get("layers", 0)),
            latency_ms={k: float(v) for k, v in (info.get("latency_ms") or {}).items()},
            trial=record.number,
            other=tuple(float(v) for v in record.values[1:]),
        )
    out = list(rows.values())
    signs = [1.0 if o.maximize else -1.0 for o in driver.objectives]
    if len(signs) > 1 and out:
        points = [
            tuple(s * v for s, v in zip(signs, (r.value, *r.other), strict=True)) for r in out
        ]
        for row, rank in zip(out, pareto_ranks(points), strict=True):
            row.pareto = rank == 0
    for row in out:
        row.mean_width = mean_width(row.arch)
    return out


def rejected_points(state: SearchState) -> list[tuple[int, dict[str, float]]]:
    """(MACs, latency) of each candidate rejected over budget (the Pareto plot's grey dots)."""
    return [
        (int(r.info.get("macs", 0)), dict(r.info.get("latency_ms") or {}))
        for r in state.trials
        if r.state == "PRUNED" and "macs" in r.info
    ]


def score_baselines(driver: SearchDriver, run_dir: Path) -> tuple[list[Row], list[str]]:
    """Baselines scored with the search's exact proxy settings (cached in baselines.json)."""
    from nascli.search.baselines import default_baselines

    notes: list[str] = []
    if driver.config.baselines is None:
        chosen = default_baselines(driver)
    else:
        chosen = list(driver.plan.baselines)
    cache_path = run_dir / "baselines.json"
    key = driver.config.fingerprint()
    cache: dict[str, Any] = {}
    if cache_path.exists():
        try:
            loaded = read_json_file(cache_path)
            cache = loaded.get(key, {}) if isinstance(loaded, dict) else {}
        except ConfigError:  # a damaged cache is recomputed, not fatal
            cache = {}
    rows = []
    for name, arch in chosen:
        entry = cache.get(arch.canonical)
        if entry is None:
            scores, seconds, error = driver.score(arch)
            entry = {"scores": scores, "seconds": seconds, "error": error}
            cache[arch.canonical] = entry
        if entry.get("error"):
            notes.append(f"baseline {name}: proxy failed ({entry['error']})")
            continue
        try:
            facts = driver.constraints.check(arch, always_latency=True)
        except NascliError as exc:
            notes.append(f"baseline {name}: {exc}")
            facts = driver.constraints.check(arch)
        scores = {k: float(v) for k, v in entry["scores"].items()}
        value = driver.proxy_value(scores)
        row = Row(
            arch=arch.canonical, value=value, scores=scores, macs=facts.macs,
            params=facts.params, layers=facts.layers, latency_ms=dict(facts.latency_ms),
            name=name,
        )  # fmt: skip
        row.mean_width = mean_width(row.arch)
        if not facts.feasible:
            notes.append(f"baseline {name} is over budget ({', '.join(facts.over())})")
        rows.append(row)
    write_json(cache_path, {key: cache})
    return rows, notes


def layer_limit(driver: SearchDriver) -> int | None:
    for budget in driver.budgets:
        if budget.kind == "layers":
            return int(budget.limit)
    from nascli.spaces.base import LayerLimited

    if isinstance(driver.space, LayerLimited):
        return driver.space.max_layers()
    return None


def write_outputs(
    driver: SearchDriver,
    study: Any,
    run_dir: Path,
    *,
    search_seconds: float,
    start: float,
    interrupted: str | None = None,
) -> Any:
    """Write every output; a failing later step (baselines, ONNX, plot) loses nothing else.

    ``top.csv`` and ``best.yaml`` come first; each later step that fails is named in
    ``summary.json`` (``failed_steps``) and the notes, and ``summary.json`` is always written.
    ``interrupted`` (a signal's name): the search was stopped, so the slow steps (baseline
    proxies, ONNX export) are skipped and named as such; a rerun resumes and writes them.
    """
    from nascli.atomic import write_text_atomic
    from nascli.spaces import arch_to_yaml

    config = driver.config
    state = driver.state(study)  # one storage read for every step below
    rows = feasible_rows(driver, state)
    top = top_rows(rows, config.top_k)
    best = top[0] if top else None
    devices = sorted(driver.latency)
    files: dict[str, str] = {}
    notes: list[str] = list(getattr(driver, "data_notes", []))
    failed: dict[str, str] = {}
    best_info: dict[str, Any] | None = None
    write_csv(run_dir / "top.csv", top_csv(top, driver.proxy_names, devices))
    files["top_csv"] = str(run_dir / "top.csv")
    if best is not None:
        header = f"# best of nascli search (trial {best.trial}, {config.proxy} {best.value:.4g})\n"
        arch = driver.arch(best.arch)
        write_text_atomic(run_dir / "best.yaml", header + arch_to_yaml(arch))
        files["best_yaml"] = str(run_dir / "best.yaml")
    baselines: list[Row] = []
    if interrupted:
        failed["baselines"] = f"skipped: search interrupted by {interrupted}"
    with _step("baselines", failed):
        if not interrupted:
            baselines, baseline_notes = score_baselines(driver, run_dir)
            notes += baseline_notes
    if best is not None:
        if config.export_onnx and interrupted:
            failed["best.onnx"] = f"skipped: search interrupted by {interrupted}"
        elif config.export_onnx:
            with _step("best.onnx", failed):
                from nascli.export import export_onnx

                export_onnx(driver.arch(best.arch), run_dir / "best.onnx")
                files["best_onnx"] = str(run_dir / "best.onnx")
            if driver.latency and files.get("best_onnx"):
                with _step("best.qnn_ctx.onnx", failed):
                    _qnn_context(driver, run_dir / "best.onnx", files)
        best_info = {**best.as_dict(), "yaml": files["best_yaml"], "onnx": files.get("best_onnx")}
        best_info["latency_ms"] = best.latency_ms or None
    title = (
        f"{config.space} · {config.proxy} · {config.algo} · "
        f"{', '.join(config.budgets)} · {state.done} evaluated"
    )
    with _step("pareto.png", failed):
        pareto_png(
            run_dir / "pareto.png", rows, rejected_points(state), baselines, best,
            driver.budgets, devices, title,
        )  # fmt: skip
        files["pareto_png"] = str(run_dir / "pareto.png")
    notes += [f"{step} not written: {message}" for step, message in failed.items()]
    proxy_seconds = sum(float(r.info.get("proxy_seconds", 0.0)) for r in state.trials)
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "space": config.space,
        "algo": config.algo,
        "best": best_info,
        "proxy": {
            "name": config.proxy,
            "components": driver.proxy_names,
            "resolution": driver.resolution,
            "batch_size": config.batch_size,
            "batches": config.batches,
            "data": driver.data.description,
            "seed": config.seed,
            "devices": getattr(driver, "devices", ["cpu"]),  # worker i ran on devices[i]
            "ensemble_value": (
                "sum over components of log F(score), F = the component's smoothed CDF over "
                f"a fixed reference: {driver.reference.description}"
                if driver.reference is not None
                else None
            ),
        },
        "budgets": [b.as_dict() for b in driver.budgets],
        "objectives": [{"name": o.name, "direction": o.direction} for o in driver.objectives],
        "latency_devices": devices,
        "latency_tables": {d: m.path for d, m in driver.latency.items()},
        "trials": {
            "done": state.done,
            "feasible": state.feasible,
            "failed": state.failed,
            "rejected": state.rejected,
            "cached": state.cached,
            "total": len(state.trials),
            "iterations": config.iterations,
        },
        "seconds": round(time.perf_counter() - start, 3),
        "search_seconds": round(search_seconds, 3),
        "proxy_seconds_total": round(proxy_seconds, 3),
        "baselines": [b.as_dict() for b in baselines],
        "top": [r.as_dict() for r in top],
        "pareto": [r.as_dict() for r in rows if r.pareto] if len(driver.objectives) > 1 else None,
        "bias": bias_report(top, rows, layer_limit(driver)),
        "study": {"name": driver.study_name, "storage": redact(driver.storage_url)},
        "files": files,
        "notes": notes,
        "failed_steps": failed,
        "interrupted": interrupted,
    }
    files["summary_json"] = str(run_dir / "summary.json")
    summary["seconds"] = round(time.perf_counter() - start, 3)
    write_json(run_dir / "summary.json", summary)
    return SearchResult(summary, top, baselines, run_dir)


@contextmanager
def _step(name: str, failed: dict[str, str]) -> Iterator[None]:
    """Run one output step; record its failure (one line) instead of losing the others."""
    try:
        yield
    except NascliError as exc:
        failed[name] = str(exc)
    except Exception as exc:  # a plotting or export library's own error
        failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _qnn_context(driver: Any, best_onnx: Path, files: dict[str, Any]) -> None:
    """With a QNN latency target, also write the HTP EPContext model of best.onnx."""
    from nascli.latency.devices import load_device
    from nascli.latency.qnn import QNN_EP
    from nascli.latency.qnn_deploy import DEFAULT_HTP_ARCH, export_qnn_context

    for device in sorted(driver.latency):
        profile = load_device(device)
        if profile.primary_provider == QNN_EP:
            arch = int(profile.providers[0].options.get("htp_arch", DEFAULT_HTP_ARCH))
            files["best_qnn_context"] = str(export_qnn_context(best_onnx, arch).context)
            return
