"""A whole search run: run dir, study, workers, progress, baselines, outputs.

The run directory is the unit a user sees: ``config.yaml`` (resolved), ``study.db`` (unless
``--storage``), ``top.csv``, ``best.yaml``, ``best.onnx``, ``pareto.png``, ``summary.json``,
``baselines.json`` (baseline scores, cached so a resumed run does not redo them).
A run dir holding another search's config is refused unless ``--force``; the default study
name is the config's fingerprint, so even a forced run never mixes trials of two searches.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nascli.config import SearchConfig, default_out_dir, read_resolved, write_resolved
from nascli.errors import ConfigError
from nascli.search.baselines import resolve_baselines
from nascli.search.driver import SearchDriver
from nascli.search.outputs import SearchResult, write_outputs
from nascli.search.storage import fail_stale_running, redact, storage_url_for
from nascli.search.study_info import describe_study
from nascli.search.workers import configure_threads, join_workers, start_workers


def prepare_run_dir(config: SearchConfig, force: bool) -> Path:
    """Create/check the run dir; refuse one that holds a different search (unless forced)."""
    run_dir = Path(config.out) if config.out else default_out_dir(config)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create run dir {run_dir}: {exc.strerror or exc}") from None
    if not os.access(run_dir, os.W_OK):
        raise ConfigError(f"run dir {run_dir} is not writable")
    existing = run_dir / "config.yaml"
    if existing.exists() and not force:
        try:
            from nascli.config import resolve_config

            old = resolve_config(read_resolved(existing))
        except ConfigError:
            raise ConfigError(
                f"{run_dir} holds an unreadable config.yaml; use another --out or --force"
            ) from None
        if old.identity() != config.identity():
            diff = sorted(k for k in old.identity() if old.identity()[k] != config.identity()[k])
            raise ConfigError(
                f"{run_dir} holds a different search (differs in {', '.join(diff)}); "
                "use another --out, or --force to start a new study there"
            )
    return run_dir


def check_inputs(config: SearchConfig) -> None:
    """Every name, path and budget checked before anything is created on disk.

    What is only read after the search (the baselines) is resolved here too, so a typo
    never costs a finished search; tables, data and storage are opened by the driver before
    its first evaluation.
    """
    from nascli.budget import known_devices, parse_budgets
    from nascli.search.components import resolve_proxies
    from nascli.search.driver import parse_objectives
    from nascli.spaces import get_space

    get_space(config.space)
    devices = known_devices()
    parse_budgets(config.budgets, devices)
    parse_objectives(config, devices)
    resolve_proxies(config.proxy)
    resolve_baselines(config)
    from nascli.proxies.device import worker_devices

    worker_devices(config.proxy_device, config.workers)  # a device this machine lacks
    if config.data is not None:
        from nascli.datasets import check_data_spec

        check_data_spec(config.data)
    if config.table is not None and not Path(config.table).exists():
        raise ConfigError(f"--table {config.table}: no such file or folder")


def run_search(
    config: SearchConfig,
    *,
    force: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> SearchResult:
    """Run (or resume) a search and write every output; ``progress(total)`` → per-trial hook."""
    start = time.perf_counter()
    check_inputs(config)
    run_dir = prepare_run_dir(config, force)
    study_name = config.study_name or f"nascli-{config.fingerprint()}"
    storage_url = storage_url_for(config, run_dir)
    configure_threads(config.workers, config.threads)
    run_config = calibrated(config, progress is not None)
    driver = SearchDriver(run_config, study_name=study_name, storage_url=storage_url, worker=0)
    study = driver.open_study()
    driver.attach_reference(study, reference_progress(progress is not None))
    describe_study(study, driver)
    write_resolved(
        config,
        run_dir / "config.yaml",
        extra={"study_name": study_name, "storage": redact(storage_url)},
    )
    if not config.storage:
        fail_stale_running(study)  # a local run dir: RUNNING trials are from a killed run
    hook = progress(config.iterations) if progress is not None else None
    if hook is not None:
        hook(driver.state(study))
    processes = start_workers(run_config, study_name, storage_url) if config.workers > 1 else []
    try:
        driver.run(study, iterations=config.iterations, timeout=config.time_limit, on_trial=hook)
    finally:
        if processes:
            join_workers(processes)
    search_seconds = time.perf_counter() - start

    return write_outputs(driver, study, run_dir, search_seconds=search_seconds, start=start)


def calibrated(config: SearchConfig, chatty: bool) -> SearchConfig:
    """With ``--calibrate N``: re-anchor the latency budget's table on this host first.

    The table the budget finds is timed on N seeded networks here (``latency.host``), the
    result saved in the user folder (so later runs and ``predict --device`` use it too) and
    the search runs on it. The run's identity keeps ``table`` unset: a replay calibrates anew.
    """
    import sys
    from dataclasses import replace

    from nascli.budget import known_devices, parse_budgets
    from nascli.latency.host import reanchor
    from nascli.latency.table import LatencyTable, default_table_path
    from nascli.paths import user_table_path
    from nascli.spaces import get_space

    if not config.calibrate:
        return config
    devices = sorted(
        {b.device for b in parse_budgets(config.budgets, known_devices()) if b.device}
        | {o.split("@", 1)[1] for o in config.objectives if "@" in o}
    )
    if len(devices) != 1:
        raise ConfigError("--calibrate needs exactly one latency device (a budget like 8ms@cpu)")
    space = get_space(config.space)
    base = default_table_path(devices[0], space.name, space.resolution)
    if not base.is_file():
        raise ConfigError(f"--calibrate: no latency table {base} to re-anchor")
    if chatty:
        print(f"calibrating {base} on {config.calibrate} networks here...", file=sys.stderr)
    table, info = reanchor(LatencyTable.load(base), config.calibrate)
    out = table.save(user_table_path(devices[0], space.name, space.resolution))
    if chatty:
        print(
            f"calibrated: scale {info['scale']:.4f}, overhead {info['overhead_ms']:.3f} ms, "
            f"MAPE {info['before']['mape_pct']} % -> {info['after']['mape_pct']} %; wrote {out}",
            file=sys.stderr,
        )
    return replace(config, table=str(out), calibrate=0)


def reference_progress(chatty: bool) -> Callable[[int, int], None] | None:
    """One stderr line when an ensemble's reference sample has to be scored (once per settings)."""
    import sys

    if not chatty:
        return None

    def report(done: int, total: int) -> None:
        if done == 1:
            print(
                f"scoring the ensemble's reference sample ({total} nets, once per space and "
                "proxy settings)...",
                file=sys.stderr,
                flush=True,
            )

    return report
