"""FLOPs: multiply-accumulates of the network, from the analytic cost model.

nascli's "FLOPs" are MACs (the mobile-NAS convention, see ``nascli.cost``), computed
from the architecture's layer keys at the candidate's (proxy-time) resolution without
building the network. A baseline proxy; higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

from nascli.proxies.base import Batch, Candidate


class Flops:
    """MACs at the candidate's resolution (analytic)."""

    name = "flops"
    needs_data = False
    needs_labels = False
    cost = "analytic"
    batches_needed = 0

    def score(self, candidate: Candidate, batches: Sequence[Batch]) -> float:
        cost = candidate.space.cost(candidate.arch, resolution=candidate.resolution)
        return float(cost.macs)
