"""Shipped ImageNet searches against the published ZiCo nets: best score vs evaluations and time.

For each search config (450M, 600M, 1G MACs), seed and algorithm, runs the CLI as a user
would (``nascli search --config ... --algo A --seed S --baseline <published net>``), then
reads the run's Optuna study for the best-so-far curve. The published net is scored in the
same run with identical settings (its baseline row), so every comparison is a ratio of one
run. Prints, per config and algorithm, the median (and min–max over seeds) of the best score
after a few evaluation counts, of the evaluations and seconds needed to beat the published
net, and of the whole run's wall time; writes a PNG of the curves.

    python benchmarks/search_vs_published.py [--configs 450m,600m,1g] [--seeds 0,1,2]
        [--algos surrogate,evolution] [--iterations N] [--png search_vs_published.png]
        [--save curves.json] [--load a.json b.json ...]

``--save`` keeps the curves of a run; ``--load`` reports saved runs together (several runs
made one after another, e.g. one per algorithm) without searching again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "450m": ("imagenet-450mflops.yaml", "zico-450m.yaml"),
    "600m": ("imagenet-600mflops.yaml", "zico-600m.yaml"),
    "1g": ("imagenet-1gflops.yaml", "zico-1g.yaml"),
}
CHECKPOINTS = (10, 25, 50, 100, 200, 400)


@dataclass
class Curve:
    config: str
    algo: str
    seed: int
    published: float
    wall: float
    values: list[float]  # proxy value per evaluation, in order
    seconds: list[float]  # seconds from the first trial's start to each evaluation's end

    def best_after(self, count: int) -> float | None:
        return max(self.values[:count]) if len(self.values) >= count else None

    def first_beating(self) -> tuple[int, float] | tuple[None, None]:
        for index, value in enumerate(self.values):
            if value >= self.published:
                return index + 1, self.seconds[index]
        return None, None


def run_one(config: str, algo: str, seed: int, iterations: int | None) -> Curve:
    import optuna

    search_file, published_file = CONFIGS[config]
    with tempfile.TemporaryDirectory() as folder:
        cmd = [
            sys.executable, "-m", "nascli", "search",
            "--config", str(REPO / "configs" / "searches" / search_file),
            "--baseline", str(REPO / "configs" / "archs" / published_file),
            "--algo", algo, "--seed", str(seed), "--out", folder, "--json",
        ]  # fmt: skip
        if iterations:
            cmd += ["--iterations", str(iterations)]
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"{' '.join(cmd)}\n{result.stderr}")
        summary = json.loads(result.stdout)
        published = next(b["value"] for b in summary["baselines"] if b["name"].startswith("zico-"))
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = f"sqlite:///{Path(folder) / 'study.db'}"
        study = optuna.load_study(study_name=None, storage=storage)
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        origin = min(t.datetime_start for t in trials if t.datetime_start is not None)
        done = [t for t in trials if t.state.name == "COMPLETE" and t.values is not None]
        done.sort(key=lambda t: t.datetime_complete)
        values = [float(t.values[0]) for t in done]
        seconds = [(t.datetime_complete - origin).total_seconds() for t in done]
    return Curve(config, algo, seed, published, wall, values, seconds)


def spread(values: list[float | None], digits: int = 1) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    median = statistics.median(known)
    text = f"{median:.{digits}f}"
    if len(known) > 1:
        text += f" ({min(known):.{digits}f}–{max(known):.{digits}f})"
    if len(known) < len(values):
        text += f" [{len(values) - len(known)} never]"
    return text


def report(curves: list[Curve]) -> None:
    groups: dict[tuple[str, str], list[Curve]] = {}
    for curve in curves:
        groups.setdefault((curve.config, curve.algo), []).append(curve)
    longest = max(len(c.values) for c in curves)
    points = [n for n in CHECKPOINTS if n <= longest]
    header = ["config", "algo", "seeds", "published"] + [f"best@{n}" for n in points]
    header += ["evals to beat", "s to beat", "run wall s"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for (config, algo), group in groups.items():
        beat = [c.first_beating() for c in group]
        cells = [config, algo, str(len(group)), spread([c.published for c in group])]
        cells += [spread([c.best_after(n) for c in group]) for n in points]
        cells += [
            spread([b[0] for b in beat], 0),
            spread([b[1] for b in beat], 0),
            spread([c.wall for c in group], 0),
        ]
        print("| " + " | ".join(cells) + " |")


def plot(curves: list[Curve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = list(dict.fromkeys(c.config for c in curves))
    fig, axes = plt.subplots(2, len(configs), figsize=(5 * len(configs), 7), squeeze=False)
    colours = {"surrogate": "tab:blue", "evolution": "tab:orange", "tpe": "tab:green",
               "random": "tab:grey"}  # fmt: skip
    for column, config in enumerate(configs):
        top, bottom = axes[0][column], axes[1][column]
        for curve in (c for c in curves if c.config == config):
            best, running = [], float("-inf")
            for value in curve.values:
                running = max(running, value)
                best.append(running)
            colour = colours.get(curve.algo, "black")
            label = f"{curve.algo} s{curve.seed}"
            top.plot(range(1, len(best) + 1), best, color=colour, alpha=0.7, label=label)
            bottom.plot(curve.seconds, best, color=colour, alpha=0.7, label=label)
        published = statistics.median(c.published for c in curves if c.config == config)
        for axis in (top, bottom):
            axis.axhline(published, color="red", linestyle="--", label="published net")
            axis.set_title(f"{config}: best ZiCo")
            axis.grid(alpha=0.3)
        top.set_xlabel("proxy evaluations")
        bottom.set_xlabel("seconds")
        top.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"curves: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="450m,600m,1g")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--algos", default="surrogate,evolution")
    parser.add_argument("--iterations", type=int, default=None, help="default: the config's")
    parser.add_argument("--png", type=Path, default=Path("search_vs_published.png"))
    parser.add_argument("--save", type=Path, default=None, help="write the curves as JSON")
    parser.add_argument("--load", type=Path, nargs="+", default=None, help="report saved runs")
    args = parser.parse_args()
    if args.load:
        curves = [Curve(**c) for path in args.load for c in json.loads(path.read_text())]
        report(curves)
        plot(curves, args.png)
        return
    curves = []
    for config in args.configs.split(","):
        for algo in args.algos.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                curve = run_one(config, algo, seed, args.iterations)
                beat = curve.first_beating()
                print(
                    f"{config} {algo} seed {seed}: best {max(curve.values):.1f} "
                    f"(published {curve.published:.1f}), first ≥ published at evaluation "
                    f"{beat[0]}, {len(curve.values)} evaluations, wall {curve.wall:.0f} s",
                    flush=True,
                )
                curves.append(curve)
                if args.save:
                    args.save.write_text(json.dumps([asdict(c) for c in curves]))
    report(curves)
    plot(curves, args.png)


if __name__ == "__main__":
    main()
