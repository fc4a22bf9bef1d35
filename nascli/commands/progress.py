"""Progress for long commands, on a terminal and without one (nohup, SLURM, CI logs).

On a terminal: a rich progress bar on stderr. Without one: a plain line on stderr every few
trials (about 20 lines per run) with the same figures, so a log shows a search is alive and
how it goes. ``quiet`` turns both off. The library never imports this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nascli.commands.common import stderr_console

PLAIN_LINES = 20  # plain progress lines per search (one every total / 20 trials)


def search_progress(quiet: bool, every: int | None = None) -> Callable[[int], Any] | None:
    """A factory ``total -> per-trial hook``: rich bar on a terminal, plain lines otherwise."""
    if quiet:
        return None
    if sys.stderr.isatty():
        return _rich_factory
    return lambda total: PlainProgress(total, every or max(1, total // PLAIN_LINES))


class PlainProgress:
    """``search: 40/200 trials, best 61.2, feasible 38%, elapsed 0:02:11`` every N trials."""

    def __init__(self, total: int, every: int, write: Callable[[str], None] | None = None):
        self.total = total
        self.every = every
        self.start = time.perf_counter()
        self.last = -1
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))

    def __call__(self, state: Any) -> None:
        done = min(state.done, self.total)
        first = self.last < 0  # the state a (resumed) search starts from
        if done == self.last or (not first and done % self.every and done < self.total):
            return
        self.last = done
        self.write(
            f"search: {done}/{self.total} trials, best {state.best_text}, "
            f"feasible {100 * state.feasible_share:.0f}%, elapsed {_clock(self._elapsed())}"
        )

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _rich_factory(total: int) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("search"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TextColumn("feasible {task.fields[feasible]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=True,
    )
    progress.start()
    task = progress.add_task("search", total=total, best="–", feasible="–")

    def hook(state: Any) -> None:
        progress.update(
            task,
            completed=min(state.done, total),
            best=state.best_text,
            feasible=f"{100 * state.feasible_share:.0f}%",
        )
        if state.done >= total:
            progress.stop()

    hook.stop = progress.stop  # type: ignore[attr-defined]
    return hook


@contextmanager
def stages(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int, str], None]]]:
    """``start(name, total) -> report(done, what)`` for each stage of a long job.

    A rich bar per stage on a terminal; a plain line per tenth of a stage without one.
    """
    if not enabled:
        yield lambda _name, _total: lambda _done, _what: None
        return
    if not sys.stderr.isatty():
        yield _plain_stage
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
    ) as progress:

        def start(name: str, total: int) -> Callable[[int, str], None]:
            task = progress.add_task(name, total=total)

            def report(done: int, what: str) -> None:
                progress.update(task, advance=done, description=f"{name} {what}".strip())

            return report

        yield start


def _plain_stage(name: str, total: int) -> Callable[[int, str], None]:
    every = max(1, total // 10)
    count = {"done": 0, "start": time.perf_counter()}

    def report(done: int, what: str) -> None:
        before = count["done"]
        count["done"] += done
        now = count["done"]
        if now // every != before // every or now >= total > before:
            elapsed = _clock(time.perf_counter() - count["start"])
            print(f"{name}: {now}/{total} {what} elapsed {elapsed}".strip(), file=sys.stderr)

    return report
