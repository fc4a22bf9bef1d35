"""A nascli study read by Optuna's own tools: attributes, metric names, params, plots.

Real searches on a real SQLite study (NB201, the analytic ``params`` proxy); the study is
then opened the way optuna-dashboard opens it (``optuna.load_study`` on the file).
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from nascli.cli import app

runner = CliRunner()


def _study(tmp_path: Path, algo: str, *extra: str) -> tuple[optuna.Study, dict]:
    out = tmp_path / algo
    result = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs", "--algo",
         algo, "--iterations", "14", "--out", str(out), "--no-onnx", "--json", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    study = optuna.load_study(
        study_name=summary["study"]["name"], storage=f"sqlite:///{out / 'study.db'}"
    )
    return study, summary


@pytest.mark.parametrize("algo", ["evolution", "tpe"])
def test_study_has_attributes_metric_names_params_and_flat_attrs(tmp_path: Path, algo: str) -> None:
    from nascli import __version__

    study, summary = _study(tmp_path, algo)
    attrs = study.user_attrs
    assert attrs["nascli_version"] == __version__
    assert (attrs["space"], attrs["algo"], attrs["budgets"]) == ("nb201", algo, ["60MFLOPs"])
    assert attrs["proxy"] == "params" and attrs["proxy_resolution"] == 32
    assert study.metric_names == ["params"]
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) >= 14
    for trial in complete:
        assert set(trial.params) == {f"edge{i}" for i in range(6)}, trial.number
        assert set(trial.distributions) == set(trial.params)
        assert trial.user_attrs["macs"] <= 60e6
        assert trial.user_attrs["score.params"] == trial.values[0]
        assert trial.user_attrs["arch"].startswith("nb201:")
    importances = optuna.importance.get_param_importances(study)
    assert set(importances) <= {f"edge{i}" for i in range(6)} and importances
    best = summary["best"]["canonical"]
    assert study.best_trial.user_attrs["arch"] == best


def test_optuna_plots_draw_every_param(tmp_path: Path) -> None:
    pytest.importorskip("plotly", reason="Optuna's plots need plotly (the plots extra)")
    study, _ = _study(tmp_path, "evolution")
    figure = optuna.visualization.plot_parallel_coordinate(study)
    labels = set(figure.layout.xaxis.ticktext)
    assert {f"edge{i}" for i in range(6)} <= labels, labels
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(figure.data) >= len(complete), "one line per evaluated trial"
    bars = optuna.visualization.plot_param_importances(study)
    (bar,) = [trace for trace in bars.data if trace.type == "bar"]
    assert set(bar["y"]) <= {f"edge{i}" for i in range(6)} and len(bar["y"])
    assert bar["name"] == "params", "the bars are named by the metric"


@pytest.mark.parametrize("space_name", ["mobilenet-imagenet", "resnet-imagenet"])
def test_mutated_macro_nets_keep_their_params(space_name: str, tmp_path: Path) -> None:
    """Evolution leaves a stage's suggest range; the params still rebuild the same net."""
    from nascli.search.study_info import arch_params
    from nascli.spaces import get_space

    space = get_space(space_name)
    rng = random.Random(0)
    for index in range(40):
        arch = space.sample(rng)
        for _ in range(index % 4):
            arch = space.mutate(arch, rng)
        params = arch_params(space, arch)
        assert params, arch.canonical
        fixed = optuna.trial.FixedTrial({k: v for k, (v, _) in params.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FixedTrial: a value outside a stage's range
            assert space.suggest(fixed).canonical == arch.canonical


@pytest.mark.slow
def test_an_evolution_on_a_macro_space_stores_params_that_rebuild_each_net(tmp_path: Path) -> None:
    """The proposer runs behind Optuna's sampler API: every evaluated trial's params, asked
    through the trial (ranges widened where a mutation left a stage's), rebuild its net."""
    from nascli.spaces import get_space

    out = tmp_path / "macro"
    result = runner.invoke(
        app,
        ["search", "--space", "mobilenet-imagenet", "--proxy", "params", "--budget",
         "300MFLOPs", "--algo", "evolution", "--population", "4", "--iterations", "16",
         "--out", str(out), "--no-onnx", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    study = optuna.load_study(
        study_name=summary["study"]["name"], storage=f"sqlite:///{out / 'study.db'}"
    )
    space = get_space("mobilenet-imagenet")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    origins = {t.user_attrs["nascli"].get("origin") for t in complete}
    assert "mutation" in origins, origins
    for trial in complete:
        assert trial.params, trial.number
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FixedTrial: a value outside a stage's range
            rebuilt = space.suggest(optuna.trial.FixedTrial(trial.params))
        assert rebuilt.canonical == trial.user_attrs["arch"], trial.number


def test_the_package_uses_no_private_optuna_attribute() -> None:
    """Optuna's private members change without notice: the package reaches none of them."""
    import re

    package = Path(__file__).resolve().parents[1] / "nascli"
    pattern = re.compile(
        r"\b(?:trial|study|storage|sampler|distribution|frozen)\w*\._[a-z]\w*|"
        r"optuna(?:\.\w+)*\._[a-z]\w*"
    )
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in package.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
