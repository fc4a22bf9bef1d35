"""The NAS-Bench-201 cell space: 5 ops on 6 edges, 15,625 cells.

Accepts the official string form (``|nor_conv_3x3~0|+|...~0|...~1|+|...|``) and the
official index 0..15624. The benchmark's order is its generator's: every cell in
``CellStructure.gen_all`` order, shuffled with ``random.seed(88)`` (NAS-Bench-201's
``generate_meta_info``); we regenerate it instead of shipping the list, and a test
checks it against the benchmark's published table.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nascli.arch import Arch
from nascli.cost import Cost, network_cost
from nascli.errors import ConfigError, suggest
from nascli.layers import LayerKey

if TYPE_CHECKING:
    from collections.abc import Sequence

    import optuna
    from torch import nn

    from nascli.keyrows import KeyRows

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_CELLS = len(OPS) ** 6
_EDGE_SOURCES = (0, 0, 1, 0, 1, 2)
_NODE_EDGES = ((0,), (1, 2), (3, 4, 5))
_STRING_RE = re.compile(r"\|[^|]+\|\+\|[^|]+\|[^|]+\|\+\|[^|]+\|[^|]+\|[^|]+\|")
_OP_RE = "(" + "|".join(OPS) + ")"
# A well-formed string in one match (the fast path); anything else gets a precise error.
_EXACT_RE = re.compile(
    rf"\|{_OP_RE}~0\|\+\|{_OP_RE}~0\|{_OP_RE}~1\|\+\|{_OP_RE}~0\|{_OP_RE}~1\|{_OP_RE}~2\|"
)


def to_string(ops: tuple[str, ...]) -> str:
    nodes = []
    for edge_ids in _NODE_EDGES:
        nodes.append("|" + "|".join(f"{ops[e]}~{_EDGE_SOURCES[e]}" for e in edge_ids) + "|")
    return "+".join(nodes)


def parse_string(text: str) -> tuple[str, ...]:
    """Ops on the 6 edges from the official string; ConfigError names what is wrong."""
    exact = _EXACT_RE.fullmatch(text)
    if exact is not None:
        return exact.groups()
    if not _STRING_RE.fullmatch(text):
        raise ConfigError(
            f"malformed NB201 string {text!r}: expected "
            "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with 6 edges"
        )
    ops: list[str] = []
    for node, part in enumerate(text.split("+")):
        edges = part.strip("|").split("|")
        for source, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if op not in OPS:
                raise ConfigError(f"unknown NB201 op {op!r}{suggest(op, OPS)}; ops: {list(OPS)}")
            if sep != "~" or src != str(source) or len(edges) != node + 1:
                raise ConfigError(f"malformed NB201 edge {edge!r} (node {node + 1})")
            ops.append(op)
    return tuple(ops)


@lru_cache(maxsize=1)
def official_order() -> tuple[tuple[str, ...], ...]:
    """All 15,625 cells in the benchmark's index order."""

    def combinations(node: int) -> list[list[str]]:
        combos: list[list[str]] = [[]]
        for _ in range(node):
            combos = [[*c, op] for c in combos for op in OPS]
        return combos

    cells: list[list[str]] = [[]]
    for node in (1, 2, 3):
        cells = [cell + combo for cell in cells for combo in combinations(node)]
    shuffler = random.Random()
    shuffler.seed(88)
    shuffler.shuffle(cells)
    return tuple(tuple(cell) for cell in cells)


@lru_cache(maxsize=1)
def _index_of() -> dict[tuple[str, ...], int]:
    return {ops: index for index, ops in enumerate(official_order())}


class NB201Space:
    """NAS-Bench-201 (C=16, N=5 cells per stage, 32×32 CIFAR input, 10 classes)."""

    family = "cell"

    def __init__(self, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10) -> None:
        self.name = "nb201"
        self.description = "NAS-Bench-201 cell space (5 ops, 6 edges, 15,625 cells), CIFAR 32x32"
        # The proxy that ranked NB201 cells best against training (docs/proxies.md).
        self.recommended_proxy: str | None = "nb201-rank"
        self.resolution = 32
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self.num_classes = num_classes

    # identity
    def ops(self, arch: Arch) -> tuple[str, ...]:
        if arch.space != self.name:
            raise ConfigError(f"architecture of space {arch.space!r} given to 'nb201'")
        return parse_string(arch.body)

    def parse(self, body: str) -> Arch:
        text = body.strip()
        if text.lstrip("-").isdigit():
            return self.from_index(int(text))
        return Arch(self.name, to_string(parse_string(text)))

    def from_index(self, index: int) -> Arch:
        if not 0 <= index < NUM_CELLS:
            raise ConfigError(f"NB201 index {index} out of range 0..{NUM_CELLS - 1}")
        return Arch(self.name, to_string(official_order()[index]))

    def index(self, arch: Arch) -> int:
        return _index_of()[self.ops(arch)]

    def to_dict(self, arch: Arch) -> dict[str, Any]:
        return {"space": self.name, "arch": arch.body, "index": self.index(arch)}

    def from_dict(self, data: dict[str, Any], source: str = "architecture") -> Arch:
        unknown = sorted(set(data) - {"space", "arch", "index", "name", "description", "source"})
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown} for an nb201 architecture")
        if "arch" in data:
            arch = self.parse(str(data["arch"]))
            if "index" in data and data["index"] != self.index(arch):
                raise ConfigError(f"{source}: index {data['index']} does not match arch string")
            return arch
        if isinstance(data.get("index"), int):
            return self.from_index(data["index"])
        raise ConfigError(f"{source}: an nb201 architecture needs 'arch' or 'index'")

    def validate(self, arch: Arch) -> None:
        self.ops(arch)

    # search moves
    def sample(self, rng: random.Random) -> Arch:
        return Arch(self.name, to_string(tuple(rng.choice(OPS) for _ in range(6))))

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        ops = list(self.ops(arch))
        edge = rng.randrange(6)
        ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
        return Arch(self.name, to_string(tuple(ops)))

    def suggest(self, trial: optuna.Trial) -> Arch:
        ops = tuple(trial.suggest_categorical(f"edge{i}", list(OPS)) for i in range(6))
        return Arch(self.name, to_string(ops))

    # structure
    def layers(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> list[LayerKey]:
        """Stem, 6 edge keys per cell (in string order), reduction blocks, head.

        ``residual`` is ignored: skip connections are part of NB201 cells themselves.
        """
        ops = self.ops(arch)
        size = resolution or self.resolution
        channels = self.channels
        keys = [LayerKey("conv", 3, channels, 3, 1, size, size, act="none")]
        for stage in range(3):
            if stage > 0:
                reduction = LayerKey("nb201_res", channels, channels * 2, 3, 2, size, size)
                keys.append(reduction)
                channels, size = channels * 2, reduction.h_out
            for _ in range(self.cells_per_stage):
                keys.extend(_edge_key(op, channels, size) for op in ops)
        keys.append(LayerKey("nb201_head", channels, self.num_classes, 1, 1, size, size))
        return keys

    def key_counts(
        self, arch: Arch, *, resolution: int | None = None
    ) -> tuple[tuple[LayerKey, int], ...]:
        """``layers()`` as (distinct key, how many times) pairs, without listing every edge.

        Latency prediction sums table entries; a cell's edge op appears once per cell of a
        stage, so pricing each distinct key once is enough (and ~10x faster).
        """
        fixed, per_op = _skeleton(
            self.channels, self.cells_per_stage, self.num_classes, resolution or self.resolution
        )
        counts = dict(fixed)
        for op in self.ops(arch):
            for key in per_op[op]:
                counts[key] = counts.get(key, 0) + self.cells_per_stage
        return tuple(counts.items())

    def key_rows(self, archs: Sequence[Arch], *, resolution: int | None = None) -> KeyRows:
        """``key_counts`` of many cells as packed rows (``latency.batch``): a gather per edge."""
        import numpy as np

        from nascli.keyrows import KeyRows, rows_of_keys

        fixed, per_op = _skeleton(
            self.channels, self.cells_per_stage, self.num_classes, resolution or self.resolution
        )
        code = {op: i for i, op in enumerate(OPS)}
        n, stages = len(archs), len(per_op[OPS[0]])
        ops = np.asarray(
            [[code[op] for op in self.ops(arch)] for arch in archs], dtype=np.int64
        ).reshape(n, len(_EDGE_SOURCES))
        base = rows_of_keys([key for key, _ in fixed], [0] * len(fixed), [t for _, t in fixed])
        edge_keys = [key for op in OPS for key in per_op[op]]
        edge = rows_of_keys(edge_keys, [0] * len(edge_keys), [1] * len(edge_keys))
        which = (ops[:, :, None] * stages + np.arange(stages)).ravel()  # op's key per stage
        owners = np.arange(n, dtype=np.int64)
        return KeyRows.concat(
            [
                KeyRows(
                    np.repeat(owners, len(fixed)),
                    np.tile(base.count, n),
                    np.tile(base.word1, n),
                    np.tile(base.word2, n),
                ),
                KeyRows(
                    np.repeat(owners, len(_EDGE_SOURCES) * stages),
                    np.full(len(which), self.cells_per_stage, dtype=np.int64),
                    edge.word1[which],
                    edge.word2[which],
                ),
            ]
        )

    def all_keys(self, resolution: int) -> list[LayerKey]:
        """Every distinct key of NB201 networks: one cell with each op covers all edge keys."""
        seen: dict[LayerKey, None] = {}
        for op in OPS:
            arch = self.parse(to_string((op,) * 6))
            for key in self.layers(arch, resolution=resolution):
                seen.setdefault(key, None)
        return list(seen)

    def probe_archs(self, count: int, seed: int) -> list[Arch]:
        """Seeded probe cells for in-context timing; every op appears in every probe."""
        rng = random.Random(seed)
        archs = []
        for i in range(count):
            ops = [OPS[(i + j) % len(OPS)] for j in range(6)]
            rng.shuffle(ops)
            archs.append(self.parse(to_string(tuple(ops))))
        return archs

    def num_layers(self, arch: Arch) -> int:
        """Trainable weight layers (every conv and the classifier)."""
        return network_cost(self.layers(arch)).layers

    def cost(self, arch: Arch, *, resolution: int | None = None) -> Cost:
        return _cached_cost(self, arch, resolution or self.resolution)

    def build(
        self, arch: Arch, *, resolution: int | None = None, residual: bool = True
    ) -> nn.Module:
        from nascli.nn.nb201 import NB201Network

        return NB201Network(self.layers(arch, resolution=resolution))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "proxy": self.recommended_proxy,
            "resolution": self.resolution,
            "num_classes": self.num_classes,
            "channels": self.channels,
            "cells_per_stage": self.cells_per_stage,
            "ops": list(OPS),
            "edges": 6,
            "size": NUM_CELLS,
        }


@lru_cache(maxsize=65536)
def _cached_cost(space: NB201Space, arch: Arch, resolution: int) -> Cost:
    return network_cost(space.layers(arch, resolution=resolution))


@lru_cache(maxsize=64)
def _skeleton(
    channels: int, cells_per_stage: int, num_classes: int, size: int
) -> tuple[tuple[tuple[LayerKey, int], ...], dict[str, tuple[LayerKey, ...]]]:
    """The keys every cell shares (stem, reductions, head) and each op's key per stage."""
    fixed = [(LayerKey("conv", 3, channels, 3, 1, size, size, act="none"), 1)]
    per_stage: list[tuple[int, int]] = []
    for stage in range(3):
        if stage > 0:
            reduction = LayerKey("nb201_res", channels, channels * 2, 3, 2, size, size)
            fixed.append((reduction, 1))
            channels, size = channels * 2, reduction.h_out
        per_stage.append((channels, size))
    fixed.append((LayerKey("nb201_head", channels, num_classes, 1, 1, size, size), 1))
    per_op = {op: tuple(_edge_key(op, c, s) for c, s in per_stage) for op in OPS}
    return tuple(fixed), per_op


def _edge_key(op: str, channels: int, size: int) -> LayerKey:
    if op == "nor_conv_3x3":
        return LayerKey("nb201_conv", channels, channels, 3, 1, size, size, act="relu")
    if op == "nor_conv_1x1":
        return LayerKey("nb201_conv", channels, channels, 1, 1, size, size, act="relu")
    if op == "avg_pool_3x3":
        return LayerKey("nb201_pool", channels, channels, 3, 1, size, size)
    if op == "skip_connect":
        return LayerKey("nb201_skip", channels, channels, 1, 1, size, size)
    return LayerKey("nb201_zero", channels, channels, 1, 1, size, size)
