"""ZiCo fidelity vs cost on the ImageNet macro space (issue 3, part 6).

Full-fidelity ZiCo costs tens of seconds per network at 224 px. This script scores random
``mobilenet-imagenet`` architectures at the full setting and at cheaper ones (lower
resolution, smaller batches) on ``../shared/data/imagenet_64_224.npz`` and prints the
Kendall τ between each cheap ranking and the full one, with seconds per architecture.
The chosen search default is the cheapest setting whose τ ≥ 0.9.

The data set holds 64 images, so the full setting here is 224 px × 64 images × 2 batches
(the two batches are two seeded orders of the same 64 images; ZiCo's own full setting is
128 images per batch). Each (setting, architecture) score is cached in ``--cache-dir``,
so an interrupted run resumes; the table is printed every ``--report-every`` archs.

    python benchmarks/zico_fidelity.py --n-archs 30
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FULL = (224, 64)
GRID = ((160, 32), (128, 32), (96, 32), (128, 16), (96, 16), (64, 16))


def _table(rows: dict[tuple[int, int], list[float]], seconds: dict, full: tuple[int, int]) -> str:
    import statistics

    from scipy.stats import kendalltau

    lines = [f"{'resolution x batch':<20} {'tau vs full':>11} {'median s':>9} {'mean s':>7}  archs"]
    chosen = None
    ref = rows[full]
    for setting in sorted(rows, key=lambda s: -(s[0] ** 2 * s[1])):
        n = min(len(rows[setting]), len(ref))
        tau = 1.0 if setting == full else float(kendalltau(rows[setting][:n], ref[:n]).statistic)
        times = seconds[setting][:n] or [0.0]
        # Median: one evaluation caught by a pause of the process (seen here: 535 s once)
        # would dominate the mean.
        per, mean = statistics.median(times), statistics.fmean(times)
        lines.append(
            f"{setting[0]:>4} px x {setting[1]:<3} x 2  {tau:11.3f} {per:9.2f} {mean:7.2f}  {n}"
        )
        if tau >= 0.9 and (chosen is None or per < chosen[1]):
            chosen = (setting, per, tau)
    if chosen is not None:
        (res, batch), per, tau = chosen
        lines.append(
            f"cheapest with tau >= 0.9: {res} px x {batch} x 2 (tau {tau:.3f}, median {per:.2f} s)"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-archs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--space", default="mobilenet-imagenet")
    parser.add_argument("--data", default=str(SHARED / "imagenet_64_224.npz"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=str(ROOT / ".nascli-cache"))
    parser.add_argument("--report-every", type=int, default=5)
    parser.add_argument("--full-batch", type=int, default=FULL[1])
    parser.add_argument(
        "--max-macs", type=float, default=None, help="only archs up to this many M MACs"
    )
    args = parser.parse_args()

    import torch

    from nascli.proxies.runner import prepare
    from nascli.score_cache import ScoreCache, data_fingerprint, settings_key
    from nascli.spaces import get_space

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not data.is_file():
        print(f"missing {data}", file=sys.stderr)
        return 2
    full = (FULL[0], args.full_batch)
    settings = [full, *GRID]
    space = get_space(args.space)
    rng = random.Random(args.seed)
    archs = []
    while len(archs) < args.n_archs:  # a search only scores archs within its budget
        arch = space.sample(rng)
        if args.max_macs is None or space.cost(arch).macs <= args.max_macs * 1e6:
            archs.append(arch)
    fingerprint = data_fingerprint(data)
    print(
        f"ZiCo fidelity: {len(archs)} random {args.space} archs (<= {args.max_macs} M MACs), "
        f"seed {args.seed}, data {data}, "
        f"threads {args.threads}, residual links removed (nascli's ZiCo default)",
        flush=True,
    )
    scorers = {}
    for res, batch in settings:
        scorers[(res, batch)] = prepare(
            ["zico"],
            space_name=args.space,
            data=data,
            batch_size=batch,
            batches=2,
            resolution=res,
            seed=args.seed,
        )
    keys = {
        s: settings_key(
            "zico",
            {},
            data=fingerprint,
            batch_size=s[1],
            batches=2,
            resolution=s[0],
            seed=args.seed,
            space=args.space,
        )
        for s in settings
    }
    scores: dict[tuple[int, int], list[float]] = {s: [] for s in settings}
    seconds: dict[tuple[int, int], list[float]] = {s: [] for s in settings}
    started = time.perf_counter()
    with ScoreCache(args.cache_dir) as cache:
        for i, arch in enumerate(archs, start=1):
            macs = space.cost(arch).macs
            for setting in settings:
                hit = cache.get_many(keys[setting], [arch.canonical]).get(arch.canonical)
                if hit is None:
                    outcome = scorers[setting].score(arch)["zico"]
                    hit = (outcome.score, outcome.seconds, outcome.error)
                    cache.put_many([(keys[setting], arch.canonical, *hit)])
                score, sec, error = hit
                if error is not None or score is None:
                    print(f"arch {i}: {setting} failed: {error}", file=sys.stderr)
                    score = float("-inf")
                scores[setting].append(score)
                seconds[setting].append(sec)
            print(
                f"  arch {i}/{len(archs)} ({macs / 1e6:.0f} M MACs) full ZiCo "
                f"{scores[full][-1]:.1f}; {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            if i % args.report_every == 0 or i == len(archs):
                print(_table(scores, seconds, full), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
