"""Process-wide settings a search changes, changed only while it runs.

A search quietens Optuna's logger (an INFO line per trial would break the progress bar)
and sizes torch's intra-op thread pool for its workers. Both belong to the whole process,
so a program that calls the library (a notebook, a test session, a service running
several searches) gets them back as they were when the search returns or raises.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna logs errors only inside the block; its previous verbosity is restored after."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def configure_threads(workers: int, threads: int | None = None) -> None:
    """Torch threads of this worker: ``threads`` when given, else the cores shared out.

    Each worker is a process with its own torch pool. On a machine that is busy with
    other work, one thread per worker is often much faster than several that fight for
    the same cores (measured: about 5x on a loaded 2-core VM), hence ``--threads``.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
        return
    cores = os.cpu_count() or 1
    if workers > 1:
        torch.set_num_threads(max(1, cores // workers))


@contextmanager
def torch_threads(workers: int, threads: int | None = None) -> Iterator[None]:
    """Torch's thread pool sized as ``configure_threads`` does, restored after the block."""
    import torch

    before = torch.get_num_threads()
    configure_threads(workers, threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
