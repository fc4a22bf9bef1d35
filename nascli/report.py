"""What a search leaves behind: top.csv, best.yaml/.onnx, pareto.png, summary.json, a table.

Everything is derived from the study (so a resumed or multi-worker run reports all trials)
and written atomically. The bias report says whether the proxy's favourites share a shape —
ZiCo is known to prefer thin, deep networks at a fixed FLOPs budget (ZiCo-BC's correction) —
by how many of the top-k sit at the depth limit and how proxy score follows depth and width
over every evaluated network.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.atomic import write_bytes_atomic, write_text_atomic


@dataclass
class Row:
    """One evaluated, feasible architecture (or a baseline)."""

    arch: str
    value: float  # the proxy (or ensemble) value the search maximised
    scores: dict[str, float]
    macs: int
    params: int
    layers: int
    latency_ms: dict[str, float] = field(default_factory=dict)
    trial: int | None = None
    name: str | None = None  # baselines: the file's name
    pareto: bool = False
    mean_width: float = 0.0
    other: tuple[float, ...] = ()  # further objective values (multi-objective)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "canonical": self.arch,
            "value": self.value,
            "scores": self.scores,
            "macs": self.macs,
            "params": self.params,
            "layers": self.layers,
            "latency_ms": self.latency_ms or None,
        }
        if self.trial is not None:
            out["trial"] = self.trial
        if self.name is not None:
            out["name"] = self.name
        return out


def mean_width(arch_text: str) -> float:
    """Mean output channels over the network's blocks (a width summary for the bias report)."""
    from nascli.spaces import arch_from_canonical

    arch = arch_from_canonical(arch_text)
    from nascli.spaces import get_space

    keys = get_space(arch.space).layers(arch)
    return sum(k.cout for k in keys) / len(keys)


def top_rows(rows: Sequence[Row], k: int) -> list[Row]:
    """Best first: Pareto members first when multi-objective, then by proxy value."""
    return sorted(rows, key=lambda r: (not r.pareto, -r.value))[:k]


def top_csv(rows: Sequence[Row], proxy_names: Sequence[str], devices: Sequence[str]) -> str:
    """One row per net; proxy scores are ``score.NAME`` so ``--proxy params`` clashes with
    no cost column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["rank", "canonical", "value", *(f"score.{n}" for n in proxy_names)]
        + ["macs", "params", "layers"]
        + [f"latency_ms@{d}" for d in devices]
        + ["pareto", "trial"]
    )
    for rank, row in enumerate(rows, 1):
        writer.writerow(
            [rank, row.arch, _fmt(row.value), *(_fmt(row.scores.get(n)) for n in proxy_names)]
            + [row.macs, row.params, row.layers]
            + [_fmt(row.latency_ms.get(d)) for d in devices]
            + [int(row.pareto), row.trial]
        )
    return buffer.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def bias_report(top: Sequence[Row], rows: Sequence[Row], layer_limit: int | None) -> dict[str, Any]:
    """Depth saturation of the top-k and how the proxy follows depth and width overall."""
    report: dict[str, Any] = {"top_k": len(top), "layer_limit": layer_limit}
    if layer_limit:
        report["top_k_at_layer_limit"] = sum(1 for r in top if r.layers >= layer_limit)
        report["top_k_within_10pct_of_limit"] = sum(1 for r in top if r.layers >= 0.9 * layer_limit)
    report["top_k_layers"] = sorted(r.layers for r in top)
    report["top_k_mean_width"] = _mean([r.mean_width for r in top])
    report["all_mean_width"] = _mean([r.mean_width for r in rows])
    report["top_k_mean_layers"] = _mean([float(r.layers) for r in top])
    report["all_mean_layers"] = _mean([float(r.layers) for r in rows])
    if len(rows) >= 5:
        values = [r.value for r in rows]
        report["spearman_value_vs_layers"] = _spearman(values, [r.layers for r in rows])
        report["spearman_value_vs_width"] = _spearman(values, [r.mean_width for r in rows])
    report["note"] = (
        "positive value-vs-layers with negative value-vs-width correlation means the proxy "
        "favours thin, deep nets (ZiCo's known bias; zico-bc corrects it)"
    )
    return report


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None  # constant input: no correlation defined
    from scipy.stats import spearmanr

    return _safe(spearmanr(a, b))


def _safe(result: Any) -> float | None:
    value = float(result[0])
    return value if math.isfinite(value) else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def pareto_png(
    path: Path,
    rows: Sequence[Row],
    rejected: Sequence[tuple[int, dict[str, float]]],
    baselines: Sequence[Row],
    best: Row | None,
    budgets: Sequence[Any],
    devices: Sequence[str],
    title: str,
) -> None:
    """Proxy vs MACs (and vs latency per device): evaluated, rejected rug, front, baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("macs", "MACs (M)")] + [(f"lat:{d}", f"latency on {d} (ms)") for d in devices]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels, strict=True):

        def x_of(row: Row, key: str = key) -> float | None:
            if key == "macs":
                return row.macs / 1e6
            return row.latency_ms.get(key[4:])

        pts = [(x_of(r), r.value) for r in rows if x_of(r) is not None]
        if pts:
            ax.scatter(*zip(*pts, strict=True), s=12, alpha=0.6, label="evaluated (feasible)")
            front = _front(pts)
            ax.plot(*zip(*front, strict=True), color="tab:green", lw=1.5, label="Pareto front")
        values = [r.value for r in rows] or [0.0]
        floor = min(values) - 0.05 * (max(values) - min(values) + 1e-9)
        rej_x = [
            (m / 1e6 if key == "macs" else lat.get(key[4:]))
            for m, lat in rejected
            if key == "macs" or key[4:] in lat
        ]
        if rej_x:
            ax.scatter(rej_x, [floor] * len(rej_x), marker="|", color="tab:red", alpha=0.5,
                       label=f"rejected over budget ({len(rej_x)}, not scored)")  # fmt: skip
        for base in baselines:
            x = x_of(base)
            if x is not None:
                ax.scatter([x], [base.value], marker="D", s=50, color="tab:orange", zorder=5)
                ax.annotate(base.name or "baseline", (x, base.value), fontsize=8,
                            xytext=(4, 4), textcoords="offset points")  # fmt: skip
        if best is not None and x_of(best) is not None:
            ax.scatter([x_of(best)], [best.value], marker="*", s=200, color="gold",
                       edgecolor="black", zorder=6, label="best")  # fmt: skip
        for budget in budgets:
            if (budget.kind == "macs" and key == "macs") or (
                budget.kind == "latency" and key == f"lat:{budget.device}"
            ):
                limit = budget.limit / 1e6 if budget.kind == "macs" else budget.limit
                ax.axvline(limit, color="gray", ls="--", lw=1, label=f"budget {budget.text}")
        ax.set_xlabel(label)
        ax.set_ylabel("proxy score (higher is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def _front(points: Sequence[tuple[float | None, float]]) -> list[tuple[float, float]]:
    """Upper-left staircase: the best score reachable at each cost (cost ↓, score ↑)."""
    front: list[tuple[float, float]] = []
    best = -math.inf
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):  # type: ignore[arg-type, return-value]
        if y > best:
            front.append((float(x), y))  # type: ignore[arg-type]
            best = y
    return front


def write_json(path: Path, payload: Any) -> None:
    import json

    from nascli.formatting import jsonable

    write_text_atomic(path, json.dumps(jsonable(payload), indent=2) + "\n")


def write_csv(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def render_table(summary: dict[str, Any], top: Sequence[Row], baselines: Sequence[Row]) -> Any:
    """The terminal summary: the top-k beside the baselines, with cost and latency."""
    from rich.table import Table

    trials = summary["trials"]
    title = (
        f"nascli search · {summary['space']} · {summary['proxy']['name']} · "
        f"{', '.join(b['text'] for b in summary['budgets'])} · "
        f"{trials['done']} evaluated, {trials['rejected']} rejected, {trials['failed']} failed"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("architecture", overflow="fold", max_width=60)
    table.add_column("score", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("params", justify="right")
    table.add_column("layers", justify="right")
    devices = summary.get("latency_devices", [])
    for device in devices:
        table.add_column(f"ms@{device}", justify="right")
    for rank, row in enumerate(top, 1):
        table.add_row(*_cells(str(rank), row, devices))
    for base in baselines:
        table.add_row(*_cells("base", row=base, devices=devices, label=base.name), style="yellow")
    return table


def _cells(rank: str, row: Row, devices: Sequence[str], label: str | None = None) -> list[str]:
    from rich.markup import escape

    from nascli.formatting import human_count, score_text

    text = escape(f"{label}: {row.arch}" if label else row.arch)
    cells = [rank, text, score_text(row.value), human_count(row.macs), human_count(row.params)]
    cells.append(str(row.layers))
    cells += [f"{row.latency_ms[d]:.2f}" if d in row.latency_ms else "–" for d in devices]
    return cells
