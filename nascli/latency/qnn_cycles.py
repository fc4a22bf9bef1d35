"""Accelerator cycles of a model on the HTP, from the QNN backend's detailed profile.

With ``profiling_level: detailed`` the QNN EP writes one CSV record set per ``run``:
``Accelerator (execute) time (cycles)`` for the whole graph and one ``NODE`` record per HTP
op. On x86-64 Linux the backend is Qualcomm's simulator, so these are *simulated* cycles
for the ``htp_arch`` compiled for, not a device's time; they vary from run to run, so a
figure is the median of several runs and its spread is reported next to it.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRAPH_CYCLES = "Accelerator (execute) time (cycles)"
# Nodes the HTP adds at a graph's boundary (graph input/output, NCHW<->NHWC layout
# transposes): a block model pays them once per block, a network once in all.
BOUNDARY_PREFIXES = ("Input OpId", "Output OpId", "Transpose_token")


@dataclass(frozen=True)
class Run:
    """One run's whole-graph cycles and its per-node cycles (node name -> cycles)."""

    total: int
    nodes: dict[str, int]


def read_runs(path: Path) -> list[Run]:
    """Every run recorded in a QNN detailed-profile CSV, in order."""
    runs: list[Run] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Unit of Measurement") != "CYCLES":
                continue
            if row.get("Event Identifier") == GRAPH_CYCLES:
                runs.append(Run(int(row["Time"]), {}))
            elif row.get("Message") == "NODE" and runs:
                name = row["Event Identifier"].removesuffix(" (cycles)")
                runs[-1].nodes[name] = runs[-1].nodes.get(name, 0) + int(row["Time"])
    return runs


def pooled_cycles(runs: list[Run], *, boundary: bool = True) -> int:
    """Sum over nodes of each node's fewest cycles across ``runs``.

    The simulator's per-node counts grow with load on the host (the same node of the same
    session measured 1.2 M and 3.5 M cycles in two runs here), never shrink below the
    node's cost, so the per-node minimum over runs is the pooled figure.
    ``boundary=False`` leaves out the graph's input/output and layout-transpose nodes.
    """
    fewest: dict[str, int] = {}
    for run in runs:
        for name, cycles in run.nodes.items():
            fewest[name] = min(cycles, fewest.get(name, cycles))
    return sum(
        cycles
        for name, cycles in fewest.items()
        if boundary or not name.startswith(BOUNDARY_PREFIXES)
    )


def read_graph_cycles(path: Path) -> list[int]:
    """The whole-graph accelerator cycles of each run recorded in a QNN profile CSV."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            int(row["Time"])
            for row in csv.DictReader(handle)
            if row.get("Event Identifier") == GRAPH_CYCLES
            and row.get("Unit of Measurement") == "CYCLES"
        ]


def seeded_feeds(session: Any, seed: int) -> dict[str, Any]:
    """Seeded random input of each graph input's type (uint8/int8 block I/O, or float)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds = {}
    for graph_input in session.get_inputs():
        shape = list(graph_input.shape)
        if graph_input.type == "tensor(uint8)":
            feeds[graph_input.name] = rng.integers(0, 256, shape, dtype=np.uint8)
        elif graph_input.type == "tensor(int8)":
            feeds[graph_input.name] = rng.integers(-128, 128, shape, dtype=np.int8)
        else:
            feeds[graph_input.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def simulate_runs(
    model: str | bytes, htp_arch: int, runs: int, *, warmup: int = 1, seed: int = 0
) -> list[Run]:
    """Whole-graph and per-node cycles of ``runs`` runs (after ``warmup``), one HTP session."""
    from nascli.latency.qnn import htp_session

    with tempfile.TemporaryDirectory(prefix="nascli-qnn-prof-") as tmp:
        csv_path = Path(tmp) / "profile.csv"
        session = htp_session(model, htp_arch=htp_arch, profiling_file=csv_path)
        feeds = seeded_feeds(session, seed)
        for _ in range(warmup + runs):
            session.run(None, feeds)
        del session  # the EP writes the CSV when the session ends
        recorded = read_runs(csv_path)
    if len(recorded) < runs:
        raise RuntimeError(f"the QNN profile holds {len(recorded)} runs, expected {runs}")
    return recorded[-runs:]


def simulate_cycles(
    model: str | bytes, htp_arch: int, runs: int, *, warmup: int = 1, seed: int = 0
) -> list[int]:
    """Whole-graph accelerator cycles of ``runs`` runs in one HTP session."""
    return [run.total for run in simulate_runs(model, htp_arch, runs, warmup=warmup, seed=seed)]


def spread(samples: list[int]) -> float:
    """Run-to-run spread: (max - min) / median."""
    middle = statistics.median(samples)
    return (max(samples) - min(samples)) / middle if middle else 0.0
