"""How much does this machine drift? Time the same networks twice, minutes apart.

A latency table cannot be checked more tightly than the machine repeats itself: if the same
networks, timed with the same protocol, come out several % slower a few minutes later, no
table can reach a MAPE below that here. This script measures that floor with the table's own
device profile and protocol (passes included): N seeded random networks of the table's space
are timed, the script sleeps ``--gap-s`` seconds, and times them again in a fresh process.

    python benchmarks/latency_drift.py latency_tables/cpu/mobilenet-imagenet-224.json --nets 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("--nets", type=int, default=30)
    parser.add_argument("--gap-s", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=2_000_003, help="as tables validate")
    args = parser.parse_args()

    from nascli.latency.devices import PROFILE_KEYS, DeviceProfile
    from nascli.latency.profile import measure_in_fresh_process, random_archs
    from nascli.latency.table import LatencyTable
    from nascli.latency.timing import TimingProtocol
    from nascli.spaces import get_space

    table = LatencyTable.load(args.table)
    stored = {k: v for k, v in table.meta["device"].items() if k in PROFILE_KEYS}
    device = DeviceProfile.from_dict(stored, str(args.table))
    protocol = TimingProtocol.from_dict(table.meta["protocol"])
    archs = random_archs(get_space(table.space), args.nets, args.seed)
    field = f"{protocol.statistic}_ms"
    runs = []
    for index in range(2):
        if index:
            time.sleep(args.gap_s)
        started = time.strftime("%H:%M:%S")
        stats = measure_in_fresh_process(table.space, archs, table.resolution, device, protocol)
        runs.append([s[field] for s in stats])
        print(
            f"timing {index + 1} started {started}: {args.nets} networks, {protocol.passes} passes"
        )
    ratios = [b / a for a, b in zip(*runs, strict=True)]
    spread = [abs(r - 1) for r in ratios]
    print(
        f"{args.table}: second / first timing of the same networks ({protocol.statistic}, "
        f"{args.gap_s:.0f} s apart): mean {statistics.fmean(ratios):.3f}, "
        f"min {min(ratios):.3f}, max {max(ratios):.3f}; "
        f"mean |change| {statistics.fmean(spread) * 100:.1f} %, "
        f"within ±5 % {sum(s <= 0.05 for s in spread) / len(spread) * 100:.0f} %"
    )


if __name__ == "__main__":
    main()
