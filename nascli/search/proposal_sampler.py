"""Evolution and the surrogate as an Optuna sampler.

A proposer (``nascli.search.evolution.Evolution``, ``nascli.search.surrogate``) picks a
whole architecture from the study's evaluated members. Wrapped here, it answers Optuna's
sampler API: the proposal is made when Optuna opens the trial (``before_trial``), its
values and distributions form the trial's relative search space, and the objective asks
for them through the public ``trial.suggest_*`` calls. Stored params and distributions are
then Optuna's own, so dashboards, ``optuna.importance`` and plots read every trial, and
nothing of Optuna's private API is needed.

A mutated net may leave the range the space's ``suggest`` declares for a stage; its params
are then asked with that distribution widened to hold the value (``arch_params``), which
Optuna accepts: the ranges of one param may differ between trials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna

from nascli.search.evolution import NoFeasibleCandidate, Proposal
from nascli.search.study_info import arch_params

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

    from nascli.arch import Arch

ProposeFn = Callable[[optuna.Study, int], Proposal]


class ProposalSampler(optuna.samplers.BaseSampler):
    """Optuna's sampler API over a proposer; ``propose(study, trial_number)`` decides."""

    def __init__(self, space: Any, propose: ProposeFn, seed: int) -> None:
        self.space = space
        self._propose = propose
        self._fallback = optuna.samplers.RandomSampler(seed=seed)
        self._pending: dict[int, Proposal | NoFeasibleCandidate] = {}
        self._params: dict[int, dict[str, tuple[Any, BaseDistribution]]] = {}

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Propose now, while Optuna opens the trial; a proposer that finds nothing new
        within budget is reported to the objective (``take``), which ends the search."""
        try:
            proposal = self._propose(study, trial.number)
        except NoFeasibleCandidate as exc:
            self._pending[trial.number] = exc
            return
        self._pending[trial.number] = proposal
        self._params[trial.number] = arch_params(self.space, proposal.arch)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {name: dist for name, (_, dist) in self._params.get(trial.number, {}).items()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        params = self._params.get(trial.number, {})
        return {name: params[name][0] for name in search_space if name in params}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: optuna.trial.TrialState,
        values: Any,
    ) -> None:
        self._pending.pop(trial.number, None)
        self._params.pop(trial.number, None)

    def take(self, trial: optuna.Trial) -> tuple[Arch, Proposal]:
        """The trial's proposal, its params asked through the trial (stored by Optuna).

        Raises ``NoFeasibleCandidate`` when the proposer found nothing for this trial.
        A net whose params the space's ``suggest`` cannot express keeps no params (its
        ``arch`` user attribute still names it).
        """
        pending = self._pending.get(trial.number)
        if pending is None:
            raise RuntimeError(f"trial {trial.number} was opened by another sampler")
        if isinstance(pending, NoFeasibleCandidate):
            raise pending
        for name, (_, distribution) in self._params.get(trial.number, {}).items():
            ask(trial, name, distribution)
        return pending.arch, pending


def ask(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    """``trial.suggest_*`` for a distribution object (public API only)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    raise TypeError(f"unsupported distribution {distribution!r}")
