"""The Optuna samplers behind ``--algo tpe | nsga2 | random``.

``evolution`` and ``surrogate`` propose candidates themselves (``nascli.search.evolution``,
``nascli.search.surrogate``) and run under Optuna's random sampler, which they never consult.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nascli.config import SearchConfig

CONSTRAINED_SAMPLERS = ("tpe", "nsga2")
"""Samplers that learn from Optuna constraint values; evolution and random never read them
(the trial's user attributes hold its cost, its latency and, when rejected, the budgets it
broke, whatever the sampler)."""


def make_sampler(config: SearchConfig, n_objectives: int, worker: int) -> Any:
    import optuna

    seed = config.seed + worker  # workers explore differently; worker 0 replays a 1-worker run
    if config.algo == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, constant_liar=config.workers > 1,
            n_startup_trials=min(10, max(2, config.iterations // 5)),
        )  # fmt: skip
    if config.algo == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=config.population)
    return optuna.samplers.RandomSampler(seed=seed)
