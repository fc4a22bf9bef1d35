"""Process-wide settings a search changes, changed only while it runs.

A search quietens Optuna's logger (an INFO line per trial would break the progress bar)
and sizes torch's intra-op thread pool for its workers. Both belong to the whole process,
so a program that calls the library (a notebook, a test session, a service running
several searches) gets them back as they were when the search returns or raises.
"""

from __future__ import annotations

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


@contextmanager
def torch_threads(workers: int, threads: int | None = None) -> Iterator[None]:
    """Torch's thread pool sized as ``configure_threads`` does, restored after the block."""
    import torch

    from nascli.search.workers import configure_threads

    before = torch.get_num_threads()
    configure_threads(workers, threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
