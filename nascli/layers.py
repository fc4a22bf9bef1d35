"""``LayerKey``: one block of a network, with everything that changes its cost or its kernel.

A network is described (for cost and for latency tables) as the list of its blocks.
Each key is a frozen value with a readable, canonical string form; that string is the
key of latency-table entries, so two blocks with equal strings must run the same kernels.

Ops:

``conv``      conv k×k (cin→cout, stride) + BN + ``act``        (stems, heads, ResNet stems)
``maxpool``   max-pool k×k/stride                                (ResNet stem)
``ir``        inverted-residual unit: [1×1 cin→mid + BN + act] (skipped when ``mid == 0``),
              depthwise k×k/stride on the expanded width + BN + act, 1×1 →cout + BN,
              shortcut ``residual`` (none | identity | proj = 1×1 conv with bias + BN),
              then ``post_act`` after the sum (ZiCo/Zen-NAS add a ReLU there; MobileNetV2 not)
``basic``     ResNet basic unit: k×k cin→mid/stride + BN + act, k×k mid→cout + BN, shortcut,
              post_act
``bottleneck``ResNet bottleneck unit: 1×1 cin→mid + BN + act, k×k mid→mid/stride + BN + act,
              1×1 mid→cout + BN, shortcut, post_act
``pool_fc``   global average pool + linear (cin→cout classes, with bias)
``nb201_conv``NAS-Bench-201 ReLU→conv k×k (cin→cout, no bias)→BN edge op
``nb201_pool``NAS-Bench-201 avg-pool 3×3 edge op (count_include_pad=False)
``nb201_skip``, ``nb201_zero``  identity / zero edge ops (no MACs)
``nb201_res`` NAS-Bench-201 reduction block (ResNet basic, stride 2, avg-pool + 1×1 shortcut)
``nb201_head``BN + ReLU + global pool + linear
``ir_g2``     ``ir`` with both 1×1 convs in 2 groups and a channel shuffle after the first
              (FBNet's ``_g2`` choices)

``h``/``w`` are the block's input height/width. ``mid`` is the expanded (inner) width, i.e.
expansion × width after the space's rounding; 0 where a block has none.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from nascli.errors import ConfigError

OPS = (
    "conv",
    "maxpool",
    "ir",
    "basic",
    "bottleneck",
    "pool_fc",
    "nb201_conv",
    "nb201_pool",
    "nb201_skip",
    "nb201_zero",
    "nb201_res",
    "nb201_head",
    "ir_g2",
)
ACTIVATIONS = ("none", "relu", "relu6")
RESIDUALS = ("none", "identity", "proj")


class LayerKey(NamedTuple):
    """One block of a network; equal keys run equal kernels.

    A NamedTuple rather than a frozen dataclass: searches create and hash millions of
    keys, and tuple construction and hashing run in C.
    """

    op: str
    cin: int
    cout: int
    kernel: int = 1
    stride: int = 1
    h: int = 1
    w: int = 1
    mid: int = 0
    act: str = "none"
    residual: str = "none"
    post_act: str = "none"

    @property
    def h_out(self) -> int:
        return _out_size(self.h, self.kernel, self.stride, self.op)

    @property
    def w_out(self) -> int:
        return _out_size(self.w, self.kernel, self.stride, self.op)

    def to_str(self) -> str:
        """Canonical string: ``op:cin>cout:k3s2:m240:56x56:relu:res=proj:post=relu``."""
        return (
            f"{self.op}:{self.cin}>{self.cout}:k{self.kernel}s{self.stride}:m{self.mid}:"
            f"{self.h}x{self.w}:{self.act}:res={self.residual}:post={self.post_act}"
        )

    @classmethod
    def from_str(cls, text: str) -> LayerKey:
        match = _KEY_RE.fullmatch(text.strip())
        if match is None:
            raise ConfigError(f"malformed layer key {text!r}")
        g = match.groupdict()
        key = cls(
            op=g["op"],
            cin=int(g["cin"]),
            cout=int(g["cout"]),
            kernel=int(g["k"]),
            stride=int(g["s"]),
            h=int(g["h"]),
            w=int(g["w"]),
            mid=int(g["mid"]),
            act=g["act"],
            residual=g["res"],
            post_act=g["post"],
        )
        key.check()
        return key

    def check(self) -> None:
        """Raise ConfigError when a field is outside what the ops support."""
        if self.op not in OPS:
            raise ConfigError(f"unknown layer op {self.op!r} in {self.to_str()}")
        if self.act not in ACTIVATIONS or self.post_act not in ACTIVATIONS:
            raise ConfigError(f"unknown activation in layer key {self.to_str()}")
        if self.residual not in RESIDUALS:
            raise ConfigError(f"unknown residual kind in layer key {self.to_str()}")
        if min(self.cin, self.cout, self.kernel, self.stride, self.h, self.w) < 1 or self.mid < 0:
            raise ConfigError(f"non-positive size in layer key {self.to_str()}")

    def with_size(self, h: int, w: int) -> LayerKey:
        """The same block at another input size (used when a resolution is overridden)."""
        return self._replace(h=h, w=w)


_KEY_RE = re.compile(
    r"(?P<op>[a-z0-9_]+):(?P<cin>\d+)>(?P<cout>\d+):k(?P<k>\d+)s(?P<s>\d+):m(?P<mid>\d+):"
    r"(?P<h>\d+)x(?P<w>\d+):(?P<act>[a-z0-9]+):res=(?P<res>[a-z]+):post=(?P<post>[a-z0-9]+)"
)


def _out_size(size: int, kernel: int, stride: int, op: str) -> int:
    """Output size of a 'same'-padded block (pad = k // 2), as every op here pads."""
    if op in ("pool_fc", "nb201_head"):
        return 1
    if op == "nb201_res":
        return (size + 1) // 2
    pad = kernel // 2
    return (size + 2 * pad - kernel) // stride + 1
