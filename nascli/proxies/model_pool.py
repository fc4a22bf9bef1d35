"""Networks built once per candidate and handed to each proxy as if freshly built.

Building a network costs as much as some proxies' whole pass (an NB201 cell network is
~250 torch modules, 0.1 s on one core), and an ensemble's proxies mostly ask for the
same network: ``nb201-rank``'s seven members need two distinct builds, not five. A
``ModelPool`` keeps, per candidate, each network it built with a snapshot taken right
after the build: every parameter and buffer, each ``requires_grad`` flag, each module's
train/eval mode and torch's RNG state. A later proxy asking for the same network (same
residual links, same init function, same device) gets it back restored to that snapshot,
so it sees exactly what a fresh build gives it: same values, dtypes, modes and the same
random draws afterwards (``tests/test_model_pool.py`` compares every proxy both ways).

A network comes back only after the proxy that had it finished (``release``, called by
the runner between proxies); one that still carries hooks, had an attribute replaced
(SynFlow swaps BatchNorm's ``forward``) or whose parameters changed names is never
reused. ``NASCLI_PLAIN_EVAL=1`` turns the pool off (the plain path, so both are timed in
one run: ``benchmarks/proxy_throughput.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

PLAIN_ENV = "NASCLI_PLAIN_EVAL"
_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def pooling_enabled() -> bool:
    """Reuse networks across proxies unless ``NASCLI_PLAIN_EVAL`` asks for the plain path."""
    return os.environ.get(PLAIN_ENV, "") in ("", "0")


@dataclass
class _Snapshot:
    model: nn.Module
    params: dict[str, Any]
    flags: dict[str, bool]
    buffers: dict[str, Any]
    modes: list[bool]
    attrs: list[dict[str, Any]]  # each module's other attributes, as built
    rng: Any
    cuda_rng: list[Any] | None


class ModelPool:
    """The networks one candidate built, free or lent to the proxy now running."""

    def __init__(self) -> None:
        self._free: dict[Hashable, list[_Snapshot]] = {}
        self._lent: list[tuple[Hashable, _Snapshot]] = []

    def release(self) -> None:
        """The running proxy is done: what it was lent may be handed out again."""
        for key, snapshot in self._lent:
            self._free.setdefault(key, []).append(snapshot)
        self._lent.clear()

    def lend(self, key: Hashable, build: Callable[[], nn.Module]) -> nn.Module:
        """The network ``build()`` would give, reused when a restorable one is free."""
        free = self._free.get(key, [])
        while free:
            snapshot = free.pop()
            if _restore(snapshot):
                self._lent.append((key, snapshot))
                return snapshot.model
        model = build()
        self._lent.append((key, _snapshot(model)))
        return model


def _snapshot(model: nn.Module) -> _Snapshot:
    import torch

    return _Snapshot(
        model=model,
        params={n: p.detach().clone() for n, p in model.named_parameters()},
        flags={n: p.requires_grad for n, p in model.named_parameters()},
        buffers={n: b.detach().clone() for n, b in model.named_buffers()},
        modes=[m.training for m in model.modules()],
        attrs=[_plain_attrs(m) for m in model.modules()],
        rng=torch.get_rng_state(),
        cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
    )


def _plain_attrs(module: nn.Module) -> dict[str, Any]:
    """A module's attributes other than its tensors, children and mode (a shallow copy)."""
    skip = ("_parameters", "_buffers", "_modules", "training")
    return {k: v for k, v in vars(module).items() if k not in skip}


def _restore(snapshot: _Snapshot) -> bool:
    """Put the network back as built; False (not reusable) when a proxy left it changed in
    a way values cannot undo: hooks left on, parameters or modules added or removed."""
    import torch

    model = snapshot.model
    modules = list(model.modules())
    if len(modules) != len(snapshot.modes):
        return False
    if any(getattr(m, name, None) for m in modules for name in _HOOK_DICTS):
        return False
    for module, attrs in zip(modules, snapshot.attrs, strict=True):
        now = _plain_attrs(module)  # e.g. SynFlow replaces BatchNorm's forward
        if now.keys() != attrs.keys() or any(now[k] is not attrs[k] for k in attrs):
            return False
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    if params.keys() != snapshot.params.keys() or buffers.keys() != snapshot.buffers.keys():
        return False
    with torch.no_grad():
        for name, param in params.items():
            param.data = snapshot.params[name].clone()
            param.grad = None
            param.requires_grad_(snapshot.flags[name])
        for name, buffer in buffers.items():
            buffer.data = snapshot.buffers[name].clone()
    for module, training in zip(modules, snapshot.modes, strict=True):
        module.training = training
    torch.set_rng_state(snapshot.rng)
    if snapshot.cuda_rng is not None:
        torch.cuda.set_rng_state_all(snapshot.cuda_rng)
    return True
