"""ZiCo/Zen-NAS-style evolution, proposing one candidate per Optuna trial (ask/tell style).

The population *is* the study: every proposal reads the evaluated trials from storage, keeps
the best E (``population``) and mutates one of them. So resuming, several workers and
PostgreSQL need nothing beyond what the study already gives, and a proposal depends only on
the seed, the trial number and the trials finished before it (single-worker runs replay).

As in ZiCo's ``evolution_search.py``: while the population is small the search seeds it
(ZiCo mutates its initial net; we start from ``space.initial()`` when the space has one and
fill with random *feasible* samples, which reach the budget's size in far fewer iterations
than growing the tiny seed net), then a uniformly random member of the best E is mutated in
one or two blocks (``space.mutate``), candidates over budget are rejected before any proxy
runs, and already evaluated ones are skipped (ZiCo re-scores duplicates; with a cache that is
wasted work).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nascli.arch import Arch
from nascli.spaces.base import HasInitial

SEED_POPULATION = 16  # candidates proposed by seeding before mutation starts (at most E)
MAX_ATTEMPTS = 4000  # candidates tried for one proposal before giving up


@dataclass(frozen=True)
class Member:
    """An evaluated, feasible architecture with its sort key (larger = better)."""

    arch: Arch
    rank_key: tuple[float, ...]


@dataclass(frozen=True)
class Proposal:
    arch: Arch
    rejected: int  # candidates over budget tried before this one
    duplicates: int  # candidates skipped because they were already evaluated
    origin: str  # "initial", "random", "mutation"


class NoFeasibleCandidate(Exception):
    """No new candidate within budget after ``MAX_ATTEMPTS`` tries."""

    def __init__(self, rejected: int, duplicates: int) -> None:
        super().__init__(f"{rejected} over budget, {duplicates} already evaluated")
        self.rejected = rejected
        self.duplicates = duplicates


class Evolution:
    """Proposes the next candidate from the current study state."""

    def __init__(
        self,
        space,
        feasible: Callable[[Arch], bool],
        *,
        population: int,
        seed: int,
        seed_population: int = SEED_POPULATION,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.space = space
        self.feasible = feasible
        self.population = population
        self.seed = seed
        self.seed_population = min(seed_population, population)
        self.max_attempts = max_attempts
        self.initial: Arch | None = space.initial() if isinstance(space, HasInitial) else None

    def select(self, members: Sequence[Member]) -> list[Member]:
        """The best E members (stable: ties keep evaluation order)."""
        ranked = sorted(members, key=lambda m: m.rank_key, reverse=True)
        return ranked[: self.population]

    def propose(self, trial_number: int, members: Sequence[Member], seen: set[str]) -> Proposal:
        rng = random.Random(f"evolution:{self.seed}:{trial_number}")
        rejected = duplicates = 0
        elite = self.select(members)
        seeding = len(members) < self.seed_population
        if seeding and self.initial is not None and self.initial.canonical not in seen:
            if self.feasible(self.initial):
                return Proposal(self.initial, 0, 0, "initial")
            rejected += 1
        for attempt in range(self.max_attempts):
            if seeding and (not elite or attempt < self.max_attempts // 2):
                child, origin = self.space.sample(rng), "random"
            else:
                parent = rng.choice(elite).arch if elite else self.initial
                if parent is None:
                    child, origin = self.space.sample(rng), "random"
                else:
                    child, origin = self.space.mutate(parent, rng), "mutation"
            if child.canonical in seen:
                duplicates += 1
                continue
            if not self.feasible(child):
                rejected += 1
                continue
            return Proposal(child, rejected, duplicates, origin)
        raise NoFeasibleCandidate(rejected, duplicates)


def pareto_ranks(points: Sequence[Sequence[float]]) -> list[int]:
    """Non-domination rank (0 = Pareto front) of each point, all objectives maximised."""
    n = len(points)
    dominated_by = [0] * n
    dominates: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = points[i], points[j]
            if _dominates(a, b):
                dominates[i].append(j)
                dominated_by[j] += 1
            elif _dominates(b, a):
                dominates[j].append(i)
                dominated_by[i] += 1
    ranks = [0] * n
    front = [i for i in range(n) if dominated_by[i] == 0]
    level = 0
    while front:
        nxt = []
        for i in front:
            ranks[i] = level
            for j in dominates[i]:
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    nxt.append(j)
        front = nxt
        level += 1
    return ranks


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )
