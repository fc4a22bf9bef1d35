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
from nascli.search.driver import SearchDriver
from nascli.search.outputs import SearchResult, write_outputs
from nascli.search.plan import SearchPlan, build_plan
from nascli.search.process_state import quiet_optuna, torch_threads
from nascli.search.storage import fail_stale_running, redact, storage_url_for
from nascli.search.study_info import describe_study
from nascli.search.workers import join_workers, start_workers, stop_workers
from nascli.signals import Interrupted, interruption_in, received_signal, signals_raise

LOCK_FILE = ".nascli.lock"
# Seconds a search may take to end after a signal (workers stopped, fast outputs written)
# before the watchdog ends it with one line: never a hang.
CLEANUP_LIMIT_SECONDS = 90.0


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
        before, now = old.identity(), config.identity()
        if before != now:
            diff = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
            raise ConfigError(
                f"{run_dir} holds a different search (differs in {', '.join(diff)}); "
                "use another --out, or --force to start a new study there"
            )
    return run_dir


def lock_run_dir(run_dir: Path) -> int:
    """An exclusive lock on ``run_dir`` for this process's lifetime (its descriptor).

    Two searches in one run dir would each fail the other's RUNNING trials as stale and
    overwrite each other's outputs; the second is refused. ``flock`` is released by the
    kernel when the process dies, so a killed search never leaves a stale lock.
    """
    import fcntl

    path = run_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot lock run dir {run_dir}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(
            f"run dir {run_dir} is in use by another nascli search (pid {holder}); "
            "wait for it, or use another --out (workers share a study with --workers or "
            "--storage, each with its own --out)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def run_search(
    config: SearchConfig,
    *,
    force: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> SearchResult:
    """Run (or resume) a search and write every output; ``progress(total)`` → per-trial hook.

    Optuna's verbosity and torch's thread count are set for the search and restored when
    it returns or raises (``nascli.search.process_state``), as are the signal handlers.
    """
    start = time.perf_counter()
    plan = build_plan(config)  # every input checked before anything touches disk
    run_dir = prepare_run_dir(config, force)
    lock = lock_run_dir(run_dir)
    try:
        with (
            signals_raise(CLEANUP_LIMIT_SECONDS),  # SIGTERM too runs ``finally``s
            quiet_optuna(),
            torch_threads(config.workers, config.threads),
        ):
            return _run_locked(plan, run_dir, start, progress)
    finally:
        os.close(lock)


def _run_locked(
    plan: SearchPlan,
    run_dir: Path,
    start: float,
    progress: Callable[[int], Any] | None,
) -> SearchResult:
    config = plan.config
    study_name = config.study_name or f"nascli-{config.fingerprint()}"
    storage_url = storage_url_for(config, run_dir)
    run_config = reanchored(config, progress is not None)
    if run_config is not config:  # re-anchored here: the plan reads the calibrated table
        plan = build_plan(run_config)
    driver = SearchDriver(plan, study_name=study_name, storage_url=storage_url, worker=0)
    study = driver.open_study()
    driver.attach_reference(study, reference_progress(progress is not None))
    driver.attach_screen(study, chatty=progress is not None)  # a cascade's screen, stored
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
        join_workers(processes)  # a signal while waiting for them stops them too
    except BaseException as exc:
        stop_workers(processes)
        signal = interruption_in(exc)
        if signal is None and received_signal() is None:
            raise
        # A library may turn the interrupt into its own error (Optuna: a KeyError from its
        # cache) without chaining it: the signal received decides, not the error's type.
        signum = getattr(signal, "signum", None) or received_signal() or 2
        raise _interrupted(driver, study, run_dir, start, Interrupted(signum)) from None
    search_seconds = time.perf_counter() - start

    return write_outputs(driver, study, run_dir, search_seconds=search_seconds, start=start)


def _interrupted(
    driver: SearchDriver, study: Any, run_dir: Path, start: float, signal: Interrupted
) -> Interrupted:
    """Write what the finished trials give (fast steps only) and say so in one line.

    Every worker of a local run is stopped and this process holds the run dir's lock, so a
    trial still RUNNING (its worker was stopped mid-``tell``) is failed now; a ``--storage``
    study leaves that to the heartbeat (other machines may be running trials).
    """
    if not driver.config.storage:
        fail_stale_running(study)
    done = driver.state(study).done
    written = write_outputs(
        driver, study, run_dir, search_seconds=time.perf_counter() - start, start=start,
        interrupted=signal.name,
    )  # fmt: skip
    skipped = ", ".join(written.summary["failed_steps"]) or "nothing"
    return Interrupted(
        signal.signum,
        f"{done} evaluated trial(s) kept in the study; outputs in {run_dir} "
        f"(skipped: {skipped}); rerun the same command to resume",
    )


def reanchored(config: SearchConfig, chatty: bool) -> SearchConfig:
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
