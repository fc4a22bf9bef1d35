"""The default search (`nascli search --budget 450MFLOPs`): wall time, peak RSS, best vs baselines.

Runs the CLI in a subprocess (as a user would) and reads its summary; peak RSS is the
child's ru_maxrss. Also prints the ZiCo score of the best net beside the baselines (the
published ZiCo nets that fit the budget), all scored with identical settings.

    python benchmarks/search_default.py [--budget 450MFLOPs] [extra nascli args]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    extra = sys.argv[1:] or ["--budget", "450MFLOPs"]
    with tempfile.TemporaryDirectory() as folder:
        cmd = [sys.executable, "-m", "nascli", "search", *extra, "--out", folder, "--json"]
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        rss_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        if result.returncode != 0:
            print(result.stderr)
            sys.exit(result.returncode)
        summary = json.loads(result.stdout)
    best = summary["best"]
    print(f"command: nascli search {' '.join(extra)}")
    print(f"wall {wall:.1f} s, peak RSS {rss_gib:.2f} GiB, trials {summary['trials']}")
    print(f"best: {best['canonical']}")
    print(f"  score {best['value']:.2f}, MACs {best['macs'] / 1e6:.1f} M, layers {best['layers']}")
    for base in summary["baselines"]:
        print(f"baseline {base['name']}: score {base['value']:.2f}, MACs "
              f"{base['macs'] / 1e6:.1f} M, layers {base['layers']}")  # fmt: skip


if __name__ == "__main__":
    main()
