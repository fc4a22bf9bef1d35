"""``nascli profile`` and ``tables validate``: build a table on this machine, then check it.

Profiling = enumerate keys (``grid``), measure them (isolated or in context per the device
profile), save after every chunk/probe (atomic, so an interrupted run resumes with the
keys it already has), fit the per-family channel models, then time a few whole networks
to fit the table's scale and overhead. Validation times other random networks end-to-end
and writes MAPE, ±5/±10 % shares, Spearman and Kendall into the table.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.devices import DeviceProfile, require_available
from nascli.latency.estimate import fit_families
from nascli.latency.grid import GridSpec, profile_keys
from nascli.latency.measure import (
    measure_by_regression,
    measure_in_context,
    measure_isolated,
    measure_networks,
    measure_offset,
)
from nascli.latency.predict import Predictor, accuracy_figures, fit_scale_overhead
from nascli.latency.table import LatencyTable, new_table, now_iso
from nascli.latency.timing import TimingProtocol, merge_summaries, summarize

METHODS = ("isolated", "in_context", "regression")
FIT_SEED = 1_000_003
# Whole networks behind the table's scale/overhead fit: with 5, one net timed 10 % off moved
# the scale by 3 % (measured here); twice as many halve that for ~10 s more per pass.
DEFAULT_FIT_NETS = 10
# Probe networks per method. In context, every probe charges many keys, so 24 cover a grid.
# A regression identifies about six per-op costs from whole NB201 networks: fitted on 30
# timed random cells it missed 130 others by up to 32 %, on 100 by up to 22 %
# (benchmarks/latency_nb201_model.py); one probe costs about half a second per pass.
DEFAULT_PROBES = {"in_context": 24, "regression": 120}
VALIDATION_SEED = 2_000_003

# (what is about to run, total units of work, units done so far) -> a progress callback
Reporter = Callable[[int, str], None]
StartStage = Callable[[str, int], Reporter]


def _silent_stage(_name: str, _total: int) -> Reporter:
    return lambda _done, _what: None


def measure_in_fresh_process(
    space_name: str,
    archs: list[Any],
    resolution: int,
    device: DeviceProfile,
    protocol: TimingProtocol,
) -> list[dict[str, Any]]:
    """Time whole networks in a new process, as ``tables validate`` does.

    After hundreds of block sessions the profiling process timed the same networks 10-40 %
    slower than a fresh process (measured here: fit ratios 1.09-1.42 in-process vs ~1.0 in
    a new one), which skewed the fitted scale; a spawned worker gives the fit the same
    conditions as validation and as a deployed model.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(measure_networks, space_name, archs, resolution, device, protocol)
        return future.result()


def random_archs(space, count: int, seed: int) -> list[Any]:
    """``count`` distinct seeded random architectures."""
    rng = random.Random(seed)
    archs: dict[str, Any] = {}
    for _ in range(count * 50):
        arch = space.sample(rng)
        archs.setdefault(arch.canonical, arch)
        if len(archs) == count:
            break
    return list(archs.values())


def probe_archs(space, resolution: int, count: int, seed: int) -> list[Any]:
    """Probe networks for in-context timing; a small space's probes cover every key."""
    from nascli.spaces.base import EnumeratesKeys

    if isinstance(space, EnumeratesKeys):
        return space.probe_archs(count, seed)
    return random_archs(space, count, seed)


def _passes(entry: dict[str, Any] | None) -> int:
    """Passes an isolated entry holds (entries written before passes existed hold one)."""
    return 0 if entry is None else int(entry.get("passes", 1))


def profile_table(
    device: DeviceProfile,
    space_name: str,
    resolution: int | None,
    out: Path,
    *,
    protocol: TimingProtocol,
    grid: GridSpec | None = None,
    probes: int | None = None,
    fit_nets: int = DEFAULT_FIT_NETS,
    extra_archs: list[Any] | None = None,
    resume: bool = True,
    method: str | None = None,
    stage: StartStage = _silent_stage,
) -> LatencyTable:
    """Measure (or resume) the table of ``space`` on ``device`` and save it to ``out``.

    ``method``: ``isolated`` / ``in_context`` (the device profile's default) or
    ``regression`` (whole probe networks, for spaces enumerated exactly such as NB201).
    """
    from nascli.spaces import get_space

    require_available(device)
    check_protocol(device, protocol)
    space = get_space(space_name)
    resolution = resolution or space.resolution
    keys, enumeration = profile_keys(space, resolution, grid)
    for arch in extra_archs or []:
        if arch.space != space.name:
            raise ConfigError(f"--arch {arch.canonical} is not in space {space.name!r}")
        for key in space.layers(arch, resolution=resolution):
            if key not in keys:
                keys.append(key)
    enumeration["keys"] = len(keys)
    enumeration["extra_archs"] = [a.canonical for a in extra_archs or []]

    method = method or device.measure
    if method not in METHODS:
        raise ConfigError(f"--method must be one of {list(METHODS)}, got {method!r}")
    if method == "regression" and enumeration["method"] != "exact":
        raise ConfigError(
            f"--method regression needs a space with few keys (nb201), not {space.name}"
        )
    if probes is not None and probes < 1:
        raise ConfigError(f"--probes must be >= 1, got {probes}")
    if probes is None:
        probes = DEFAULT_PROBES.get(method, 0)
    table = _resume_or_new(out, device, space.name, resolution, protocol, resume)
    if table.entries and table.meta.get("method", method) != method:
        raise ConfigError(f"{out} was measured with method {table.meta['method']!r}; pass --fresh")
    table.meta["method"] = method
    table.meta["enumeration"] = enumeration
    # Validation figures describe the entries and fit they were measured against; anything
    # this run re-measures or re-fits makes them stale (``tables validate`` writes new ones).
    table.meta.pop("accuracy", None)
    started = time.perf_counter()
    spent_before = float(table.meta.get("profiling_seconds", 0.0))

    def save() -> None:
        table.meta["profiling_seconds"] = round(spent_before + time.perf_counter() - started, 1)
        table.save(out)

    fit_archs = random_archs(space, fit_nets, FIT_SEED) if fit_nets > 0 else []

    def time_fit_networks(passes_wanted: int) -> None:
        """Fit networks get one pass per block pass, timed right after it (resumable).

        Their minimum then spans the same minutes as the blocks' minima: a fit timed only
        at the end could land in one slow spell and bias the scale of every prediction.
        """
        done = table.meta.setdefault("fit_passes", [])
        if any(len(stats) != len(fit_archs) for stats in done):
            done.clear()  # resumed with another --fit-nets: those timings are of other nets
        while fit_archs and len(done) < passes_wanted:
            report = stage("fit networks", len(fit_archs))
            one_pass = replace(protocol, passes=1)
            done.append(
                measure_in_fresh_process(space.name, fit_archs, resolution, device, one_pass)
            )
            report(len(fit_archs), "fit networks timed")
            save()

    if method == "regression":
        table.meta["entry_offset_ms"] = 0.0
        probe_list = random_archs(space, probes, protocol.seed + 17)
        report = stage("probe networks", len(probe_list) * protocol.passes)
        entries, overhead = measure_by_regression(
            space.name, probe_list, keys, resolution, device, protocol, progress=report
        )
        table.entries = entries
        table.meta["regression"] = {"probes": len(probe_list), "seed": protocol.seed + 17}
        table.meta["families"] = {}
        table.meta["fit"] = {
            "scale": 1.0,
            "overhead_ms": round(overhead, 6),
            "nets": len(probe_list),
            "method": "overhead = intercept of the per-key regression over probe networks",
        }
        table.meta["complete"] = True
        save()
        return table
    if method == "isolated":
        if "entry_offset_ms" not in table.meta:
            table.meta["entry_offset_ms"] = round(measure_offset(device, protocol), 6)

        def keep(chunk: dict[str, dict[str, Any]]) -> None:
            for text, entry in chunk.items():
                old = table.entries.get(text)
                table.entries[text] = {**merge_summaries(old, entry), "passes": _passes(old) + 1}
            save()

        for pass_index in range(protocol.passes):
            # A key stored by an interrupted run counts the passes it has; resume tops it up.
            todo = [k for k in keys if _passes(table.entries.get(k.to_str())) <= pass_index]
            name = "blocks" if protocol.passes == 1 else f"blocks, pass {pass_index + 1}"
            measure_isolated(todo, device, protocol, on_chunk=keep, progress=stage(name, len(todo)))
            time_fit_networks(pass_index + 1)
    else:
        table.meta["entry_offset_ms"] = 0.0
        probe_list = probe_archs(space, resolution, probes, protocol.seed)
        # Each pass runs every probe again (fresh sessions), after the previous pass.
        schedule = probe_list * protocol.passes
        done = int(table.meta.get("in_context", {}).get("probes_done", 0))
        report = stage("probe networks", max(len(schedule) - done, 0))

        def keep_probe(index: int, samples: dict[str, list[float]]) -> None:
            for text, values in samples.items():
                new = {**summarize(values), "source": "in_context"}
                table.entries[text] = merge_summaries(table.entries.get(text), new)
            table.meta["in_context"] = {
                "probes": len(probe_list),
                "passes": protocol.passes,
                "probes_done": index + 1,
                "probe_seed": protocol.seed,
                "method": "ORT profiler per-node kernel times mapped to blocks by module path",
            }
            save()
            if (index + 1) % len(probe_list) == 0:
                time_fit_networks((index + 1) // len(probe_list))

        measure_in_context(
            space.name,
            schedule,
            resolution,
            device,
            protocol,
            on_probe=keep_probe,
            progress=report,
            start=done,
        )
    values = {text: table.value(text) for text in table.entries}
    table.meta["families"] = fit_families(values) if enumeration["method"] == "grid" else {}
    save()

    if fit_archs:
        time_fit_networks(protocol.passes)
        per_net = zip(*table.meta["fit_passes"], strict=True)
        stats = [functools.reduce(merge_summaries, net) for net in per_net]
        predictor = Predictor(table, fit={"scale": 1.0, "overhead_ms": 0.0})
        raw = [predictor.predict(a).raw_sum_ms for a in fit_archs]
        measured = [s[f"{protocol.statistic}_ms"] for s in stats]
        fit = fit_scale_overhead(raw, measured)
        table.meta["fit"] = {
            **{k: round(v, 6) for k, v in fit.items()},
            "nets": len(fit_archs),
            "seed": FIT_SEED,
            "method": "NNLS on relative errors: measured ≈ scale × Σ entries + overhead",
            "raw_sum_ratio": [
                round(m / r, 4) if r > 0 else None for m, r in zip(measured, raw, strict=True)
            ],
        }
    else:
        table.meta["fit"] = {"scale": 1.0, "overhead_ms": 0.0, "nets": 0}
    table.meta["complete"] = True
    save()
    return table


def runs_on_calling_thread(device: DeviceProfile) -> bool:
    """Does one inference run entirely on the thread that calls ``session.run``?

    True for ORT's CPU provider with one intra-op thread, and for OpenVINO's CPU device
    with ``num_of_threads: 1`` (measured: thread-CPU and process-CPU time of a run agree
    within 0.1 %, so no worker thread computes).
    """
    provider = device.providers[0]
    if provider.name == "CPUExecutionProvider":
        return device.intra_op_threads == 1
    if provider.name == "OpenVINOExecutionProvider":
        options = provider.options
        return (
            str(options.get("device_type", "")).upper() == "CPU"
            and str(options.get("num_of_threads", "")) == "1"
        )
    return False


def check_protocol(device: DeviceProfile, protocol: TimingProtocol) -> None:
    """The thread-CPU clock measures latency only when one thread does all the work."""
    if protocol.clock == "thread_cpu" and not runs_on_calling_thread(device):
        raise ConfigError(
            f"--clock thread_cpu needs a 1-thread CPU device; {device.name!r} has "
            f"{device.intra_op_threads} threads on {device.primary_provider}"
        )


def _resume_or_new(
    out: Path,
    device: DeviceProfile,
    space: str,
    resolution: int,
    protocol: TimingProtocol,
    resume: bool,
) -> LatencyTable:
    if resume and out.is_file():
        table = LatencyTable.load(out)
        same = (
            table.space == space
            and table.resolution == resolution
            and table.meta["device"] == device.to_dict()
            and TimingProtocol.from_dict(table.meta["protocol"]) == protocol
        )
        if not same:
            raise ConfigError(
                f"{out} holds a table of another device, space, resolution or protocol; "
                "pass --fresh to overwrite it or choose another --out"
            )
        return table
    return new_table(space, resolution, device.to_dict(), protocol.to_dict())


def validate_table(
    table: LatencyTable,
    device: DeviceProfile,
    count: int,
    *,
    protocol: TimingProtocol | None = None,
    seed: int = VALIDATION_SEED,
    stage: StartStage = _silent_stage,
) -> dict[str, Any]:
    """Time ``count`` random networks end-to-end, compare with predictions, store figures."""
    from nascli.spaces import get_space

    if table.unit != "ms":  # a cycles table is validated when profiled, against cycles
        raise ConfigError(
            f"{table.path}: a table in {table.unit} is validated by nascli profile "
            f"--device {table.device_name} (--validate-nets N), not by timing networks"
        )
    require_available(device)
    protocol = protocol or TimingProtocol.from_dict(table.meta["protocol"])
    check_protocol(device, protocol)
    space = get_space(table.space)
    archs = random_archs(space, count, seed)
    predictor = Predictor(table)
    predictions = [predictor.predict(a) for a in archs]
    report = stage("validation networks", len(archs) * protocol.passes)
    stats = measure_networks(space.name, archs, table.resolution, device, protocol, progress=report)
    measured = [s[f"{protocol.statistic}_ms"] for s in stats]
    predicted = [p.latency_ms for p in predictions]
    figures = accuracy_figures(predicted, measured)
    unfitted = accuracy_figures([p.raw_sum_ms for p in predictions], measured)
    accuracy = {
        **figures,
        "unfitted": unfitted,
        "statistic": protocol.statistic,
        "seed": seed,
        "estimated_networks": sum(p.estimated for p in predictions),
        "date": now_iso(),
        "device_profile": device.name,
        "nets": [
            {"arch": a.canonical, "measured_ms": round(m, 4), "predicted_ms": round(p, 4)}
            for a, m, p in zip(archs, measured, predicted, strict=True)
        ],
    }
    table.meta["accuracy"] = accuracy
    if table.path is not None:
        table.save(table.path)
    return accuracy
