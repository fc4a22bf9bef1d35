"""#Params: the number of trainable parameters, from the analytic cost model.

The naive baseline ZiCo set out to beat (ZiCo, ICLR 2023, Section 1). Counted by
``nascli.cost`` from the architecture's layer keys (conv/linear weights and biases,
BatchNorm affine parameters), so no network is built; tests check it against the
parameters of the built PyTorch module. Returned as a plain count; higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import ProxySpec, SpecProxy

SPEC = ProxySpec(
    name="params",
    class_name="Params",
    needs_data=False,
    needs_labels=False,
    cost="analytic",
    description="#Params (analytic cost model)",
    aliases=("#params",),
)
SPECS = (SPEC,)


class Params(SpecProxy, spec=SPEC):
    """Number of parameters (analytic)."""

    batches_needed = 0

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        cost = candidate.space.cost(candidate.arch, resolution=candidate.resolution)
        return float(cost.params)
