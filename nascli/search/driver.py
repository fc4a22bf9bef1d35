"""One search driver over an Optuna study: cheap hard constraints first, the proxy last.

Every algorithm runs through ``study.optimize`` so storage, resume, heartbeats, several
workers and PostgreSQL come from Optuna and are the same for all of them:

* ``tpe`` / ``nsga2`` / ``random``: the sampler proposes through ``space.suggest(trial)``;
* ``evolution`` / ``surrogate``: the proposer reads the evaluated trials and picks a whole net,
  behind Optuna's sampler API (``nascli.search.proposal_sampler``); the objective asks for it
  through the trial, so its params are Optuna's own.

Per trial: the architecture's analytic cost and LUT latency are computed and, for the
samplers that learn from them (TPE, NSGA-II), stored as Optuna constraints
(``trial.set_constraint``, relative excess, ≤ 0 = fits). A candidate over
any budget is recorded as a PRUNED trial (TPE and NSGA-II learn from its constraint values)
and never reaches the proxy; the evolution rejects such candidates before asking for a trial
and counts them. Scores are cached by canonical string (a sampler proposing a known net gets
the stored values back). A proxy that raises or returns NaN/inf makes a FAIL trial with the
reason, never a crash. ``--iterations`` counts proxy evaluations (COMPLETE trials and proxy
failures), so a killed run resumes where it stopped: finished trials are in the database,
and a trial killed mid-evaluation is failed by Optuna's heartbeat after ``GRACE_SECONDS``
(or at once when the run is resumed single-worker) and proposed again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nascli.arch import Arch
from nascli.config import SearchConfig
from nascli.errors import ConfigError
from nascli.proxies.device import batches_to
from nascli.proxies.ensemble import ReferenceScores
from nascli.search.algorithms import CONSTRAINED_SAMPLERS, make_sampler
from nascli.search.cascade import STUDY_ATTR as SCREEN_ATTR
from nascli.search.cascade import CascadeProposer, screen_progress, screen_score
from nascli.search.components import (
    check_proxy_data,
)
from nascli.search.evolution import (
    Evolution,
    Member,
    NoFeasibleCandidate,
    Proposal,
    pareto_ranks,
)
from nascli.search.process_state import quiet_optuna
from nascli.search.reference import STUDY_ATTR as REFERENCE_ATTR
from nascli.search.reference import Progress, score_reference
from nascli.search.storage import make_storage
from nascli.search.study_info import ATTR, claim_arch, set_info
from nascli.search.surrogate import TERMS_KEY, LayerwiseProxy, SurrogateProposer
from nascli.signals import interruptible

if TYPE_CHECKING:
    import optuna

    from nascli.search.plan import SearchPlan
    from nascli.search.proposal_sampler import ProposalSampler

MAX_CONSECUTIVE_REJECTS = 2000  # sampler algorithms: rejected trials in a row before giving up
Terms = tuple[float | None, ...] | None  # per-layer terms of an evaluation (ProxyResult)


class ProxyFailure(Exception):
    """A proxy failed on one architecture (the trial becomes FAIL with the reason)."""


@dataclass(frozen=True)
class TrialRecord:
    """What the driver needs to know about a finished trial (from storage)."""

    number: int
    state: str  # COMPLETE, FAIL, PRUNED, RUNNING
    arch: str | None
    values: tuple[float, ...] | None
    info: dict[str, Any]

    @property
    def evaluated(self) -> bool:
        """Counts towards --iterations: scored (or cached) or a proxy failure."""
        return self.state == "COMPLETE" or (self.state == "FAIL" and "error" in self.info)


@dataclass
class SearchState:
    """Counts for the progress bar and the summary."""

    done: int = 0
    feasible: int = 0
    failed: int = 0
    rejected: int = 0
    cached: int = 0
    best: float | None = None
    trials: list[TrialRecord] = field(default_factory=list)
    ensemble_size: int = 1  # > 1: values are Σ log F over a reference (shown as a percentile)

    @property
    def best_text(self) -> str:
        """The best value as a user reads it: an ensemble's as its reference percentile."""
        if self.best is None:
            return "–"
        if self.ensemble_size > 1:
            from nascli.proxies.ensemble import percentile_of

            return f"{percentile_of(self.best, self.ensemble_size):.1f} pct"
        return f"{self.best:.4g}"

    @property
    def feasible_share(self) -> float:
        proposed = self.done + self.rejected
        return self.feasible / proposed if proposed else 0.0


class SearchDriver:
    """Builds the study and the objective for one worker of one search."""

    def __init__(
        self, plan: SearchPlan, *, study_name: str, storage_url: str, worker: int = 0
    ) -> None:
        config = plan.config
        self.plan = plan
        self.config = config
        self.worker = worker
        self.study_name = study_name
        self.storage_url = storage_url
        self.space = plan.space
        self.budgets = list(plan.budgets)
        self.objectives = list(plan.objectives)
        self.latency = dict(plan.latency)
        self.constraints = plan.constraints
        self.resolution = plan.resolution
        self.proxy_names = list(plan.proxy_names)
        self.proxies = dict(plan.proxies)  # the surrogate wraps its proxy in this copy
        self.devices = list(plan.devices)
        self.device = self.devices[worker % len(self.devices)]  # one GPU per worker
        self.data = plan.data
        self.data_notes = check_proxy_data(self.proxies, self.data) if worker == 0 else []
        self.batches = batches_to(self.data.batches, self.device)
        self.proposer: Evolution | SurrogateProposer | CascadeProposer | None = None
        if config.algo == "evolution":
            self.proposer = Evolution(
                self.space,
                self.constraints.feasible,
                population=config.population,
                seed=config.seed,
            )
        elif config.algo == "surrogate":
            self.proposer = self._surrogate(config)
        elif config.algo == "cascade":
            self.proposer = self._cascade(config)
        self._consecutive_rejects = 0
        self._ever_feasible = False
        self._fresh_records: list[TrialRecord] | None = None  # read by the last callback
        self._proposal_records: list[TrialRecord] = []  # read for the trial's proposal
        self.proxy_seconds = 0.0
        self.reference: ReferenceScores | None = None  # an ensemble's, see attach_reference

    def _surrogate(self, config: SearchConfig) -> SurrogateProposer:
        """The proxy wrapped to return its layer terms, and the proposer that learns from them."""
        if len(self.proxy_names) != 1:
            raise ConfigError("--algo surrogate optimises one proxy, not an ensemble")
        name = self.proxy_names[0]
        recorder = LayerwiseProxy(self.proxies[name])
        self.proxies[name] = recorder
        proposer = SurrogateProposer(
            self.space, self.constraints.feasible, resolution=self.resolution,
            residual=recorder.residual, population=config.population, seed=config.seed,
        )  # fmt: skip
        try:  # a space whose blocks the layer model does not cover fails before any trial
            proposer.predict(self.space.sample(random.Random(config.seed)))
        except ConfigError as exc:
            raise ConfigError(f"--algo surrogate on {self.space.name!r}: {exc}") from None
        return proposer

    def _cascade(self, config: SearchConfig) -> CascadeProposer:
        """The screen proxy on this worker's batches and device, and the cascade over it."""
        score = screen_score(
            config.screen, space=self.space, resolution=self.resolution, seed=config.seed,
            device=self.device, batches=self.batches, batch_count=config.batches,
        )  # fmt: skip
        return CascadeProposer(
            self.space, self.constraints.feasible, score, screen=config.screen,
            screen_size=config.screen_size, finalists=config.finalists,
            population=config.population, seed=config.seed,
        )  # fmt: skip

    def attach_screen(self, study: optuna.Study, chatty: bool = False) -> None:
        """A cascade's screened pool: the study's own, else screened now and stored in it."""
        if not isinstance(self.proposer, CascadeProposer) or self.proposer.pool is not None:
            return
        stored = study.user_attrs.get(SCREEN_ATTR)
        progress = screen_progress(chatty, self.config.screen)
        pool, fresh = self.proposer.attach(stored, progress)
        if fresh:
            study.set_user_attr(SCREEN_ATTR, pool.as_dict())

    # ---------------------------------------------------------------- study
    def open_study(self) -> optuna.Study:
        import optuna

        storage = make_storage(self.storage_url)
        from nascli.search.proposal_sampler import ProposalSampler

        sampler = (
            ProposalSampler(self.space, self._propose, seed=self.config.seed + self.worker)
            if self.proposer is not None
            else make_sampler(self.config, len(self.objectives), self.worker)
        )
        try:
            with quiet_optuna():  # Optuna's verbosity is the caller's again after
                return optuna.create_study(
                    study_name=self.study_name,
                    storage=storage,
                    sampler=sampler,
                    directions=[o.direction for o in self.objectives],
                    load_if_exists=True,
                )
        except ValueError as exc:  # directions differ from the stored study's
            raise ConfigError(f"study {self.study_name!r}: {exc}") from None

    def arch(self, canonical: str) -> Arch:
        """A stored architecture string parsed by this search's space object (a space given
        by path has no entry in configs/: it is never looked up by name)."""
        name, _, body = canonical.partition(":")
        if name != self.space.name:
            raise ConfigError(f"study holds {canonical!r}, not of space {self.space.name!r}")
        return self.space.parse(body)

    # ---------------------------------------------------------------- records
    def records(self, study: optuna.Study) -> list[TrialRecord]:
        out = []
        for trial in study.get_trials(deepcopy=False):
            info = trial.user_attrs.get(ATTR, {})
            values = tuple(trial.values) if trial.values is not None else None
            out.append(TrialRecord(trial.number, trial.state.name, info.get("arch"), values, info))
        return out

    def state(self, study: optuna.Study) -> SearchState:
        state = SearchState(trials=self.records(study), ensemble_size=len(self.proxy_names))
        self._fresh_records = state.trials
        for record in state.trials:
            state.rejected += int(record.info.get("rejected", 0))
            if record.state == "PRUNED":
                state.rejected += 1
            if record.evaluated:
                state.done += 1
            if record.state == "FAIL" and "error" in record.info:
                state.failed += 1
            if record.state == "COMPLETE" and record.values is not None:
                state.feasible += 1
                state.cached += bool(record.info.get("cached"))
                if state.best is None or record.values[0] > state.best:
                    state.best = record.values[0]
        return state

    def _take_records(self, study: optuna.Study) -> list[TrialRecord]:
        """The records the last callback read (no second storage read), else read now."""
        records = self._fresh_records if self._fresh_records is not None else None
        self._fresh_records = None
        return records if records is not None else self.records(study)

    def _propose(self, study: optuna.Study, trial_number: int) -> Proposal:
        """The proposer's next candidate (``ProposalSampler`` calls it as a trial opens)."""
        assert self.proposer is not None
        self.attach_screen(study)  # a cascade's worker reads the pool worker 0 stored
        records = self._proposal_records = self._take_records(study)
        seen = {r.arch for r in records if r.arch and (r.evaluated or r.state == "RUNNING")}
        if isinstance(self.proposer, SurrogateProposer):
            self.proposer.observe(
                [(r.arch, r.info[TERMS_KEY]) for r in records if r.arch and TERMS_KEY in r.info]
            )
        return self.proposer.propose(trial_number, self._members(records), seen)

    def _proposal_sampler(self, trial: optuna.Trial) -> ProposalSampler:
        from nascli.search.proposal_sampler import ProposalSampler

        sampler = trial.study.sampler
        if not isinstance(sampler, ProposalSampler):
            raise RuntimeError("a proposer's study runs under its ProposalSampler")
        return sampler

    def _members(self, records: list[TrialRecord]) -> list[Member]:
        done = [r for r in records if r.state == "COMPLETE" and r.values is not None and r.arch]
        signs = [1.0 if o.maximize else -1.0 for o in self.objectives]
        points = [tuple(s * v for s, v in zip(signs, r.values, strict=True)) for r in done]  # type: ignore[arg-type]
        if len(self.objectives) == 1:
            keys = [(p[0],) for p in points]
        else:
            ranks = pareto_ranks(points)
            keys = [(-float(rank), p[0]) for rank, p in zip(ranks, points, strict=True)]
        return [Member(self.arch(r.arch), k) for r, k in zip(done, keys, strict=True)]  # type: ignore[arg-type]

    # ---------------------------------------------------------------- objective
    def objective(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        info: dict[str, Any] = {"worker": self.worker}
        if self.proposer is not None:
            records = self._proposal_records
            try:
                arch, proposal = self._proposal_sampler(trial).take(trial)
            except NoFeasibleCandidate as exc:
                self._give_up(trial.study, exc.rejected, any(r.evaluated for r in records))
                raise optuna_pruned() from None
            info.update(rejected=proposal.rejected, origin=proposal.origin)
        else:
            records = self._take_records(trial.study)
            arch = self.space.suggest(trial)
        info["arch"] = arch.canonical
        facts = self.constraints.check(arch)
        info.update(facts.as_dict())
        if self.config.algo in CONSTRAINED_SAMPLERS:  # two storage round trips per budget
            for key, violation in facts.violations.items():
                trial.set_constraint(key, violation)
        if not facts.feasible:
            info["over_budget"] = facts.over()
            set_info(trial, info)
            self._consecutive_rejects += 1
            if self._consecutive_rejects >= MAX_CONSECUTIVE_REJECTS and not self._ever_feasible:
                self._give_up(trial.study, self._consecutive_rejects, False)
            raise optuna_pruned()
        self._consecutive_rejects = 0
        self._ever_feasible = True
        cached = next(
            (r for r in records if r.arch == arch.canonical and r.state == "COMPLETE"), None
        )
        if cached is not None and cached.values is not None:
            info.update(cached=True, scores=cached.info.get("scores", {}))
            set_info(trial, info)
            return _unwrap(cached.values)
        if not claim_arch(trial, info):  # RUNNING in another worker: never scored twice
            raise optuna_pruned()
        with interruptible():  # a signal cuts a proxy's passes at once, storage never
            scores, seconds, error, terms = self.score_with_terms(arch)
        info["proxy_seconds"] = seconds
        if terms is not None:
            info[TERMS_KEY] = list(terms)
        if error is not None:
            info["error"] = error
            set_info(trial, info)
            raise ProxyFailure(error)
        info["scores"] = scores
        value = self.proxy_value(scores)
        values = [value] + [facts.value(o.name) for o in self.objectives[1:]]
        set_info(trial, info)
        return _unwrap(tuple(values))

    def score(self, arch: Arch) -> tuple[dict[str, float], float, str | None]:
        """Every component proxy on ``arch``: (scores, seconds, first error or None)."""
        scores, seconds, error, _ = self.score_with_terms(arch)
        return scores, seconds, error

    def score_with_terms(self, arch: Arch) -> tuple[dict[str, float], float, str | None, Terms]:
        """``score`` and the layer terms the last proxy evaluated returned (None: none)."""
        from nascli.proxies.base import Candidate
        from nascli.proxies.runner import run_proxy

        candidate = Candidate(
            arch, self.space, self.resolution, self.config.seed, device=self.device
        )
        scores: dict[str, float] = {}
        seconds = 0.0
        terms: Terms = None
        for name in self.proxy_names:
            outcome = run_proxy(name, self.proxies[name], candidate, self.batches)
            seconds += outcome.seconds
            terms = outcome.terms
            if outcome.error is not None or outcome.score is None:
                self.proxy_seconds += seconds
                return scores, seconds, f"{name}: {outcome.error}", terms
            scores[name] = outcome.score
        self.proxy_seconds += seconds
        return scores, seconds, None, terms

    def proxy_value(self, scores: dict[str, float]) -> float:
        """The proxy's score, or the ensemble's reference-calibrated value (run-independent)."""
        if len(self.proxy_names) == 1:
            return scores[self.proxy_names[0]]
        if self.reference is None:
            raise RuntimeError("an ensemble search needs attach_reference() before scoring")
        return self.reference.value(scores)

    def attach_reference(self, study: optuna.Study, progress: Progress | None = None) -> None:
        """An ensemble's fixed reference: the study's own, else scored now and stored in it."""
        if len(self.proxy_names) < 2:
            return
        stored = study.user_attrs.get(REFERENCE_ATTR)
        if isinstance(stored, dict):
            self.reference = ReferenceScores.from_dict(stored)
            return
        self.reference = score_reference(
            self.config, self.space, self.proxy_names, self.proxies, self.resolution,
            device=str(self.device), progress=progress,
        )  # fmt: skip
        study.set_user_attr(REFERENCE_ATTR, self.reference.as_dict())

    def _give_up(self, study: optuna.Study, rejected: int, any_feasible: bool) -> None:
        if not any_feasible:
            raise ConfigError(
                f"no architecture of {self.space.name!r} fits the budgets "
                f"({', '.join(b.text for b in self.budgets)}) after {rejected} candidates "
                "were rejected; loosen a budget"
            )
        study.stop()

    # ---------------------------------------------------------------- run
    def run(
        self,
        study: optuna.Study,
        *,
        iterations: int,
        timeout: float | None,
        on_trial: Callable[[SearchState], None] | None = None,
    ) -> None:
        """Optimise until ``iterations`` evaluations exist in the study (all workers) or timeout.

        Transient storage errors are retried (``storage.call_with_retry``); the trial one
        interrupted is failed by Optuna's heartbeat after ``GRACE_SECONDS`` and re-proposed.
        """
        import time

        from nascli.search.storage import call_with_retry
        from nascli.signals import deferred, raise_if_signalled

        started = time.monotonic()

        def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            raise_if_signalled()  # a signal whose exception a library swallowed
            state = self.state(study)
            if on_trial is not None:
                on_trial(state)
            if state.done >= iterations:
                study.stop()

        def attempt() -> None:
            if self.state(study).done >= iterations:
                return
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if left is None or left > 0:
                with deferred():  # a signal waits for a safe point (see nascli.signals)
                    study.optimize(
                        self.objective, timeout=left, catch=(ProxyFailure,),
                        callbacks=[callback], gc_after_trial=False,
                    )  # fmt: skip
            raise_if_signalled()

        with quiet_optuna():  # no INFO line per trial; the caller's verbosity restored after
            call_with_retry(attempt)


def optuna_pruned() -> Exception:
    import optuna

    return optuna.TrialPruned()


def _unwrap(values: tuple[float, ...]) -> float | tuple[float, ...]:
    return values[0] if len(values) == 1 else values
