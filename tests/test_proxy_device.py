"""``--proxy-device``: one code path for every proxy, validated device strings, one GPU per worker.

On a CPU-only machine the cuda paths are exercised through torch's own availability
functions (monkeypatched); the cuda-vs-cpu comparison of values is
``benchmarks/gpu_check.sh`` on a GPU machine.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from nascli.cli import app
from nascli.errors import ConfigError
from nascli.proxies import get_proxy, list_proxies
from nascli.proxies.base import Candidate
from nascli.proxies.device import (
    accumulation_dtype,
    batches_to,
    check_device_text,
    float64_device,
    resolve_device,
    worker_devices,
)
from nascli.spaces import get_space

runner = CliRunner()
CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|"
    "+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
)


@pytest.mark.parametrize("name", list_proxies())
def test_explicit_cpu_device_gives_the_default_value(name: str) -> None:
    space = get_space("nb201")
    cell = space.parse(CELL)
    gen = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(16, 3, 16, 16, generator=gen), torch.randint(0, 10, (16,), generator=gen))
        for _ in range(2)
    ]
    default = get_proxy(name).score(Candidate(cell, space, 16, 1), batches)
    explicit = get_proxy(name).score(
        Candidate(cell, space, 16, 1, device=torch.device("cpu")),
        batches_to(batches, torch.device("cpu")),
    )
    assert math.isfinite(default)
    assert explicit == default


def test_device_strings() -> None:
    assert check_device_text(None) == "auto"
    assert check_device_text(" CUDA:1 ") == "cuda:1"
    for bad in ("gpu", "cuda:x", "tpu", "cuda:"):
        with pytest.raises(
            ConfigError, match="unknown device; give auto, cpu, cuda, cuda:N or mps"
        ):
            check_device_text(bad)
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_and_cuda_follow_what_torch_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="torch sees no CUDA device here"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda:2") == torch.device("cuda", 2)
    with pytest.raises(ConfigError, match=r"has 3 CUDA device\(s\), cuda:0..cuda:2"):
        resolve_device("cuda:3")
    assert worker_devices("auto", 4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:0"]
    assert worker_devices("cuda", 2) == ["cuda:0", "cuda:1"]
    assert worker_devices("cuda:1", 2) == ["cuda:1", "cuda:1"]  # named: every worker there


def test_float64_rules() -> None:
    assert accumulation_dtype("cpu") == torch.float64
    assert accumulation_dtype("mps") == torch.float32
    assert float64_device("mps") == torch.device("cpu")
    assert float64_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("gpu", "error: --proxy-device 'gpu': unknown device; give auto, cpu, cuda, cuda:N or mps"),
        ("cuda", "error: --proxy-device cuda: torch sees no CUDA device here"),
    ],
)
def test_bad_devices_are_one_line_exit_2(
    device: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    commands = [
        ["score", "nb201:0", "--proxy", "synflow", "--proxy-device", device],
        ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
         "--iterations", "2", "--proxy-device", device, "--out", str(tmp_path / "run")],
        ["proxies", "bench", "--ground-truth", str(tmp_path / "none.csv"), "--target", "acc",
         "--proxy", "synflow", "--proxy-device", device],
    ]  # fmt: skip
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), (args, lines)
    assert not (tmp_path / "run").exists()


def test_score_and_search_record_the_device(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["score", "nb201:0", "--proxy", "synflow", "--proxy-device", "cpu", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["device"] == "cpu"
    result = runner.invoke(
        app,
        ["search", "--space", "nb201", "--proxy", "params", "--budget", "60MFLOPs",
         "--iterations", "2", "--no-onnx", "--proxy-device", "cpu", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["proxy"]["devices"] == ["cpu"]


TEST_DEVICE = os.environ.get("NASCLI_TEST_PROXY_DEVICE", "cpu")  # gpu_check.sh sets cuda


@pytest.mark.parametrize("name", list_proxies())
def test_every_proxy_on_the_test_device_matches_the_cpu(name: str) -> None:
    """On the CPU (the default) the values are identical; on another device (the GPU check
    sets ``NASCLI_TEST_PROXY_DEVICE=cuda``) they agree to rtol 1e-3 with TF32 off."""
    device = str(resolve_device(TEST_DEVICE))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    space = get_space("nb201")
    cell = space.parse(CELL)
    gen = torch.Generator().manual_seed(3)
    batches = [
        (torch.randn(16, 3, 16, 16, generator=gen), torch.randint(0, 10, (16,), generator=gen))
        for _ in range(2)
    ]
    on_cpu = get_proxy(name).score(Candidate(cell, space, 16, 2), batches)
    on_device = get_proxy(name).score(
        Candidate(cell, space, 16, 2, device=device), batches_to(batches, device)
    )
    if device == "cpu":
        assert on_device == on_cpu
    else:
        assert on_device == pytest.approx(on_cpu, rel=1e-3, abs=1e-6)
