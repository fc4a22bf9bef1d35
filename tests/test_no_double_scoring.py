"""No architecture scored twice across workers: a trial claims its net before scoring it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_a_net_running_elsewhere_is_not_scored_again(tmp_path: Path) -> None:
    import optuna

    from nascli.config import resolve_config
    from nascli.search.driver import SearchDriver
    from nascli.search.plan import build_plan
    from nascli.search.study_info import claim_arch
    from nascli.spaces import get_space

    config = resolve_config(
        {"space": "nb201", "proxy": "params", "budgets": ["60MFLOPs"], "algo": "random"}
    )
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = SearchDriver(build_plan(config), study_name="s", storage_url=url, worker=0)
    second = SearchDriver(build_plan(config), study_name="s", storage_url=url, worker=1)
    study_a, study_b = first.open_study(), second.open_study()
    arch = get_space("nb201").from_index(13714)

    running = study_a.ask()
    assert claim_arch(running, {"worker": 0, "arch": arch.canonical})
    # the other worker sees the claim as soon as it is made (the proposers' "seen" set)
    assert [(r.state, r.arch) for r in second.records(study_b)] == [("RUNNING", arch.canonical)]

    duplicate = study_b.ask()
    assert not claim_arch(duplicate, {"worker": 1, "arch": arch.canonical})
    study_b.tell(duplicate, state=optuna.trial.TrialState.PRUNED)
    stored = study_b.get_trials()[1].user_attrs["nascli"]
    assert stored["duplicate_of_running"] is True

    study_a.tell(running, 1.0)  # finished: the net is now a cached COMPLETE result
    later = study_b.ask()
    assert claim_arch(later, {"worker": 1, "arch": arch.canonical})  # no RUNNING holder
    assert study_b.get_trials()[2].user_attrs["nascli"]["scoring"] is True
