"""Worker processes of one search on one machine, each with its own torch thread pool."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nascli.errors import JobError
from nascli.search.process_state import configure_threads

if TYPE_CHECKING:
    from nascli.config import SearchConfig

# A worker fails its trial in flight within this after a signal, else its watchdog ends it
# (a worker orphaned by a killed parent gets SIGTERM and must not linger).
WORKER_CLEANUP_SECONDS = 30.0


def worker_main(
    config_data: dict[str, Any], study_name: str, storage_url: str, index: int, parent: int
) -> None:
    """Entry point of an extra worker process (spawned by ``start_workers``).

    A signal fails the trial in flight (Optuna fails a trial on ``KeyboardInterrupt``) and
    ends the worker with 128 + its number; any other error is one ``error:`` line (worker
    N) and its exit code, never a traceback (``NASCLI_DEBUG=1`` shows it).
    """
    import sys

    from nascli import faults
    from nascli.signals import die_with_parent, exit_code_of, interruption_in, raise_on_signals

    raise_on_signals(once=True, cleanup_limit=WORKER_CLEANUP_SECONDS)
    die_with_parent(parent)
    faults.quiet_threads(os.environ.get(faults.DEBUG_ENV, "") not in ("", "0"))
    try:
        from nascli.config import resolve_config
        from nascli.search.driver import SearchDriver
        from nascli.search.plan import build_plan

        config = resolve_config(config_data)
        configure_threads(config.workers, config.threads)
        plan = build_plan(config)
        driver = SearchDriver(plan, study_name=study_name, storage_url=storage_url, worker=index)
        study = driver.open_study()
        driver.attach_reference(study)  # worker 0 stored it in the study before starting us
        driver.run(study, iterations=config.iterations, timeout=config.time_limit)
    except KeyboardInterrupt as exc:
        sys.exit(exit_code_of(exc))
    except Exception as exc:
        signal = interruption_in(exc)
        if signal is not None:
            sys.exit(exit_code_of(signal))
        message, code = faults.describe(exc)
        if os.environ.get(faults.DEBUG_ENV, "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        print(f"error: worker {index}: {message}", file=sys.stderr)
        sys.exit(code)


def start_workers(config: SearchConfig, study_name: str, storage_url: str) -> list[Any]:
    """Start ``workers - 1`` extra processes on this machine (the caller is worker 0)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = []
    for index in range(1, config.workers):
        process = context.Process(
            target=worker_main,
            args=(config.to_dict(), study_name, storage_url, index, os.getpid()),
            daemon=False,
        )
        process.start()
        processes.append(process)
    return processes


def stop_workers(processes: list[Any], grace: float = 10.0) -> None:
    """Ask every worker to stop (SIGTERM: its trial in flight is failed), wait up to
    ``grace`` seconds in all, then kill what is left: no worker outlives the search."""
    import signal
    import time

    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def join_workers(processes: list[Any]) -> None:
    failed = []
    for process in processes:
        process.join()
        if process.exitcode != 0:
            failed.append(process.exitcode)
    if failed:
        raise JobError(f"{len(failed)} search worker(s) failed (exit codes {failed})")
