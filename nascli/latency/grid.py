"""Which keys a table measures: every key for small spaces, a documented grid for huge ones.

NAS-Bench-201 has few distinct keys (5 edge ops × 3 stages + stem, 2 reductions, head):
they are enumerated exactly. A macro space has millions (every cin/cout/mid/kernel/stride/
size combination), so we measure a *grid* and estimate the rest by a per-family
regression over channels (``nascli.latency.estimate``):

* stem: every stem width of the space (exact); final 1×1 conv: every width the last
  template stage allows (exact); pool+FC: exact.
* blocks: for every template stage and kernel, ``blocks_per_stage`` depth-2 blocks whose
  in-width, bottleneck, width and expansion are drawn (seeded) from a lattice of
  ``lattice`` values per channel range (geometric from min to max, snapped to the step),
  plus ``identity_blocks`` blocks with bottleneck = width (identity shortcuts). A depth-2
  block yields all four unit roles (first unit with the stage stride, second unit, and
  the repeated pair at stride 1), so every family of keys gets points.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from nascli.layers import LayerKey


@dataclass(frozen=True)
class GridSpec:
    """The grid of a macro space's table (recorded in the table's metadata)."""

    lattice: int = 5
    blocks_per_stage: int = 12
    identity_blocks: int = 3
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def profile_keys(
    space, resolution: int, grid: GridSpec | None = None
) -> tuple[list[LayerKey], dict[str, Any]]:
    """Keys to measure for ``space`` at ``resolution`` and how they were chosen."""
    from nascli.spaces.base import EnumeratesKeys

    if isinstance(space, EnumeratesKeys):
        keys = space.all_keys(resolution)
        return keys, {"method": "exact", "keys": len(keys)}
    grid = grid or GridSpec()
    keys = macro_grid_keys(space, resolution, grid)
    return keys, {"method": "grid", "grid": grid.to_dict(), "keys": len(keys)}


def nb201_keys(space: Any, resolution: int) -> list[LayerKey]:
    """Deprecated alias: ``space.all_keys(resolution)`` (any ``EnumeratesKeys`` space)."""
    return space.all_keys(resolution)


def lattice(lo: int, hi: int, step: int, points: int) -> list[int]:
    """``points`` values from lo to hi, geometric, snapped to the step, deduplicated."""
    if points <= 1 or lo == hi:
        return [lo]
    values = []
    for i in range(points):
        raw = lo * (hi / lo) ** (i / (points - 1))
        snapped = lo + round((raw - lo) / step) * step
        values.append(int(min(hi, max(lo, snapped))))
    return sorted(set(values))


def macro_grid_keys(space, resolution: int, grid: GridSpec) -> list[LayerKey]:
    from nascli.spaces.blocks.base import Block
    from nascli.spaces.macro_units import expand_block

    rng = random.Random(grid.seed)
    seen: dict[LayerKey, None] = {}

    def add(key: LayerKey) -> None:
        seen.setdefault(key, None)

    stem_widths = list(range(space.stem_width.lo, space.stem_width.hi + 1, space.stem_width.step))
    stem_probe = LayerKey(
        "conv",
        space.in_channels,
        stem_widths[0],
        space.stem_kernel,
        space.stem_stride,
        resolution,
        resolution,
        act="relu",
    )
    for width in stem_widths:
        add(
            LayerKey(
                "conv",
                space.in_channels,
                width,
                space.stem_kernel,
                space.stem_stride,
                resolution,
                resolution,
                act="relu",
            )
        )
    size = stem_probe.h_out
    if space.stem_maxpool:
        for width in stem_widths:
            add(LayerKey("maxpool", width, width, 3, 2, size, size))
        size = (size + 2 - 3) // 2 + 1
    kind = space.types[0]
    previous = space.stem_width
    for stage in space.template:
        cins = lattice(previous.lo, previous.hi, previous.step, grid.lattice)
        widths = lattice(stage.width.lo, stage.width.hi, space.width.step, grid.lattice)
        bottlenecks = lattice(
            stage.bottleneck.lo, stage.bottleneck.hi, space.bottleneck.step, grid.lattice
        )
        common = sorted(set(widths) | set(bottlenecks))
        common = [c for c in common if stage.width.contains(c) and stage.bottleneck.contains(c)]
        out_size = size
        for kernel in space.kernels:
            choices = []
            for _ in range(grid.blocks_per_stage):
                choices.append((rng.choice(cins), rng.choice(bottlenecks), rng.choice(widths)))
            for _ in range(grid.identity_blocks if common else 0):
                c = rng.choice(common)
                choices.append((rng.choice(cins), c, c))
            for cin, bottleneck, width in choices:
                block = Block(
                    type=kind,
                    kernel=kernel,
                    expansion=rng.choice(space.expansions),
                    width=width,
                    stride=stage.stride,
                    bottleneck=bottleneck if kind != "ir" else 0,
                    depth=2,
                )
                units = expand_block(block, cin, size, True)
                for unit in units:
                    add(unit)
                out_size = units[-1].h_out
        size = out_size
        previous = stage.width
    head_ins = range(previous.lo, previous.hi + 1, space.width.step)
    for cin in head_ins:
        add(LayerKey("conv", cin, space.head_default, 1, 1, size, size, act="relu"))
    heads = (
        lattice(space.head_width.lo, space.head_width.hi, space.head_width.step, grid.lattice)
        if space.head_mutable
        else [space.head_default]
    )
    for head in heads:
        add(LayerKey("pool_fc", head, space.num_classes, 1, 1, size, size))
    return list(seen)
