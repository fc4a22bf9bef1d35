"""Cascade search: a cheap screen ranks many candidates, the strong proxy decides among the best.

A search with an expensive proxy (an ensemble such as ``nb201-rank``, seconds per net) sees
about a hundred networks; the best of the space's budgeted networks are a fraction of a
percent of it, so a hundred draws rarely contain one. A cheap proxy (analytic MACs or
params, microseconds; a one-pass proxy such as SynFlow or MeCo, a tenth of a second) can look
at ten times as many. The cascade therefore:

1. **screens**: draws ``screen_size`` distinct networks within every budget (seeded by the
   run's seed), scores each with the screen proxy on the search's own batches and device, and
   orders them by that score (best first; ties keep the order they were drawn in; networks
   the screen proxy fails on are dropped);
2. proposes the best ``finalists`` of that order, in order, to the strong proxy (one trial
   each, so ``--iterations`` still counts strong evaluations);
3. once the finalists are evaluated, spends the remaining evaluations on mutations of the
   best evaluated networks (the ZiCo/Zen-NAS evolution step, ``nascli.search.evolution``).

The screened order is stored in the study (``STUDY_ATTR``), so a resumed run and extra
workers read it instead of screening again, and a proposal depends only on the stored order,
the trial number and the trials evaluated before it. The screen runs before the first trial,
inside the search's wall time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.search.evolution import Evolution, Member, Proposal

STUDY_ATTR = "nascli.cascade"
DRAWS_PER_NETWORK = 50  # draws allowed per wanted network before the screen stops short
ScoreFn = Callable[[Arch], float | None]  # the screen proxy on one network; None = failed
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScreenedPool:
    """The screen's result: networks best first, with their screen scores."""

    screen: str
    size: int  # networks asked for (``screen_size``)
    seed: int
    order: tuple[str, ...]  # canonical strings, best screen score first
    scores: tuple[float, ...]
    drawn: int  # feasible networks scored (order plus screen failures)
    seconds: float  # time the screen took

    def as_dict(self) -> dict[str, Any]:
        return {
            "screen": self.screen, "size": self.size, "seed": self.seed,
            "order": list(self.order), "scores": list(self.scores), "drawn": self.drawn,
            "seconds": round(self.seconds, 3),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenedPool:
        return cls(
            str(data["screen"]), int(data["size"]), int(data["seed"]),
            tuple(str(c) for c in data["order"]), tuple(float(s) for s in data["scores"]),
            int(data["drawn"]), float(data["seconds"]),
        )  # fmt: skip


def draw_feasible(space: Any, feasible: Callable[[Arch], bool], size: int, seed: int) -> list[Arch]:
    """``size`` distinct networks within budget, drawn uniformly with the run's seed.

    Fewer when the budgeted space is smaller than ``size`` (the draws stop after
    ``DRAWS_PER_NETWORK * size`` tries).
    """
    rng = random.Random(f"cascade:{seed}")
    chosen: dict[str, Arch] = {}
    rejected: set[str] = set()
    for _ in range(DRAWS_PER_NETWORK * size):
        arch = space.sample(rng)
        key = arch.canonical
        if key in chosen or key in rejected:
            continue
        if feasible(arch):
            chosen[key] = arch
            if len(chosen) == size:
                break
        else:
            rejected.add(key)
    return list(chosen.values())


def screen_pool(
    space: Any,
    feasible: Callable[[Arch], bool],
    score: ScoreFn,
    *,
    screen: str,
    size: int,
    seed: int,
    progress: Progress | None = None,
) -> ScreenedPool:
    """Draw ``size`` feasible networks, score each with ``score``, order them best first."""
    started = time.perf_counter()
    drawn = draw_feasible(space, feasible, size, seed)
    if not drawn:
        raise ConfigError(
            f"the cascade's screen found no network of {space.name!r} within the budgets"
        )
    scored: list[tuple[float, int, str]] = []
    for index, arch in enumerate(drawn):
        value = score(arch)
        if value is not None and math.isfinite(value):
            scored.append((value, index, arch.canonical))
        if progress is not None:
            progress(index + 1, len(drawn))
    if not scored:
        raise ConfigError(
            f"the cascade's screen proxy {screen!r} failed on all {len(drawn)} networks"
        )
    scored.sort(key=lambda item: (-item[0], item[1]))  # best first; ties in draw order
    return ScreenedPool(
        screen, size, seed, tuple(c for _, _, c in scored), tuple(v for v, _, _ in scored),
        len(drawn), time.perf_counter() - started,
    )  # fmt: skip


class CascadeProposer:
    """Proposes the screen's finalists in screen order, then mutations of the best."""

    def __init__(
        self,
        space: Any,
        feasible: Callable[[Arch], bool],
        score: ScoreFn,
        *,
        screen: str,
        screen_size: int,
        finalists: int,
        population: int,
        seed: int,
    ) -> None:
        self.space = space
        self.feasible = feasible
        self.score = score
        self.screen = screen
        self.screen_size = screen_size
        self.finalists = finalists
        self.seed = seed
        self.pool: ScreenedPool | None = None
        self._archs: dict[str, Arch] = {}
        # Mutations after the finalists: seeding is over (the finalists are the population).
        self.evolution = Evolution(space, feasible, population=population, seed=seed)
        self.evolution.seed_population = 0

    def attach(self, stored: Any, progress: Progress | None = None) -> tuple[ScreenedPool, bool]:
        """The stored pool when ``stored`` holds one (a study attribute), else screen now.

        Returns the pool and whether it was screened now (the caller stores it then).
        """
        if isinstance(stored, dict):
            pool = ScreenedPool.from_dict(stored)
            asked = (self.screen, self.screen_size, self.seed)
            if (pool.screen, pool.size, pool.seed) != asked:
                raise ConfigError(
                    f"the study's screened pool was made with screen {pool.screen!r}, size "
                    f"{pool.size}, seed {pool.seed}, not {asked[0]!r}, {asked[1]}, {asked[2]}; "
                    "use another --study-name or run dir"
                )
            fresh = False
        else:
            pool = screen_pool(
                self.space, self.feasible, self.score, screen=self.screen,
                size=self.screen_size, seed=self.seed, progress=progress,
            )  # fmt: skip
            fresh = True
        self.pool = pool
        self._archs = {}
        return pool, fresh

    def finalist_order(self) -> list[str]:
        """The canonical strings the strong proxy evaluates first, in that order."""
        if self.pool is None:
            raise RuntimeError("a cascade proposes after attach() (the screen)")
        return list(self.pool.order[: self.finalists])

    def propose(self, trial_number: int, members: Sequence[Member], seen: set[str]) -> Proposal:
        duplicates = 0
        for canonical in self.finalist_order():
            if canonical in seen:
                duplicates += 1
                continue
            arch = self._arch(canonical)
            if self.feasible(arch):
                return Proposal(arch, 0, duplicates, "screen")
        proposal = self.evolution.propose(trial_number, members, seen)
        return Proposal(
            proposal.arch, proposal.rejected, proposal.duplicates + duplicates, proposal.origin
        )

    def _arch(self, canonical: str) -> Arch:
        arch = self._archs.get(canonical)
        if arch is None:
            name, _, body = canonical.partition(":")
            if name != self.space.name:
                raise ConfigError(f"screened pool holds {canonical!r}, not of {self.space.name!r}")
            arch = self._archs[canonical] = self.space.parse(body)
        return arch


def check_screen(name: str) -> None:
    """One ``ConfigError`` line for a screen that is not one known proxy."""
    from nascli.proxies.runner import make_proxies

    if "+" in name:
        raise ConfigError(f"--screen {name!r}: the screen is one proxy, not a+b")
    make_proxies([name])  # an unknown name is one line, with suggestions


def screen_score(
    name: str,
    *,
    space: Any,
    resolution: int,
    seed: int,
    device: Any,
    batches: Sequence[Any],
    batch_count: int,
) -> ScoreFn:
    """The screen proxy ``name`` as a score function on the search's own batches and device
    (the path the search's proxy takes: ``run_proxy`` on a seeded ``Candidate``)."""
    from nascli.proxies.base import Candidate
    from nascli.proxies.runner import make_proxies, run_proxy

    check_screen(name)
    proxy = make_proxies([name], batches=batch_count)[name]

    def score(arch: Arch) -> float | None:
        candidate = Candidate(arch, space, resolution, seed, device=device)
        return run_proxy(name, proxy, candidate, batches).score

    return score


def screen_progress(chatty: bool, screen: str) -> Progress | None:
    """One stderr line when the screen starts, and one when it ends (the screen is silent
    otherwise, and may take minutes with a one-pass proxy)."""
    import sys

    if not chatty:
        return None

    def report(done: int, total: int) -> None:
        if done == 1:
            print(f"cascade: screening {total} networks with {screen}...", file=sys.stderr)
        if done == total:
            print(f"cascade: screened {total} networks", file=sys.stderr, flush=True)

    return report
