"""PyTorch modules for ``LayerKey`` blocks; a network is the chain of its blocks.

Building every network from the same per-key modules means a latency-table entry
times exactly the module the network runs, and the analytic cost describes exactly
what torch executes (tests cross-check both).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nascli.layers import LayerKey

__all__ = ["BlockNetwork", "build_block"]


def _act(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    return nn.Identity()


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class _Unit(nn.Module):
    """A main path, an optional shortcut (identity or 1×1 projection), a post-sum activation."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Module | None, post_act: str) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post_act = _act(post_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.post_act(out)


def _shortcut(key: LayerKey) -> nn.Module | None:
    if key.residual == "identity":
        return nn.Identity()
    if key.residual == "proj":
        # Zen-NAS/ZiCo projections are a 1×1 conv with bias followed by BN.
        return nn.Sequential(
            nn.Conv2d(key.cin, key.cout, 1, key.stride, bias=True), nn.BatchNorm2d(key.cout)
        )
    return None


def _ir(key: LayerKey) -> nn.Module:
    layers: list[nn.Module] = []
    width = key.cin
    if key.mid > 0:
        layers += [*_conv_bn(key.cin, key.mid, 1, 1), _act(key.act)]
        width = key.mid
    layers += [*_conv_bn(width, width, key.kernel, key.stride, groups=width), _act(key.act)]
    layers += _conv_bn(width, key.cout, 1, 1)
    return _Unit(nn.Sequential(*layers), _shortcut(key), key.post_act)


def _basic(key: LayerKey) -> nn.Module:
    body = nn.Sequential(
        *_conv_bn(key.cin, key.mid, key.kernel, key.stride),
        _act(key.act),
        *_conv_bn(key.mid, key.cout, key.kernel, 1),
    )
    return _Unit(body, _shortcut(key), key.post_act)


def _bottleneck(key: LayerKey) -> nn.Module:
    body = nn.Sequential(
        *_conv_bn(key.cin, key.mid, 1, 1),
        _act(key.act),
        *_conv_bn(key.mid, key.mid, key.kernel, key.stride),
        _act(key.act),
        *_conv_bn(key.mid, key.cout, 1, 1),
    )
    return _Unit(body, _shortcut(key), key.post_act)


class PoolClassifier(nn.Module):
    """Global average pool + linear classifier."""

    def __init__(self, cin: int, classes: int, pre: nn.Module | None = None) -> None:
        super().__init__()
        self.pre = pre if pre is not None else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.pre(x)), 1))


def build_block(key: LayerKey) -> nn.Module:
    """The module that runs ``key`` (macro-space ops and the NB201 stem/reduction/head)."""
    if key.op == "conv":
        return nn.Sequential(*_conv_bn(key.cin, key.cout, key.kernel, key.stride), _act(key.act))
    if key.op == "maxpool":
        return nn.MaxPool2d(key.kernel, key.stride, key.kernel // 2)
    if key.op == "ir":
        return _ir(key)
    if key.op == "basic":
        return _basic(key)
    if key.op == "bottleneck":
        return _bottleneck(key)
    if key.op == "pool_fc":
        return PoolClassifier(key.cin, key.cout)
    from nascli.nn.nb201 import build_nb201_block

    return build_nb201_block(key)


class BlockNetwork(nn.Module):
    """A chain of blocks; the last block is the pooling classifier.

    ``forward_features`` returns the map before global pooling (what Zen-NAS scores).
    """

    def __init__(self, keys: Sequence[LayerKey]) -> None:
        super().__init__()
        *body, head = keys
        self.keys = tuple(keys)
        self.features = nn.Sequential(*(build_block(key) for key in body))
        self.head = build_block(head)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
