"""``benchmarks/gpu_check.sh`` in its CPU dry mode: every step runs and writes its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def _run(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("OUT", None)
    return subprocess.run(
        ["bash", str(SCRIPT), *args, "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_dry_run_on_the_cpu_writes_every_result(tmp_path: Path) -> None:
    result = _run("--device", "cpu", "--quick", out=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = (tmp_path / "summary.txt").read_text()
    assert "[tests] exit 0" in summary and "[compare] exit 0" in summary
    compared = json.loads((tmp_path / "proxy_devices.json").read_text())
    assert compared["rtol"] == 1e-3 and compared["disagree"] == []
    assert {r["proxy"] for r in compared["rows"]} >= {"zico", "synflow", "naswot", "vkdnw"}
    timing = json.loads((tmp_path / "zico_timing.json").read_text())
    assert timing["results"][0]["device"] == "cpu" and timing["results"][0]["seconds"] > 0
    searched = json.loads((tmp_path / "search-450m" / "summary.json").read_text())
    assert searched["proxy"]["devices"] == ["cpu"] and searched["trials"]["done"] == 3
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert "onnxruntime-gpu absent" in summary


def test_a_device_the_machine_lacks_stops_with_exit_2(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal needs a machine without it")
    result = _run("--device", "cuda", out=tmp_path)
    assert result.returncode == 2
    assert "error: device cuda is not usable here" in result.stdout
    assert "torch sees no CUDA device" in (tmp_path / "env.log").read_text()


def test_unknown_argument_is_exit_2(tmp_path: Path) -> None:
    result = _run("--colour", out=tmp_path)
    assert result.returncode == 2 and "unknown argument --colour" in result.stderr
