"""Reading a layer-wise choice space's YAML mapping (``family: layerwise``).

```yaml
name: nas-bench-macro
family: layerwise
resolution: 32
num_classes: 10
stem: {kernel: 3, stride: 1, width: 32}          # conv + BN + ReLU
head: {width: 1280}                               # 1×1 conv + BN + ReLU, pool, linear
choices:                                          # name → block; names make the arch string
  "0": {type: identity}
  "1": {type: ir_relu, kernel: 3, expansion: 3}
  "2": {type: ir_relu, kernel: 5, expansion: 6}
stages:                                           # first layer of a stage: its stride
  - {width: 64, stride: 2, layers: 2}
  - {width: 128, stride: 2, layers: 3, choices: ["1", "2"]}   # optional subset
```

Every unknown or malformed key is reported by name, with the file it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nascli.errors import ConfigError
from nascli.spaces.blocks.registry import BLOCK_TYPES
from nascli.spaces.fields import (
    check_keys,
    expect,
    expect_int,
    recommended_proxy,
    space_name,
)

_NAME_RE = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True, slots=True)
class Choice:
    """One candidate block of a layer: a registered type and its fixed hyperparameters."""

    name: str
    type: str
    kernel: int
    expansion: int
    bottleneck: int
    depth: int


@dataclass(frozen=True, slots=True)
class LayerSlot:
    """One searchable layer: its stride, output width and the names it may choose."""

    stride: int
    width: int
    choices: tuple[str, ...]


def layerwise_space_kwargs(data: Any, source: str) -> dict[str, Any]:
    """The keyword arguments of ``LayerwiseSpace`` from a space file's mapping."""
    data = expect(data, dict, "space file", source)
    allowed = {"name", "family", "description", "resolution", "num_classes", "in_channels",
               "stem", "head", "choices", "stages", "proxy"}  # fmt: skip
    check_keys(data, allowed, "the space file", source)
    for key in ("name", "resolution", "num_classes", "stem", "head", "choices", "stages"):
        if key not in data:
            raise ConfigError(f"{source}: missing required key {key!r}")
    stem = expect(data["stem"], dict, "stem", source)
    check_keys(stem, {"kernel", "stride", "width"}, "stem", source)
    head = expect(data["head"], dict, "head", source)
    check_keys(head, {"width"}, "head", source)
    choices = _read_choices(expect(data["choices"], dict, "choices", source), source)
    slots = _read_stages(expect(data["stages"], list, "stages", source), choices, source)
    return {
        "name": space_name(data["name"], source),
        "description": str(data.get("description", "")),
        "resolution": expect_int(data["resolution"], "resolution", source),
        "num_classes": expect_int(data["num_classes"], "num_classes", source),
        "in_channels": expect_int(data.get("in_channels", 3), "in_channels", source),
        "stem_kernel": expect_int(stem.get("kernel", 3), "stem.kernel", source),
        "stem_stride": expect_int(stem.get("stride", 1), "stem.stride", source),
        "stem_width": expect_int(stem.get("width"), "stem.width", source),
        "head_width": expect_int(head.get("width"), "head.width", source),
        "choices": choices,
        "slots": slots,
        "recommended_proxy": recommended_proxy(data, source),
    }


def _read_choices(raw: dict[Any, Any], source: str) -> dict[str, Choice]:
    if not raw:
        raise ConfigError(f"{source}: choices must name at least one block")
    out: dict[str, Choice] = {}
    for key, spec in raw.items():
        name = str(key)
        where = f"choices[{name!r}]"
        if not _NAME_RE.fullmatch(name):
            raise ConfigError(f"{source}: {where}: a choice name is letters, digits, _ or .")
        spec = expect(spec, dict, where, source)
        check_keys(spec, {"type", "kernel", "expansion", "bottleneck", "depth"}, where, source)
        kind = spec.get("type")
        if kind not in BLOCK_TYPES:
            raise ConfigError(f"{source}: {where}.type {kind!r} not in {list(BLOCK_TYPES)}")
        uses_bottleneck = BLOCK_TYPES[kind].uses_bottleneck
        if uses_bottleneck and "bottleneck" not in spec:
            raise ConfigError(f"{source}: {where}: type {kind!r} needs a bottleneck width")
        if not uses_bottleneck and "bottleneck" in spec:
            raise ConfigError(f"{source}: {where}: type {kind!r} has no bottleneck width")
        out[name] = Choice(
            name=name,
            type=kind,
            kernel=expect_int(spec.get("kernel", 1), f"{where}.kernel", source),
            expansion=expect_int(spec.get("expansion", 1), f"{where}.expansion", source),
            bottleneck=expect_int(spec.get("bottleneck", 0), f"{where}.bottleneck", source),
            depth=expect_int(spec.get("depth", 1), f"{where}.depth", source),
        )
    return out


def _read_stages(raw: list[Any], choices: dict[str, Choice], source: str) -> tuple[LayerSlot, ...]:
    if not raw:
        raise ConfigError(f"{source}: stages must list at least one stage")
    slots: list[LayerSlot] = []
    for index, stage in enumerate(raw):
        where = f"stages[{index}]"
        stage = expect(stage, dict, where, source)
        check_keys(stage, {"width", "stride", "layers", "choices"}, where, source)
        stride = expect_int(stage.get("stride", 1), f"{where}.stride", source)
        if stride not in (1, 2):
            raise ConfigError(f"{source}: {where}.stride must be 1 or 2")
        width = expect_int(stage.get("width"), f"{where}.width", source)
        layers = expect_int(stage.get("layers", 1), f"{where}.layers", source)
        if width < 1 or layers < 1:
            raise ConfigError(f"{source}: {where}: width and layers must be at least 1")
        names = tuple(str(n) for n in stage.get("choices", list(choices)))
        unknown = [n for n in names if n not in choices]
        if not names or unknown:
            raise ConfigError(f"{source}: {where}.choices {unknown} not among {list(choices)}")
        slots.extend(LayerSlot(stride if i == 0 else 1, width, names) for i in range(layers))
    return tuple(slots)
