"""The budgets as a cheap check run before any network is built: analytic cost first,
lookup-table latency only when the cost fits (and an NPU's refused blocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nascli.arch import Arch
from nascli.budget import Budget
from nascli.search.components import LatencyModel


@dataclass
class Facts:
    """Cheap facts about an architecture, computed before any network is built."""

    macs: int
    params: int
    layers: int
    latency_ms: dict[str, float] = field(default_factory=dict)
    violations: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.violations.values())

    def over(self) -> list[str]:
        return [k for k, v in self.violations.items() if v > 0]

    def value(self, key: str) -> float:
        if key.startswith("latency@"):
            return self.latency_ms[key.split("@", 1)[1]]
        return float({"macs": self.macs, "params": self.params, "layers": self.layers}[key])

    def as_dict(self) -> dict[str, Any]:
        return {
            "macs": self.macs, "params": self.params, "layers": self.layers,
            "latency_ms": dict(self.latency_ms),
        }  # fmt: skip


class Constraints:
    """The budgets as a cheap check: analytic cost first, LUT latency only if that fits."""

    def __init__(self, space, budgets: list[Budget], latency: dict[str, LatencyModel]) -> None:
        self.space = space
        self.budgets = budgets
        self.latency = latency

    def check(self, arch: Arch, *, always_latency: bool = False) -> Facts:
        cost = self.space.cost(arch)
        facts = Facts(cost.macs, cost.params, cost.layers)
        for budget in self.budgets:
            if budget.kind != "latency":
                facts.violations[budget.key] = budget.violation(facts.value(budget.kind))
        if facts.feasible or always_latency:
            for device, model in self.latency.items():
                if model.refuses(self.space, arch):
                    facts.violations[f"refused@{device}"] = 1.0
                facts.latency_ms[device] = model.predict_ms(arch)
            for budget in self.budgets:
                if budget.kind == "latency":
                    value = facts.latency_ms[budget.device or ""]
                    facts.violations[budget.key] = budget.violation(value)
        else:
            for budget in self.budgets:
                if budget.kind == "latency":
                    facts.violations[budget.key] = 0.0  # not computed: a cost budget failed
        return facts

    def feasible(self, arch: Arch) -> bool:
        return self.check(arch).feasible
