"""The timing protocol shared by block profiling, validation and the bundle runner.

Why each step: a fresh session per model (no state shared between models), a seeded
input (same data every run), warm-up of at least ``warmup_runs`` runs *and*
``warmup_s`` seconds (allocator arenas, caches, CPU frequency settle), then timed runs
split over several rounds visited in a shuffled order (slow drift of a shared machine
spreads over all models instead of biasing the ones timed last). We keep the median,
minimum, p10, p90 and n; on a shared VM the minimum is the steadier statistic.

Rounds are seconds apart, but a shared VM also has slow spells minutes long (measured
here: every block 1.7-1.9x slower for ~4 minutes, steady inside the spell), which no
statistic over one pass can remove. ``passes`` > 1 times every model again in later
passes over the whole set, minutes apart, with fresh sessions; samples of all passes are
pooled, so the minimum is the fastest state any pass saw (slow spells only add time).
Two passes by default: on this project's VM they narrowed the spread of measured/predicted
over the fit networks from 1.03-1.32 to 0.90-1.02, and validation MAPE was 5.2 % against 8.3 %
for the one-pass table validated on the same 30 networks minutes later.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from nascli.errors import ConfigError

STATISTICS = ("min", "p10", "median")
CLOCKS = ("wall", "thread_cpu")


@dataclass(frozen=True)
class TimingProtocol:
    """How every model is timed; recorded in each table's metadata."""

    warmup_runs: int = 10
    warmup_s: float = 0.2
    runs: int = 50
    rounds: int = 3
    rewarm_runs: int = 3
    passes: int = 2
    seed: int = 0
    statistic: str = "min"
    clock: str = "wall"

    def __post_init__(self) -> None:
        if min(self.runs, self.rounds, self.passes) < 1 or min(self.warmup_runs, self.warmup_s) < 0:
            raise ConfigError("timing protocol: runs/rounds/passes must be >= 1, warm-up >= 0")
        if self.statistic not in STATISTICS:
            raise ConfigError(f"timing statistic must be one of {list(STATISTICS)}")
        if self.clock not in CLOCKS:
            raise ConfigError(f"timing clock must be one of {list(CLOCKS)}")

    @property
    def runs_per_round(self) -> int:
        return math.ceil(self.runs / self.rounds)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingProtocol:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known.setdefault("passes", 1)  # tables written before passes existed: one pass
        return cls(**known)

    @classmethod
    def quick(cls) -> TimingProtocol:
        """Few repeats for tests and CI smoke runs (figures from it are not trustworthy)."""
        return cls(warmup_runs=2, warmup_s=0.0, runs=6, rounds=2, rewarm_runs=1, passes=1)


def warm_up(run: Callable[[], object], protocol: TimingProtocol) -> None:
    start = time.perf_counter()
    done = 0
    while done < protocol.warmup_runs or time.perf_counter() - start < protocol.warmup_s:
        run()
        done += 1


def time_runs(run: Callable[[], object], count: int, clock_name: str = "wall") -> list[float]:
    """Time of ``count`` synchronous runs in milliseconds.

    ``wall`` is the latency a user sees. ``thread_cpu`` is the calling thread's CPU time:
    with one intra-op thread ORT computes on the calling thread, so on an idle machine both
    agree, and on a shared machine ``thread_cpu`` does not count time the thread spent
    pre-empted by other processes (valid only for 1-thread CPU profiles).
    """
    clock = time.perf_counter_ns if clock_name == "wall" else time.thread_time_ns
    out = []
    for _ in range(count):
        start = clock()
        run()
        out.append((clock() - start) / 1e6)
    return out


def summarize(samples: list[float]) -> dict[str, float | int]:
    """median/min/p10/p90/n of timings in ms (what a table entry stores)."""
    import numpy as np

    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no timing samples")
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return {
        "median_ms": round(float(median), 6),
        "min_ms": round(float(values.min()), 6),
        "p10_ms": round(float(p10), 6),
        "p90_ms": round(float(p90), 6),
        "n": int(values.size),
    }


def merge_summaries(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Pool ``new`` into ``old`` (two ``summarize`` results of the same model).

    Minimum of minima (exact); median/p10/p90 count-weighted (an approximation: the raw
    samples are not kept). Other fields (``source``) come from ``new``.
    """
    if old is None:
        return dict(new)
    n_old, n_new = int(old["n"]), int(new["n"])
    merged = {**new, "n": n_old + n_new, "min_ms": min(old["min_ms"], new["min_ms"])}
    for field in ("median_ms", "p10_ms", "p90_ms"):
        merged[field] = round((old[field] * n_old + new[field] * n_new) / (n_old + n_new), 6)
    return merged


def session_runner(session, feeds: dict[str, Any], io_binding: bool) -> Callable[[], object]:
    """A zero-argument callable running ``session`` once (IOBinding on device when asked)."""
    if not io_binding:
        return lambda: session.run(None, feeds)
    import onnxruntime as ort

    device = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
    binding = session.io_binding()
    for name, value in feeds.items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value, device, 0))
    for output in session.get_outputs():
        binding.bind_output(output.name, device)

    def run() -> object:
        session.run_with_iobinding(binding)
        return None

    return run


def seeded_input(shape: tuple[int, ...], seed: int):
    import numpy as np

    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def typed_input(session, shape: tuple[int, ...], seed: int):
    """Seeded input in the session's input type: float32, or uint8/int8 for int8 blocks
    whose boundary quantization was stripped (``models.strip_qdq_boundary``)."""
    import numpy as np

    kind = session.get_inputs()[0].type
    if kind in ("tensor(uint8)", "tensor(int8)"):
        info = np.iinfo(np.uint8 if kind == "tensor(uint8)" else np.int8)
        rng = np.random.default_rng(seed)
        return rng.integers(info.min, info.max + 1, size=shape, dtype=info.dtype)
    return seeded_input(shape, seed)
