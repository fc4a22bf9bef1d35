"""Driver + storage overhead per trial vs proxy time: a no-op proxy vs ZiCo.

Runs the real driver (SQLite study in a temp dir) on mobilenet-imagenet under 450MFLOPs.
Overhead per trial = wall time of a run with the proxy replaced by one returning a constant
(same proposals, constraints, storage writes), divided by trials; compared with the mean ZiCo
time per net at the default low-cost fidelity.

    python benchmarks/search_overhead.py --trials 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


class NoOp:
    name, cost, needs_data, needs_labels = "noop", "none", False, False

    def score(self, candidate, batches) -> float:
        return float(len(candidate.arch.body))  # distinct, finite, no network built


def run(trials: int, noop: bool) -> tuple[float, float]:
    from nascli.config import resolve_config
    from nascli.search.driver import SearchDriver
    from nascli.search.plan import build_plan

    with tempfile.TemporaryDirectory() as folder:
        config = resolve_config({"budgets": ["450MFLOPs"], "iterations": trials, "out": folder})
        url = f"sqlite:///{Path(folder) / 'study.db'}"
        driver = SearchDriver(build_plan(config), study_name="bench", storage_url=url)
        if noop:
            driver.proxies = {"zico": NoOp()}
        study = driver.open_study()
        start = time.perf_counter()
        driver.run(study, iterations=trials, timeout=None)
        return time.perf_counter() - start, driver.proxy_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    noop_wall, _ = run(args.trials, noop=True)
    zico_wall, zico_proxy = run(args.trials, noop=False)
    per_trial = noop_wall / args.trials
    proxy_per = zico_proxy / args.trials
    print(f"trials: {args.trials}")
    print(f"driver+storage per trial (no-op proxy): {per_trial * 1000:.1f} ms")
    print(f"ZiCo per net (96 px x 16 x 2): {proxy_per:.3f} s")
    print(f"ZiCo run: wall {zico_wall:.1f} s, proxy {zico_proxy:.1f} s, "
          f"non-proxy share {(zico_wall - zico_proxy) / zico_wall:.1%}")  # fmt: skip
    print(f"overhead / proxy time: {per_trial / proxy_per:.1%}")


if __name__ == "__main__":
    main()
