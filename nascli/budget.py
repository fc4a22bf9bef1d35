"""Budget strings → typed hard constraints: ``450MFLOPs``, ``5MParams``, ``20Layers``, ``8ms@cpu``.

A budget is an upper bound that a search checks *before* any proxy runs. Parsing is strict
on purpose: ``450MFLOP`` or ``450mflops`` is far more likely a typo than a wish, and a silently
misread budget wastes a whole search, so anything that is not exactly one of the forms below is a
``ConfigError`` naming the accepted forms.

* ``<number>[K|M|G|T]FLOPs`` — multiply-accumulates at the space's resolution ("FLOPs" means
  MACs, as in Zen-NAS/ZiCo/OFA); ``MACs`` is accepted as the same unit.
* ``<number>[K|M|G|T]Params`` — trainable parameters.
* ``<integer>Layers`` — depth as the space counts it (``SearchSpace.num_layers``).
* ``<number>ms@DEVICE`` (or ``us``/``s``) — latency predicted from DEVICE's lookup table.
* ``<number>[K|M|G]cycles@DEVICE`` — simulated accelerator cycles, for a device whose table is
  in cycles (``qnn-htp-sim``: HTP cycles from Qualcomm's simulator, not milliseconds).

The limit is inclusive: a net of exactly 450 M MACs fits ``450MFLOPs`` (ZiCo rejects only
``budget < flops``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nascli.errors import ConfigError, suggest

_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_TIME_SCALE_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
_NUMBER = r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_COUNT_RE = re.compile(rf"{_NUMBER}(?P<scale>[KMGT]?)(?P<unit>FLOPs|MACs|Params)")
_LAYERS_RE = re.compile(r"(?P<num>[0-9]+)Layers")
_DEVICE = r"(?P<device>[A-Za-z0-9][A-Za-z0-9_.-]*)"
_LATENCY_RE = re.compile(rf"{_NUMBER}(?P<unit>us|ms|s)@{_DEVICE}")
_CYCLES_RE = re.compile(rf"{_NUMBER}(?P<scale>[KMG]?)cycles@{_DEVICE}")
FORMS = "450MFLOPs, 0.45GFLOPs, 5MParams, 20Layers, 8ms@DEVICE, 2Mcycles@DEVICE"


@dataclass(frozen=True)
class Budget:
    """One hard upper bound: ``kind`` is macs/params/layers/latency; latency is in ``unit``
    (ms, or htp_cycles for a table of simulated cycles)."""

    kind: str
    limit: float
    text: str
    device: str | None = None
    unit: str = "ms"

    @property
    def key(self) -> str:
        """The constraint's name in a study (one per kind and device)."""
        return f"latency@{self.device}" if self.kind == "latency" else self.kind

    def violation(self, value: float) -> float:
        """Relative excess over the limit: ≤ 0 fits, > 0 is over (Optuna's constraint sign)."""
        return (value - self.limit) / self.limit

    def fits(self, value: float) -> bool:
        return value <= self.limit

    def describe(self) -> str:
        if self.kind == "macs":
            return f"MACs ≤ {self.limit / 1e6:g} M"
        if self.kind == "params":
            return f"params ≤ {self.limit / 1e6:g} M"
        if self.kind == "layers":
            return f"layers ≤ {int(self.limit)}"
        if self.unit == "htp_cycles":
            return f"simulated cycles on {self.device} ≤ {self.limit / 1e6:g} M"
        return f"latency on {self.device} ≤ {self.limit:g} ms"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "text": self.text, "kind": self.kind, "limit": self.limit, "device": self.device,
        }  # fmt: skip
        if self.unit != "ms":
            out["unit"] = self.unit
        return out


def known_devices() -> list[str]:
    """Device profile names (``configs/devices/*.yaml``, or the latency package's registry),
    and devices that have only tables (fitted to public measurements, e.g. ``samsung_a50``)."""
    from nascli.paths import config_files, table_devices

    try:
        from nascli.latency import devices as device_registry  # type: ignore[attr-defined]

        lister = getattr(device_registry, "list_devices", None)
        if lister is not None:
            names = {str(getattr(d, "name", d)) for d in lister()}
            return sorted(names | table_devices())
    except ImportError:
        pass
    return sorted(set(config_files("devices")) | table_devices())


def parse_budget(text: str, devices: Iterable[str] | None = None) -> Budget:
    """Parse one budget string strictly; ``devices`` are the accepted latency targets."""
    raw = text.strip()
    if raw.startswith("-"):
        raise ConfigError(f"budget {text!r}: a budget must be positive")
    match = _COUNT_RE.fullmatch(raw)
    if match:
        value = float(match["num"]) * _SCALE[match["scale"]]
        kind = "params" if match["unit"] == "Params" else "macs"
        return Budget(kind, _positive(value, text), raw)
    match = _LAYERS_RE.fullmatch(raw)
    if match:
        return Budget("layers", _positive(float(match["num"]), text), raw)
    match = _LATENCY_RE.fullmatch(raw)
    cycles = _CYCLES_RE.fullmatch(raw)
    if match or cycles:
        if cycles:
            match, unit = cycles, "htp_cycles"
            value = float(match["num"]) * _SCALE[match["scale"]]
        else:
            unit = "ms"
            value = float(match["num"]) * _TIME_SCALE_MS[match["unit"]]
        device = match["device"]
        known = list(known_devices() if devices is None else devices)
        if device not in known:
            listing = ", ".join(known) if known else "none installed"
            raise ConfigError(
                f"budget {text!r}: unknown device {device!r}{suggest(device, known)}; "
                f"known devices: {listing}"
            )
        return Budget("latency", _positive(value, text), raw, device, unit)
    raise ConfigError(f"cannot parse budget {text!r}{_hint(raw)}; accepted forms: {FORMS}")


def parse_budgets(texts: Sequence[str], devices: Iterable[str] | None = None) -> list[Budget]:
    """Parse several budgets; the same kind (and device) twice is an error, not a silent min."""
    device_list = None if devices is None else list(devices)
    budgets: list[Budget] = []
    seen: dict[str, str] = {}
    for text in texts:
        budget = parse_budget(text, device_list)
        if budget.key in seen:
            raise ConfigError(
                f"budgets {seen[budget.key]!r} and {budget.text!r} both limit {budget.key}; "
                "give one"
            )
        seen[budget.key] = budget.text
        budgets.append(budget)
    return budgets


def _positive(value: float, text: str) -> float:
    if not value > 0:
        raise ConfigError(f"budget {text!r}: a budget must be positive")
    return value


def _hint(raw: str) -> str:
    """A targeted hint for the common near-misses (wrong case, singular unit, no device)."""
    lowered = raw.lower()
    for unit in ("FLOPs", "MACs", "Params", "Layers"):
        if lowered.endswith(unit.lower()) and not raw.endswith(unit):
            return f" (unit is case-sensitive: write {unit!r}, scale K/M/G/T upper-case)"
        if lowered.endswith(unit.lower()[:-1]) and not lowered.endswith(unit.lower()):
            return f" (did you mean {unit!r}?)"
    if re.fullmatch(rf"{_NUMBER}(us|ms|s)", raw):
        return " (a latency budget needs a device: e.g. 8ms@cpu)"
    if re.fullmatch(r"[0-9.]+[KMGT]?", raw):
        return " (missing unit)"
    return ""
