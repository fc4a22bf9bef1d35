"""Scores come back as values, and the library gives back the process-wide state it changes.

A search sets torch's thread pool and Optuna's verbosity, the CLI formats nascli's warnings;
each is restored when the search or the command ends, even when it raises. Layer terms of
a surrogate search travel in the proxy outcome, never on the proxy object.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from typer.testing import CliRunner

from nascli.cli import app
from nascli.commands.common import warning_format
from nascli.config import resolve_config
from nascli.errors import NascliWarning
from nascli.proxies import get_proxy
from nascli.proxies.base import Candidate
from nascli.proxies.runner import run_proxy
from nascli.search.run import run_search
from nascli.search.surrogate import LayerwiseProxy
from nascli.spaces import get_space

RES = 16
CELL_A = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
CELL_B = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"


@pytest.fixture
def process_state() -> Iterator[dict[str, Any]]:
    """Settings unlike the search's own (2 threads, Optuna at WARNING, a marked hook)."""
    threads = torch.get_num_threads()
    verbosity = optuna.logging.get_verbosity()
    hook = warnings.showwarning

    def marked_hook(*args: Any, **kwargs: Any) -> None:
        hook(*args, **kwargs)

    torch.set_num_threads(2)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.showwarning = marked_hook
    try:
        yield {"threads": 2, "verbosity": optuna.logging.WARNING, "hook": marked_hook}
    finally:
        torch.set_num_threads(threads)
        optuna.logging.set_verbosity(verbosity)
        warnings.showwarning = hook


def _config(tmp_path: Path) -> Any:
    options = {"space": "nb201", "proxy": "params", "budgets": ["60MFLOPs"], "iterations": 4,
               "threads": 1, "out": str(tmp_path / "run"), "export_onnx": False}  # fmt: skip
    return resolve_config(options)


def _assert_restored(before: dict[str, Any]) -> None:
    assert torch.get_num_threads() == before["threads"]
    assert optuna.logging.get_verbosity() == before["verbosity"]
    assert warnings.showwarning is before["hook"]


def test_search_sets_threads_and_verbosity_while_it_runs_and_restores_them(
    tmp_path: Path, process_state: dict[str, Any]
) -> None:
    seen: list[tuple[int, int]] = []

    def progress(total: int):
        return lambda state: seen.append((torch.get_num_threads(), optuna.logging.get_verbosity()))

    result = run_search(_config(tmp_path), progress=progress)
    assert result.summary["trials"]["done"] >= 4
    assert seen, "the progress hook ran during the search"
    assert set(seen) == {(1, optuna.logging.ERROR)}, "--threads 1 and a quiet Optuna inside"
    _assert_restored(process_state)


def test_a_search_that_raises_restores_them_too(
    tmp_path: Path, process_state: dict[str, Any]
) -> None:
    def progress(total: int):
        def hook(state: Any) -> None:
            raise RuntimeError("a caller's hook failed")

        return hook

    with pytest.raises(RuntimeError, match="hook failed"):
        run_search(_config(tmp_path), progress=progress)
    _assert_restored(process_state)


def test_cli_formats_nascli_warnings_only_while_a_command_runs(
    process_state: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with warning_format():
        warnings.warn(NascliWarning("table timed on another host"), stacklevel=1)
        assert warnings.showwarning is not process_state["hook"]
    assert capsys.readouterr().err == "warning: table timed on another host\n"
    _assert_restored(process_state)
    result = CliRunner().invoke(app, ["spaces", "list", "--json"])
    assert result.exit_code == 0, result.output
    _assert_restored(process_state)


def test_a_command_prints_nascli_warnings_as_one_line(
    process_state: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def warn_and_list() -> list[str]:
        warnings.warn(NascliWarning("table timed on another host"), stacklevel=1)
        return []

    monkeypatch.setattr("nascli.spaces.list_spaces", warn_and_list)
    result = CliRunner().invoke(app, ["spaces", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: table timed on another host\n"
    _assert_restored(process_state)


def test_other_warnings_reach_the_hook_that_was_in_place() -> None:
    shown: list[str] = []
    previous = warnings.showwarning
    warnings.showwarning = lambda message, *args, **kwargs: shown.append(str(message))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            with warning_format():
                warnings.warn("a library's own warning", UserWarning, stacklevel=1)
    finally:
        warnings.showwarning = previous
    assert shown == ["a library's own warning"]


def _candidate(cell: str) -> Candidate:
    space = get_space("nb201")
    return Candidate(space.parse(cell), space, RES, 0)


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [
        (torch.randn(4, 3, RES, RES, generator=gen), torch.randint(0, 10, (4,), generator=gen))
        for _ in range(2)
    ]


def test_layer_terms_come_back_in_each_outcome() -> None:
    batches = _batches()
    recorder = LayerwiseProxy(get_proxy("zico"))
    first = run_proxy("zico", recorder, _candidate(CELL_A), batches)
    second = run_proxy("zico", recorder, _candidate(CELL_B), batches)
    for outcome, cell in ((first, CELL_A), (second, CELL_B)):
        value, terms = get_proxy("zico").score_layers(_candidate(cell), batches)
        assert outcome.ok and outcome.score == pytest.approx(value, rel=1e-12)
        assert outcome.terms == tuple(None if t is None else round(t, 6) for t in terms)
        assert math.fsum(t for t in outcome.terms if t is not None) == pytest.approx(value)
    assert first.terms != second.terms, "the second evaluation left the first's terms alone"
    plain = run_proxy("zico", get_proxy("zico"), _candidate(CELL_A), batches)
    assert plain.terms is None and plain.score == pytest.approx(first.score, rel=1e-12)
    assert "terms" not in plain.as_dict(), "the score command's JSON is unchanged"


def test_az_memo_matches_only_its_own_live_batch() -> None:
    from nascli.proxies.az_nas import AZScores, LastScores

    memo = LastScores()
    candidate, batches = _candidate(CELL_A), _batches()
    scores = AZScores(1.0, 2.0, 3.0)
    memo.put(candidate, batches, "data", scores)
    assert memo.get(candidate, batches, "data") is scores, "memoised for the next AZ proxy"
    assert memo.get(candidate, batches, "gaussian") is None
    assert memo.get(_candidate(CELL_B), batches, "data") is None
    twin = [(batches[0][0].clone(), batches[0][1])]
    assert memo.get(candidate, twin, "data") is None, "another tensor, even an equal one"
    del batches
    gc.collect()
    assert len(memo) == 0, "the entry went with its batch tensor"
    assert memo.get(candidate, [], "data") is None


def test_az_scores_are_recomputed_for_a_new_input_tensor() -> None:
    from nascli.proxies._common import kaiming_fanin_init
    from nascli.proxies.az_nas import az_scores, candidate_scores, clear_memo

    clear_memo()
    candidate, batches = _candidate(CELL_A), _batches()
    first = candidate_scores(candidate, batches, "data")
    scaled = [(batches[0][0] * 3.0, batches[0][1])]
    second = candidate_scores(candidate, scaled, "data")
    model = candidate.build(residual=True, init=kaiming_fanin_init)
    assert second == az_scores(model, scaled[0][0], candidate.seed)
    assert second != first
    clear_memo()
