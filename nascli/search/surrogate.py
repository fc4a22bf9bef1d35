"""Surrogate-guided search: price thousands of candidates analytically, evaluate the best.

ZiCo is a sum of per-layer terms, each close to ``log(weight count) + offset(layer)``
(``nascli.search.layer_model``), so a network's ZiCo can be predicted from its structure
alone to within about half a percent, at tens of thousands of networks per second. The
mutate-and-keep evolution of Zen-NAS/ZiCo spends one real evaluation per mutation; their
published nets took 100,000. This proposer instead runs the evolution on the prediction:

1. refit the layer-term model on the terms of every evaluated network (each evaluation
   gives one row per weight layer, so the model is well determined after a few nets);
2. mutate parents — the best evaluated networks and the best predicted ones — into
   ``CHILDREN`` new feasible candidates, priced by the model, and keep the best
   ``POOL`` predicted candidates across proposals;
3. send the best predicted candidate not yet evaluated to the real proxy.

Every reported score is a real evaluation; the model only decides which candidate is
evaluated next. The first proposal starts from the space's seed net (``initial``) or from
random feasible samples. The pool lives in memory: a resumed run refits the model from the
study and rebuilds the pool from the evaluated networks, so it continues well but does not
replay an uninterrupted run proposal by proposal.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.layers import LayerKey
from nascli.proxies.base import ProxyResult
from nascli.search.evolution import Member, NoFeasibleCandidate, Proposal
from nascli.search.layer_model import LayerTermModel, layer_features, log_numel
from nascli.search.layer_specs import weight_layers_of
from nascli.spaces import HasInitial, arch_from_canonical

CHILDREN = 256  # candidates priced per proposal
POOL = 256  # best predicted, not yet evaluated candidates kept between proposals
PARENTS_FROM_POOL = 16  # predicted-best candidates that may be mutated besides the elite
SEED_SAMPLES = 64  # random feasible samples priced before the first proposal
FIRST_GENERATIONS = 40  # pool generations of the first proposal (grows from the seeds)
GENERATIONS = 4  # pool generations of each later proposal (the pool carries over)
PATIENCE = 2  # generations in a row without a better prediction end a proposal early
MAX_ATTEMPTS = 4000  # candidates tried for one proposal before giving up
TERMS_KEY = "layer_terms"  # trial attribute holding the evaluated layer terms


class LayerwiseProxy:
    """Wraps a proxy with ``score_layers`` so each evaluation returns its layer terms.

    ``evaluate`` gives the score and the terms together (``ProxyResult``), which
    ``run_proxy`` passes on in its outcome; ``score`` keeps the plain proxy contract.
    """

    def __init__(self, proxy: Any) -> None:
        if not callable(getattr(proxy, "score_layers", None)):
            raise ConfigError(
                f"--algo surrogate predicts the proxy from its per-layer terms; proxy "
                f"{proxy.name!r} has none (use zico, or --algo evolution/tpe/random)"
            )
        self.proxy = proxy
        self.name = proxy.name
        self.needs_data = proxy.needs_data
        self.needs_labels = proxy.needs_labels
        self.cost = proxy.cost
        self.residual = bool(getattr(proxy, "residual", True))

    @property
    def batches_needed(self) -> int:
        return int(getattr(self.proxy, "batches_needed", 1))

    def evaluate(self, candidate: Any, batches: Sequence[Any]) -> ProxyResult:
        value, terms = self.proxy.score_layers(candidate, batches)
        return ProxyResult(value, tuple(None if t is None else round(float(t), 6) for t in terms))

    def score(self, candidate: Any, batches: Sequence[Any]) -> float:
        return self.evaluate(candidate, batches).value


class KeyPrices:
    """Per-``LayerKey`` sums of ``log numel`` and of the layer features, cached."""

    def __init__(self) -> None:
        self._cache: dict[LayerKey, tuple[float, np.ndarray]] = {}

    def of(self, key: LayerKey) -> tuple[float, np.ndarray]:
        hit = self._cache.get(key)
        if hit is None:
            layers = weight_layers_of([key])
            if layers:
                hit = (float(log_numel(layers).sum()), layer_features(layers).sum(axis=0))
            else:
                hit = (0.0, np.zeros(layer_features([]).shape[1]))
            self._cache[key] = hit
        return hit

    def network(self, keys: Sequence[LayerKey]) -> tuple[float, np.ndarray]:
        """(Σ log numel, Σ features) of a chain of keys."""
        size = 0.0
        features = None
        for key in keys:
            part_size, part_features = self.of(key)
            size += part_size
            features = part_features.copy() if features is None else features + part_features
        return size, features if features is not None else np.zeros(0)


class SurrogateProposer:
    """Proposes the next candidate from the study's evaluated networks and a priced pool."""

    def __init__(
        self,
        space: Any,
        feasible: Callable[[Arch], bool],
        *,
        resolution: int,
        residual: bool,
        population: int,
        seed: int,
        children: int = CHILDREN,
        pool: int = POOL,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.space = space
        self.feasible = feasible
        self.resolution = resolution
        self.residual = residual
        self.population = population
        self.seed = seed
        self.children = children
        self.pool_size = pool
        self.max_attempts = max_attempts
        self.model = LayerTermModel()
        self.prices = KeyPrices()
        self._pool: dict[str, tuple[Arch, float, np.ndarray]] = {}  # canonical -> priced
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # canonical -> fit rows
        self.initial: Arch | None = space.initial() if isinstance(space, HasInitial) else None

    # ------------------------------------------------------------------ model
    def observe(self, evaluated: Sequence[tuple[str, Sequence[float | None]]]) -> None:
        """Refit the layer-term model on ``(canonical, layer terms)`` of evaluated nets."""
        for canonical, terms in evaluated:
            if canonical in self._rows:
                continue
            layers = self._layers(arch_from_canonical(canonical))
            if len(layers) != len(terms):
                continue  # not built from these keys (another resolution or space)
            observed = np.array([math.nan if t is None else float(t) for t in terms])
            keep = np.isfinite(observed)
            offsets = (observed - log_numel(layers))[keep]
            self._rows[canonical] = (layer_features(layers)[keep], offsets)
        if self._rows:
            features = np.concatenate([rows for rows, _ in self._rows.values()])
            offsets = np.concatenate([values for _, values in self._rows.values()])
            self.model.fit(features, offsets)

    def predict(self, arch: Arch) -> float:
        size, features = self._priced(arch)
        return size + float(features @ self.model.weights)

    def _layers(self, arch: Arch) -> list:
        return weight_layers_of(
            self.space.layers(arch, resolution=self.resolution, residual=self.residual)
        )

    def _priced(self, arch: Arch) -> tuple[float, np.ndarray]:
        keys = self.space.layers(arch, resolution=self.resolution, residual=self.residual)
        return self.prices.network(keys)

    # ------------------------------------------------------------------ proposals
    def propose(self, trial_number: int, members: Sequence[Member], seen: set[str]) -> Proposal:
        """The best predicted candidate not yet evaluated, after evolving the pool.

        The pool evolves for up to ``GENERATIONS`` generations of ``children`` priced
        mutations (``FIRST_GENERATIONS`` when it grows from the seed nets), and stops early
        once ``PATIENCE`` generations in a row no longer improve the best prediction. The
        pool carries over, so the evolution on the prediction goes on across proposals at a
        bounded cost each.
        """
        rng = random.Random(f"surrogate:{self.seed}:{trial_number}")
        counts = [0, 0]  # rejected, duplicates
        for canonical in [c for c in self._pool if c in seen]:
            del self._pool[canonical]
        elite = [m.arch for m in sorted(members, key=lambda m: m.rank_key, reverse=True)]
        elite = elite[: self.population]
        generations = GENERATIONS
        if not elite and not self._pool:
            generations = FIRST_GENERATIONS
            seeds, counts[0] = self._seed_parents(rng, seen)
            for arch in seeds:
                if arch.canonical not in seen:
                    self._pool[arch.canonical] = (arch, *self._priced(arch))
        else:
            seeds = []
        best = self._best_prediction()
        stale = 0
        for _generation in range(generations):
            parents = elite + seeds + self._pool_best(PARENTS_FROM_POOL)
            if not parents:
                break
            self._breed(parents, rng, seen, counts)
            self._trim()
            improved = self._best_prediction()
            stale = stale + 1 if improved <= best + 1e-9 else 0
            if stale >= PATIENCE:
                break
            best = max(best, improved)
        if not self._pool:
            raise NoFeasibleCandidate(counts[0], counts[1])
        chosen = self._pool_best(1)[0]
        del self._pool[chosen.canonical]
        # The pool's over-budget mutations were priced, never proposed: a proposal of the
        # surrogate rejects nothing (the progress line's feasible share stays meaningful).
        return Proposal(chosen, 0, counts[1], "surrogate")

    def _breed(
        self, parents: list[Arch], rng: random.Random, seen: set[str], counts: list[int]
    ) -> None:
        """Add up to ``children`` new feasible, priced mutations of ``parents`` to the pool."""
        made = 0
        for _attempt in range(self.max_attempts):
            if made >= self.children:
                return
            child = self.space.mutate(rng.choice(parents), rng)
            canonical = child.canonical
            if canonical in seen or canonical in self._pool:
                counts[1] += 1
                continue
            if not self.feasible(child):
                counts[0] += 1
                continue
            self._pool[canonical] = (child, *self._priced(child))
            made += 1

    def _best_prediction(self) -> float:
        _, scores = self._scores()
        return float(scores.max()) if len(scores) else -math.inf

    def _seed_parents(self, rng: random.Random, seen: set[str]) -> tuple[list[Arch], int]:
        """The space's seed net and random feasible samples, to start mutating from.

        Random samples reach the budget's size in far fewer mutations than the tiny seed
        nets of Zen-NAS/ZiCo spaces.
        """
        parents: list[Arch] = []
        if self.initial is not None and self.feasible(self.initial):
            parents.append(self.initial)
        rejected = 0
        for _ in range(self.max_attempts):
            if len(parents) >= SEED_SAMPLES:
                break
            arch = self.space.sample(rng)
            if arch.canonical in seen:
                continue
            if self.feasible(arch):
                parents.append(arch)
            else:
                rejected += 1
        if not parents:
            raise NoFeasibleCandidate(rejected, 0)
        return parents, rejected

    def _scores(self) -> tuple[list[str], np.ndarray]:
        names = list(self._pool)
        if not names:
            return names, np.zeros(0)
        sizes = np.array([self._pool[n][1] for n in names])
        features = np.stack([self._pool[n][2] for n in names])
        return names, sizes + features @ self.model.weights

    def _pool_best(self, count: int) -> list[Arch]:
        names, scores = self._scores()
        order = np.argsort(-scores, kind="stable")[:count]
        return [self._pool[names[i]][0] for i in order]

    def _trim(self) -> None:
        names, scores = self._scores()
        if len(names) <= self.pool_size:
            return
        keep = {names[i] for i in np.argsort(-scores, kind="stable")[: self.pool_size]}
        self._pool = {n: v for n, v in self._pool.items() if n in keep}
