"""Reading a macro space's YAML mapping into the arguments of ``MacroSpace``.

Every unknown or malformed key is reported by name, with the file it came from.
"""

from __future__ import annotations

from typing import Any

from nascli.errors import ConfigError
from nascli.spaces.blocks.registry import BLOCK_TYPES
from nascli.spaces.fields import (
    IntRange,
    check_keys,
    expect,
    expect_int,
    int_choices,
    narrow,
    recommended_proxy,
    space_name,
)
from nascli.spaces.macro_genome import StageTemplate


def macro_space_kwargs(data: Any, source: str) -> dict[str, Any]:
    """The keyword arguments of ``MacroSpace`` from a space file's mapping."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a space file must be a mapping")
    allowed = {
        "name", "family", "description", "resolution", "num_classes", "in_channels",
        "stem", "head", "blocks", "stages", "initial", "max_blocks", "layer_rule", "proxy",
    }  # fmt: skip
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    for key in ("name", "resolution", "num_classes", "stem", "head", "blocks", "stages"):
        if key not in data:
            raise ConfigError(f"{source}: missing required key {key!r}")
    name = space_name(data["name"], source)
    resolution = expect_int(data["resolution"], "resolution", source)
    num_classes = expect_int(data["num_classes"], "num_classes", source)
    in_channels = expect_int(data.get("in_channels", 3), "in_channels", source)

    stem = expect(data["stem"], dict, "stem", source)
    check_keys(stem, {"kernel", "stride", "maxpool", "width"}, "stem", source)
    head = expect(data["head"], dict, "head", source)
    check_keys(head, {"width", "default", "mutable"}, "head", source)
    blocks = expect(data["blocks"], dict, "blocks", source)
    check_keys(
        blocks,
        {"types", "kernel", "expansion", "width", "bottleneck", "depth"},
        "blocks",
        source,
    )
    types = tuple(expect(blocks.get("types", ["idw"]), list, "blocks.types", source))
    bad_types = [t for t in types if t not in BLOCK_TYPES]
    if not types or bad_types:
        raise ConfigError(f"{source}: blocks.types must be among {list(BLOCK_TYPES)}")
    kernels = int_choices(blocks.get("kernel"), "blocks.kernel", source)
    expansions = int_choices(blocks.get("expansion", [1]), "blocks.expansion", source)
    width = IntRange.parse(blocks.get("width"), "blocks.width", source)
    bottleneck = IntRange.parse(
        blocks.get("bottleneck", blocks.get("width")), "blocks.bottleneck", source
    )
    depth = IntRange.parse(blocks.get("depth", 1), "blocks.depth", source)

    stages_raw = expect(data["stages"], list, "stages", source)
    if not stages_raw:
        raise ConfigError(f"{source}: stages must list at least one block")
    template = []
    for index, raw in enumerate(stages_raw):
        where = f"stages[{index}]"
        raw = expect(raw, dict, where, source)
        check_keys(raw, {"stride", "width", "bottleneck", "depth"}, where, source)
        stride = expect_int(raw.get("stride"), f"{where}.stride", source)
        if stride not in (1, 2):
            raise ConfigError(f"{source}: {where}.stride must be 1 or 2")
        stage = StageTemplate(
            stride=stride,
            width=narrow(raw.get("width"), width, f"{where}.width", source),
            bottleneck=narrow(raw.get("bottleneck"), bottleneck, f"{where}.bottleneck", source),
            depth=narrow(raw.get("depth"), depth, f"{where}.depth", source),
        )
        template.append(stage)

    head_width = IntRange.parse(head.get("width"), "head.width", source)
    head_default = expect_int(head.get("default", head_width.lo), "head.default", source)
    if not head_width.contains(head_default):
        raise ConfigError(f"{source}: head.default {head_default} outside head.width")
    layer_rule = data.get("layer_rule", "units")
    if layer_rule not in ("units", "zen"):
        raise ConfigError(f"{source}: layer_rule must be 'units' or 'zen'")
    initial = data.get("initial")
    if initial is not None and not isinstance(initial, dict):
        raise ConfigError(f"{source}: initial must be an architecture mapping")
    return dict(
        name=name,
        description=str(data.get("description", "")),
        resolution=resolution,
        num_classes=num_classes,
        in_channels=in_channels,
        stem_kernel=expect_int(stem.get("kernel", 3), "stem.kernel", source),
        stem_stride=expect_int(stem.get("stride", 2), "stem.stride", source),
        stem_maxpool=bool(stem.get("maxpool", False)),
        stem_width=IntRange.parse(stem.get("width"), "stem.width", source),
        head_width=head_width,
        head_default=head_default,
        head_mutable=bool(head.get("mutable", False)),
        types=types,
        kernels=kernels,
        expansions=expansions,
        width=width,
        bottleneck=bottleneck,
        depth=depth,
        max_blocks=expect_int(data.get("max_blocks", 24), "max_blocks", source),
        template=tuple(template),
        layer_rule=layer_rule,
        initial=initial,
        recommended_proxy=recommended_proxy(data, source),
    )
