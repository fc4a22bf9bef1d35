"""The proxy contract: a zero-shot score of a candidate network (higher is better).

A proxy receives a ``Candidate`` (it builds fresh, seeded networks on demand, with or
without residual links) and a list of input batches ``(x, y)``. It declares whether it
needs real data and labels and what it costs in passes, so the CLI can warn and the
search can order objectives from cheap to expensive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nascli.arch import Arch
from nascli.proxies.model_pool import ModelPool, pooling_enabled

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nascli.spaces.base import SearchSpace

Batch = tuple["torch.Tensor", "torch.Tensor"]


@dataclass(frozen=True)
class Candidate:
    """An architecture about to be scored: builds seeded networks of it on demand."""

    arch: Arch
    space: SearchSpace = field(compare=False)
    resolution: int
    seed: int = 0
    device: str | torch.device = "cpu"  # where the network is scored
    # Networks this candidate built, lent again to later proxies (None: plain path).
    pool: ModelPool | None = field(
        default_factory=lambda: ModelPool() if pooling_enabled() else None,
        compare=False,
        repr=False,
    )

    @property
    def num_classes(self) -> int:
        return self.space.num_classes

    def build(
        self,
        *,
        residual: bool = True,
        init: Callable[[nn.Module], None] | None = None,
        device: str | torch.device | None = None,
    ) -> nn.Module:
        """A freshly initialised network on ``device`` (default: the candidate's).

        PyTorch's default init seeded by ``seed``, then ``init`` (a proxy's own
        re-initialisation), both on the CPU: the weights are the same on every device,
        which is what makes a score comparable across devices (``nascli.proxies.device``).
        With a ``pool``, a network an earlier proxy of this candidate was given is lent
        again, restored to exactly this state (``nascli.proxies.model_pool``).
        """
        target = self.device if device is None else device

        def fresh() -> nn.Module:
            import torch

            torch.manual_seed(self.seed)
            model = self.space.build(self.arch, resolution=self.resolution, residual=residual)
            if init is not None:
                init(model)
            return model.to(target)

        if self.pool is None:
            return fresh()
        return self.pool.lend((residual, init, str(target)), fresh)


@runtime_checkable
class Proxy(Protocol):
    """A training-free score; ``score`` returns a float where higher is better."""

    name: str
    needs_data: bool
    needs_labels: bool
    cost: str  # e.g. "2 fwd+bwd", "1 fwd", "analytic"

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float: ...


@dataclass(frozen=True)
class ProxyResult:
    """One evaluation as a value: the score and, from a proxy that is a sum over weight
    layers and was asked for them, each layer's term (None: a layer the proxy skips).

    The terms travel with the score they belong to, so a caller never reads them from
    the proxy afterwards (where the next evaluation would already have replaced them).
    """

    value: float
    terms: tuple[float | None, ...] | None = None


def evaluate(proxy: Proxy, candidate: Candidate, batches: Sequence[Batch]) -> ProxyResult:
    """``proxy`` on ``candidate``: its ``evaluate`` when it has one (a ``ProxyResult`` with
    layer terms), else its plain ``score`` as a result without terms."""
    method = getattr(proxy, "evaluate", None)
    if callable(method):
        result = method(candidate, batches)
        if not isinstance(result, ProxyResult):
            raise TypeError(f"{type(proxy).__name__}.evaluate must return a ProxyResult")
        return result
    return ProxyResult(proxy.score(candidate, batches))
