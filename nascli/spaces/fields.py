"""Typed readers of YAML space fields: integer ranges, choices, checked mappings.

Every space file is read through these, so a bad key or value is reported the same way
(file, field, what was expected) whichever space family the file defines.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from nascli.errors import ConfigError


@dataclass(frozen=True, slots=True)
class IntRange:
    """Integers ``min..max`` in steps of ``step`` (inclusive)."""

    lo: int
    hi: int
    step: int = 1

    def contains(self, value: int) -> bool:
        return self.lo <= value <= self.hi and (value - self.lo) % self.step == 0

    def sample(self, rng: random.Random) -> int:
        return rng.randrange(self.lo, self.hi + 1, self.step)

    def clamp(self, value: float) -> int:
        snapped = self.lo + round((value - self.lo) / self.step) * self.step
        return int(min(self.hi, max(self.lo, snapped)))

    def describe(self) -> str:
        return f"{self.lo}..{self.hi}" + (f" step {self.step}" if self.step != 1 else "")

    @classmethod
    def parse(cls, raw: Any, what: str, source: str) -> IntRange:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return cls(raw, raw, 1)
        if isinstance(raw, dict):
            unknown = set(raw) - {"min", "max", "step"}
            if unknown or not {"min", "max"} <= set(raw):
                raise ConfigError(f"{source}: {what} needs min and max (and optional step)")
            values = [raw["min"], raw["max"], raw.get("step", 1)]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise ConfigError(f"{source}: {what} min/max/step must be integers")
            lo, hi, step = values
            if lo < 1 or hi < lo or step < 1:
                raise ConfigError(f"{source}: {what} must have 1 <= min <= max and step >= 1")
            return cls(lo, hi, step)
        raise ConfigError(f"{source}: {what} must be an integer or {{min, max, step}}")


def narrow(raw: Any, whole: IntRange, what: str, source: str) -> IntRange:
    if raw is None:
        return whole
    part = IntRange.parse(raw, what, source)
    step = raw.get("step", whole.step) if isinstance(raw, dict) else whole.step
    narrowed = IntRange(part.lo, part.hi, step)
    if part.lo < whole.lo or part.hi > whole.hi:
        raise ConfigError(f"{source}: {what} must lie within {whole.describe()}")
    if not (whole.contains(narrowed.lo) and step % whole.step == 0):
        raise ConfigError(f"{source}: {what} must stay on the grid of {whole.describe()}")
    return narrowed


def expect(value: Any, kind: type, what: str, source: str) -> Any:
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: {what} must be a {kind.__name__}")
    return value


def expect_int(value: Any, what: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{source}: {what} must be an integer, got {value!r}")
    return value


def int_choices(raw: Any, what: str, source: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: {what} must be a non-empty list of integers")
    return tuple(expect_int(v, what, source) for v in raw)


def check_keys(data: dict[str, Any], allowed: set[str], what: str, source: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown} in {what}; allowed: {sorted(allowed)}")


# The spaces written in Python (``registry``); a YAML space may not take their names.
RESERVED_NAMES = ("nb201",)


def space_name(raw: Any, source: str) -> str:
    """A YAML space's name: lowercase letters, digits, ``-_.``, not a built-in space's."""
    name = expect(raw, str, "name", source)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name) or name in RESERVED_NAMES:
        raise ConfigError(f"{source}: invalid space name {name!r} (lowercase, digits, -_.)")
    return name


def recommended_proxy(data: dict[str, Any], source: str) -> str | None:
    """A space file's ``proxy``: what ``nascli search`` uses there when no --proxy is given.

    A space carries its own because how well a proxy ranks depends on the space (docs/
    proxies.md); the name (a proxy, an ``a+b`` rank sum or a named ensemble) is checked
    when a search resolves it.
    """
    if "proxy" not in data:
        return None
    name = expect(data["proxy"], str, "proxy", source).strip().lower()
    if not name:
        raise ConfigError(f"{source}: proxy must name a proxy or ensemble")
    return name
