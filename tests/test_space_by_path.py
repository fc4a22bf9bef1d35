"""A space given by path (outside configs/) is searchable with every algorithm.

Architectures store their space's *name*; a space read from a file must resolve by that
name for the rest of the run (outputs, baselines, export, resume) without a configs/ entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.cli import app
from nascli.config import ALGOS

from .conftest import REPO

runner = CliRunner()


def small_space(folder: Path, name: str = "my-macro") -> Path:
    """The shipped MobileNet-like space renamed, at 64 px and 10 classes (cheap to score; at
    32 px its five stride-2 stages leave ZiCo no spatial variance, a NaN score)."""
    text = (REPO / "configs" / "spaces" / "mobilenet-imagenet.yaml").read_text()
    text = text.replace("name: mobilenet-imagenet", f"name: {name}")
    text = text.replace("resolution: 224", "resolution: 64").replace(
        "num_classes: 1000", "num_classes: 10"
    )
    path = folder / "my-space.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("algo", ALGOS)
def test_space_file_is_searchable_through_outputs_and_resume(tmp_path: Path, algo: str) -> None:
    space = small_space(tmp_path)
    proxy = "zico" if algo == "surrogate" else "params"
    # Optuna's samplers propose from the whole space, mostly big nets: a loose budget keeps
    # them from grinding through rejects; the proposers reject before asking, and ZiCo on
    # small nets stays cheap.
    budget = "5GFLOPs" if algo in ("tpe", "nsga2", "random") else "20MFLOPs"
    args = ["search", "--space", str(space), "--algo", algo, "--proxy", proxy,
            "--budget", budget, "--population", "2", "--batch-size", "4", "--threads", "1",
            "--out", str(tmp_path / "run"), "--json"]  # fmt: skip
    first = runner.invoke(app, [*args, "--iterations", "2", "--no-onnx"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["trials"]["done"] == 2
    assert summary["best"]["canonical"].startswith("my-macro:")
    best_yaml = (tmp_path / "run" / "best.yaml").read_text()
    assert "space: my-macro" in best_yaml
    resumed = runner.invoke(app, [*args, "--iterations", "3"])  # with the ONNX export
    assert resumed.exit_code == 0, resumed.output
    again = json.loads(resumed.stdout)
    assert again["trials"]["done"] == 3 and again["failed_steps"] == {}
    assert (tmp_path / "run" / "best.onnx").exists()


def test_a_space_file_may_not_take_a_shipped_space_name_with_another_definition(
    tmp_path: Path,
) -> None:
    from nascli.errors import ConfigError
    from nascli.spaces import get_space

    shipped = (REPO / "configs" / "spaces" / "resnet-imagenet.yaml").read_text()
    changed = tmp_path / "changed.yaml"
    changed.write_text(shipped.replace("num_classes: 1000", "num_classes: 10"))
    with pytest.raises(ConfigError, match="already the space defined in"):
        get_space(str(changed))
    copy = tmp_path / "copy.yaml"
    copy.write_text(shipped)
    assert get_space(str(copy)).name == "resnet-imagenet"  # the same definition: accepted
