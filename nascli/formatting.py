"""Value formatting shared by the library's reports and the CLI: JSON-safe values, short counts."""

from __future__ import annotations

import math
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with NaN/inf replaced by ``None`` (recursively), so it dumps as valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def human_count(value: float, unit: str = "") -> str:
    """1234567 → '1.23 M' (for tables)."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {suffix}{unit}"
    return f"{value:g} {unit}".rstrip()


def score_text(value: float) -> str:
    """A proxy score for a table: two decimals where they are readable, else 3 significant digits.

    SynFlow's products over depth reach 1e34 and JacobCov's values sit near 1e-3; fixed
    decimals would print 35 digits or 0.00 for them.
    """
    if not math.isfinite(value) or value == 0 or 1e-2 <= abs(value) < 1e6:
        return f"{value:.2f}"
    return f"{value:.3g}"
