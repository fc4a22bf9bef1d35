"""What every block type and unit op provides, and the small helpers they share.

Two levels, as in the networks themselves:

* a **unit op** is one ``LayerKey.op`` (``ir``, ``basic``, ``conv``...): the analytic cost of
  one key, the torch module that runs it and, without building it, that module's weight
  layers. Latency tables time exactly these modules.
* a **block type** is what a space's architecture names (``idw``, ``ir``, ``identity``...):
  how a ``Block`` expands into unit keys, its closed-form cost and its vectorised key rows.

Each block type lives in one module beside its unit op and is registered once in
``registry.py``; property tests check that expansion, cost and rows agree for every
registered type, so a new type cannot drift from itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from nascli.layers import LayerKey

if TYPE_CHECKING:
    from torch import nn

    from nascli.keyrows import KeyRows

BYTES_PER_VALUE = 4


class Block(NamedTuple):
    """One searchable block of a network (a macro-space stage or a layer-wise choice).

    A NamedTuple (hashing and construction in C): blocks are cache keys of the per-block
    cost, and a search builds and hashes millions of them.
    """

    type: str
    kernel: int
    expansion: int
    width: int
    stride: int
    bottleneck: int
    depth: int

    def encode(self) -> str:
        return (
            f"{self.type}k{self.kernel}e{self.expansion}w{self.width}"
            f"b{self.bottleneck}s{self.stride}d{self.depth}"
        )


@dataclass(frozen=True, slots=True)
class BlockCost:
    """Cost of one unit key: MACs, parameters, peak live activation values, weight layers."""

    macs: int
    params: int
    peak_values: int
    weight_layers: int


# (MACs, params, peak bytes, weight layers, output size) of a whole block.
BlockTotals = tuple[int, int, int, int, int]
# ``partial(keyrows.group, checked=...)``: makes the rows of one unit role for many archs.
MakeRows = Callable[..., "KeyRows"]


class WeightLayer(NamedTuple):
    """One Conv2d/Linear layer: its shape and the size of the map it reads."""

    role: str  # conv | expand | depthwise | project | shortcut | linear
    cin: int
    cout: int
    kernel: int
    groups: int
    stride: int
    h: int  # input height/width (1 for the classifier)
    w: int

    @property
    def numel(self) -> int:
        return self.cout * (self.cin // self.groups) * self.kernel * self.kernel

    @property
    def out_positions(self) -> int:
        """Output positions per image: how many terms a weight's gradient sums over."""
        return -(-self.h // self.stride) * -(-self.w // self.stride)


def shortcut_weight_layers(key: LayerKey) -> list[WeightLayer]:
    """The 1×1 projection a ``proj`` shortcut adds (after the body, as built)."""
    if key.residual == "proj":
        return [WeightLayer("shortcut", key.cin, key.cout, 1, 1, key.stride, key.h, key.w)]
    return []


@dataclass(frozen=True, slots=True)
class UnitOp:
    """One ``LayerKey.op``: its per-key cost, the torch module that runs the key and that
    module's Conv2d/Linear layers in ``named_modules`` order, read from the key alone
    (``None``: networks of this op are not predicted layer by layer)."""

    name: str
    cost: Callable[[LayerKey], BlockCost]
    build: Callable[[LayerKey], nn.Module]
    weight_layers: Callable[[LayerKey], list[WeightLayer]] | None = None
    # Latency views (``nascli.latency``): which keys share a calibration scale, which share
    # a fitted family model (everything but channels), and that model's regression columns.
    kernel_in_group: bool = False  # a scale per kernel size (a plain conv's cost is k²-bound)
    family_spans_kernels: bool = False  # one family model over kernels (features carry k)
    latency_features: Callable[[LayerKey], dict[str, float]] | None = None  # None: generic

    def calibration_group(self, key: LayerKey) -> str:
        """The group whose entries share one scale when a table is re-anchored."""
        return f"{self.name}:k{key.kernel}" if self.kernel_in_group else self.name

    def group_of_family(self, family: str) -> str:
        """``calibration_group`` of a family name (``latency_family``'s ``op:kKsS:...``)."""
        if not self.kernel_in_group:
            return self.name
        return f"{self.name}:k{family.split(':', 2)[1][1:].split('s', 1)[0]}"

    def latency_family(self, key: LayerKey) -> str:
        """Keys that differ only in channels (and kernel, where the family spans kernels)."""
        kernel = "k*" if self.family_spans_kernels else f"k{key.kernel}"
        return (
            f"{key.op}:{kernel}s{key.stride}:{key.h}x{key.w}:{key.act}:"
            f"res={key.residual}:post={key.post_act}"
        )

    def features(self, key: LayerKey) -> dict[str, float]:
        """The family model's columns for ``key``: the op's own, else a constant, its MACs
        and the activations it reads and writes."""
        if self.latency_features is not None:
            return self.latency_features(key)
        return {
            "one": 1.0,
            "macs": float(self.cost(key).macs),
            "mem": float(key.h * key.w * key.cin + key.h_out * key.w_out * key.cout),
        }


class BlockType(Protocol):
    """A block type: expansion into units, closed-form cost, vectorised key rows."""

    name: str
    uses_bottleneck: bool  # whether ``Block.bottleneck`` means something for this type

    def expand(self, block: Block, cin: int, size: int, residual: bool) -> list[LayerKey]:
        """The unit keys of ``block`` entered at ``cin`` channels × ``size``² (in order)."""

    def cost(self, block: Block, cin: int, size: int) -> BlockTotals:
        """``network_cost(expand(...))`` in closed form, residual links on (tests check)."""

    def rows(
        self, make: MakeRows, arch: np.ndarray, cin: np.ndarray, size: np.ndarray, k: Any,
        e: Any, w: Any, s: Any, b: Any, d: Any,
    ) -> tuple[list[KeyRows], np.ndarray]:  # fmt: skip
        """``expand`` (as key counts) for many blocks of one type at once; (rows, out size)."""


def smart_round(value: Any, base: int = 8) -> Any:
    """Round to a multiple of ``base`` (at least ``base``), as Zen-NAS ``smart_round`` does.

    Numbers give an int; arrays (the vectorised key rows) an int64 array, rounded the same
    way (half to even, as Python's ``round``).
    """
    if isinstance(value, np.ndarray):
        return np.maximum(base, np.round(value / base) * base).astype(np.int64)
    return _smart_round_number(value, base)


@lru_cache(maxsize=4096)
def _smart_round_number(value: float, base: int) -> int:
    return int(max(base, round(value / base) * base))


def out_size(size: Any, kernel: Any, stride: Any) -> Any:
    """Output size of a 'same'-padded (pad = k // 2) unit, as ``LayerKey.h_out``; arrays too."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def same(cin: int, cout: int) -> str:
    """Shortcut of a stride-1 unit: identity when the width is kept, else a projection."""
    return "identity" if cin == cout else "proj"


def shortcut(
    unit_in: int, unit_out: int, stride: int, residual: bool, force_proj: bool = False
) -> str:
    """Zen-NAS/ResNet shortcut of a unit: none without residuals, projection on a shape change."""
    if not residual:
        return "none"
    if force_proj or stride != 1 or unit_in != unit_out:
        return "proj"
    return "identity"


def chain(
    depth: int, cin: int, width: int, stride: int, size: int, unit: Callable[..., LayerKey]
) -> list[LayerKey]:
    """``depth`` units of a block: the first enters at ``cin`` with the block's stride, the
    second at ``width`` with stride 1; the later ones repeat the second exactly (same key).

    ``unit(cin, stride, size)`` makes one unit key.
    """
    units: list[LayerKey] = []
    for _ in range(min(depth, 2)):
        key = unit(cin, stride, size)
        units.append(key)
        cin, stride, size = width, 1, key.h_out
    return units + units[-1:] * (depth - 2)


def sum_parts(parts: list[tuple[tuple[int, int, int, int], int]], out: int) -> BlockTotals:
    """Totals of (unit cost, times) pairs: sums of MACs/params/layers, max of peaks."""
    macs = params = peak = layers = 0
    for (u_macs, u_params, u_peak, u_layers), times in parts:
        macs += u_macs * times
        params += u_params * times
        layers += u_layers * times
        peak = max(peak, u_peak)
    return macs, params, peak * BYTES_PER_VALUE, layers, out
