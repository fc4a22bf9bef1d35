"""Budget strings parse strictly: the accepted forms give exact limits, near-misses exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nascli.budget import parse_budget, parse_budgets
from nascli.cli import app
from nascli.errors import ConfigError

DEVICES = ["cpu", "cpu-2t"]


@pytest.mark.parametrize(
    ("text", "kind", "limit", "device"),
    [
        ("450MFLOPs", "macs", 450e6, None),
        ("0.45GFLOPs", "macs", 450e6, None),
        ("600MMACs", "macs", 600e6, None),
        ("5MParams", "params", 5e6, None),
        ("3.5MParams", "params", 3.5e6, None),
        ("20Layers", "layers", 20, None),
        ("8ms@cpu", "latency", 8.0, "cpu"),
        ("1500us@cpu-2t", "latency", 1.5, "cpu-2t"),
    ],
)
def test_accepted_forms(text: str, kind: str, limit: float, device: str | None) -> None:
    budget = parse_budget(text, DEVICES)
    assert (budget.kind, budget.device) == (kind, device)
    assert budget.limit == pytest.approx(limit)


@pytest.mark.parametrize(
    "text",
    ["450MFLOP", "450mflops", "-3ms", "8ms@nosuchdevice", "8ms", "450M", "0MFLOPs", "2.5Layers",
     "", "450 MFLOPs", "5MParam"],
)  # fmt: skip
def test_rejected_forms(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_budget(text, DEVICES)


def test_messages_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="FLOPs"):
        parse_budget("450MFLOP", DEVICES)
    with pytest.raises(ConfigError, match="positive"):
        parse_budget("-3ms", DEVICES)
    with pytest.raises(ConfigError, match=r"unknown device 'nosuchdevice'.*cpu"):
        parse_budget("8ms@nosuchdevice", DEVICES)


def test_limit_is_inclusive_and_violation_is_relative() -> None:
    budget = parse_budget("450MFLOPs", DEVICES)
    assert budget.fits(450_000_000) and not budget.fits(450_000_001)
    assert budget.violation(450e6) == 0.0
    assert budget.violation(495e6) == pytest.approx(0.1)
    assert budget.violation(405e6) == pytest.approx(-0.1)


def test_same_kind_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="both limit macs"):
        parse_budgets(["450MFLOPs", "0.5GFLOPs"], DEVICES)
    assert len(parse_budgets(["450MFLOPs", "14Layers", "8ms@cpu"], DEVICES)) == 3


def test_shipped_cpu_device_is_known() -> None:
    from nascli.budget import known_devices

    assert "cpu" in known_devices(), known_devices()
    assert parse_budget("8ms@cpu").device == "cpu"


@pytest.mark.parametrize("bad", ["450MFLOP", "-3ms", "8ms@nosuchdevice"])
def test_cli_exit_code_2(bad: str, tmp_path) -> None:
    result = CliRunner().invoke(app, ["search", "--budget", bad, "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert not (tmp_path / "r").exists()  # nothing is created for bad input
