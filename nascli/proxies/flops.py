"""FLOPs: multiply-accumulates of the network, from the analytic cost model.

nascli's "FLOPs" are MACs (the mobile-NAS convention, see ``nascli.cost``), computed
from the architecture's layer keys at the candidate's (proxy-time) resolution without
building the network. A baseline proxy; higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

from nascli.proxies.base import Batch, Candidate
from nascli.proxies.spec import ProxySpec, SpecProxy

SPEC = ProxySpec(
    name="flops",
    class_name="Flops",
    needs_data=False,
    needs_labels=False,
    cost="analytic",
    description="MACs at the proxy resolution (analytic cost model)",
)
SPECS = (SPEC,)


class Flops(SpecProxy, spec=SPEC):
    """MACs at the candidate's resolution (analytic)."""

    batches_needed = 0

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        cost = candidate.space.cost(candidate.arch, resolution=candidate.resolution)
        return float(cost.macs)
