"""Torch pieces the unit ops share (conv + BN, activations, shortcuts, the unit wrapper).

Only the builders import this module (lazily), so costing a network never imports torch.
"""

from __future__ import annotations

import torch
from torch import nn

from nascli.layers import LayerKey


def act(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    return nn.Identity()


def conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class Unit(nn.Module):
    """A main path, an optional shortcut (identity or 1×1 projection), a post-sum activation."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Module | None, post_act: str) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post_act = act(post_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.post_act(out)


def shortcut_module(key: LayerKey) -> nn.Module | None:
    if key.residual == "identity":
        return nn.Identity()
    if key.residual == "proj":
        # Zen-NAS/ZiCo projections are a 1×1 conv with bias followed by BN.
        return nn.Sequential(
            nn.Conv2d(key.cin, key.cout, 1, key.stride, bias=True), nn.BatchNorm2d(key.cout)
        )
    return None


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: (N, g·c, H, W) → (N, c·g, H, W), so that the next
    grouped conv sees channels of every group of the previous one."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class PoolClassifier(nn.Module):
    """Global average pool + linear classifier."""

    def __init__(self, cin: int, classes: int, pre: nn.Module | None = None) -> None:
        super().__init__()
        self.pre = pre if pre is not None else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.pre(x)), 1))
