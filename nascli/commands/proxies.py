"""``nascli score``, ``nascli proxies list`` and ``nascli proxies bench``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nascli.commands.common import (
    JSON_OPTION,
    emit_json,
    handle_errors,
    human_count,
    stderr_console,
    stdout_console,
)
from nascli.config import check_seed
from nascli.errors import ConfigError

app = typer.Typer(
    help="Zero-shot proxies: list them, benchmark them against ground truth.",
    no_args_is_help=True,
)

ARCH_HELP = "A YAML file, nb201:INDEX, an NB201 string |op~0|+..., or 'space:canonical'."
PROXY_HELP = (
    "Proxies, comma-separated; join names with '+' for a rank-aggregation ensemble "
    "(e.g. zico,naswot+synflow)."
)
DATA_HELP = (
    "cifar10 | cifar100 | svhn[:test] (official archive in the user data folder, fetched when "
    "reachable) | imagenet:PATH | folder:PATH | an .npz (x: N,H,W,3 uint8; y: labels) "
    "(default: Gaussian)."
)
OPTION_HELP = "A proxy option NAME.KEY=VALUE, e.g. zico-bc.beta=0.5 (repeatable)."
DEVICE_HELP = (
    "Torch device the proxies run on: auto (a CUDA GPU when torch sees one), cpu, cuda, "
    "cuda:N, mps."
)
ProxyDeviceOption = Annotated[str, typer.Option("--proxy-device", help=DEVICE_HELP)]


def parse_options(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["zico-bc.beta=0.5"]`` → ``{"zico-bc": {"beta": 0.5}}`` (values read as YAML scalars)."""
    from nascli.yamlio import load_yaml_text

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs or []:
        head, sep, value = pair.partition("=")
        name, dot, key = head.partition(".")
        if not sep or not dot or not name.strip() or not key.strip():
            raise ConfigError(f"--option {pair!r}: expected NAME.KEY=VALUE")
        out.setdefault(name.strip().lower(), {})[key.strip().replace("-", "_")] = load_yaml_text(
            value, f"--option {pair}"
        )
    return out


def _check_common(batch_size: int, batches: int, resolution: int | None) -> None:
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    if batches < 1:
        raise ConfigError(f"--batches must be at least 1, got {batches}")
    if resolution is not None and resolution < 8:
        raise ConfigError(f"--resolution must be at least 8, got {resolution}")


AUGMENT_HELP = (
    "Training-style views of real images in every batch (random-resized crop + flip; pad-4 "
    "crop + flip for 32-px images), as the proxies' authors draw batches. Default: on for "
    "proxies that take gradients of a loss (ZiCo, SNIP, GraSP, Fisher, GradNorm), off otherwise."
)
AugmentOption = Annotated[
    bool | None, typer.Option("--augment/--no-augment", help=AUGMENT_HELP, show_default=False)
]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def score_command(
    arch: Annotated[str, typer.Argument(help=ARCH_HELP)],
    proxy: Annotated[str, typer.Option("--proxy", "-p", help=PROXY_HELP)] = "zico",
    data: Annotated[str | None, typer.Option("--data", help=DATA_HELP)] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    batches: Annotated[int, typer.Option("--batches", help="Number of batches (ZiCo uses 2).")] = 2,
    resolution: Annotated[
        int | None,
        typer.Option("--resolution", help="Proxy-time input resolution (default: the space's)."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of weights, noise and batch sampling.")
    ] = 0,
    space: Annotated[str | None, typer.Option(help="Space of a bare architecture string.")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help=OPTION_HELP)] = None,
    augment: AugmentOption = None,
    proxy_device: ProxyDeviceOption = "auto",
    json_out: bool = JSON_OPTION,
) -> None:
    """Zero-shot scores of one architecture, the seconds each took, and its cost.

    An ensemble (a+b) ranks a population, so on one architecture it shows its components.
    """
    from nascli.proxies.ensemble import component_names, parse_proxy_list
    from nascli.proxies.runner import score_arch
    from nascli.spaces import resolve_arch

    _check_common(batch_size, batches, resolution)
    check_seed(seed)
    items = parse_proxy_list(proxy)
    the_arch = resolve_arch(arch, space)
    result = score_arch(
        the_arch, component_names(items), data=data, batch_size=batch_size, batches=batches,
        resolution=resolution, seed=seed, options=parse_options(option), augment=augment,
        device=proxy_device,
    )  # fmt: skip
    ensembles = [i.name for i in items if i.is_ensemble]
    payload = {
        "space": the_arch.space,
        "canonical": the_arch.canonical,
        "resolution": result.resolution,
        "cost": result.cost,
        "data": result.data,
        "batch_size": batch_size,
        "batches": batches,
        "seed": seed,
        "device": result.device,
        "scores": {n: o.as_dict() for n, o in result.outcomes.items()},
        "ensembles": ensembles,
    }
    if json_out:
        emit_json(payload)
        return
    info = Table(title="Architecture", show_header=False)
    info.add_column("field", style="bold")
    info.add_column("value", overflow="fold")
    info.add_row("space", the_arch.space)
    info.add_row("canonical", the_arch.canonical)
    info.add_row("resolution", str(result.resolution))
    info.add_row("MACs (FLOPs)", human_count(result.cost["macs"]))
    info.add_row("params", human_count(result.cost["params"]))
    info.add_row("layers", str(result.cost["layers"]))
    info.add_row("data", f"{result.data}; {batches} × {batch_size}, seed {seed}")
    info.add_row("device", result.device)
    stdout_console.print(info)
    table = Table(title="Zero-shot scores (higher is better)")
    for column, justify in (("proxy", "left"), ("score", "right"), ("seconds", "right"),
                            ("status", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, outcome in result.outcomes.items():
        table.add_row(
            name,
            "—" if outcome.score is None else f"{outcome.score:.6g}",
            f"{outcome.seconds:.3f}",
            "ok" if outcome.ok else f"[red]failed[/red]: {outcome.error}",
        )
    stdout_console.print(table)
    for name in ensembles:
        stderr_console.print(
            f"note: ensemble {name} ranks a population; on one architecture only its "
            "components are scored (use `nascli proxies bench` or a search)."
        )


score_command = handle_errors(score_command)


@app.command("list")
@handle_errors
def list_command(json_out: bool = JSON_OPTION) -> None:
    """Every proxy: whether it needs real data or labels, and its cost."""
    from nascli.proxies import list_proxies, proxy_info
    from nascli.proxies.ensemble import NAMED_ENSEMBLES

    rows = [proxy_info(name) for name in list_proxies()]
    named = {
        name: {"components": list(e.components), "description": e.description}
        for name, e in NAMED_ENSEMBLES.items()
    }
    if json_out:
        emit_json(
            {
                "proxies": rows,
                "ensemble": "join names with '+': a+b+c (AZ-NAS rank sum)",
                "named_ensembles": named,
            }
        )
        return
    table = Table(title="Zero-shot proxies (higher is better)")
    for column in ("name", "needs data", "needs labels", "cost", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["name"]),
            "yes" if row["needs_data"] else "no",
            "yes" if row["needs_labels"] else "no",
            str(row["cost"]),
            str(row.get("description", "")),
        )
    table.add_row(
        "a+b+…", "(components')", "(components')", "sum of components",
        "ensemble: Σ log(rank/N) over the population (AZ-NAS), no fitting",
    )  # fmt: skip
    for name, entry in named.items():
        table.add_row(
            name, "(components')", "(components')", "+".join(entry["components"]),
            f"named ensemble: {entry['description']}",
        )  # fmt: skip
    stdout_console.print(table)


def _parse_sample(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--sample must be a number or 'all', got {text!r}") from None


@app.command("bench")
@handle_errors
def bench_command(
    ground_truth: Annotated[
        Path,
        typer.Option(
            "--ground-truth",
            help="CSV: an arch column (arch_str or arch, e.g. NAS-Bench-Macro's 8-digit code; "
            "or index for an indexed space such as nb201) + target columns.",
        ),
    ],
    target: Annotated[str, typer.Option("--target", help="Target column, e.g. test_acc_cifar10.")],
    proxy: Annotated[str, typer.Option("--proxy", "-p", help=PROXY_HELP)],
    space: Annotated[
        str, typer.Option("--space", help="Space of the ground-truth archs.")
    ] = "nb201",
    data: Annotated[str | None, typer.Option("--data", help=DATA_HELP)] = None,
    sample: Annotated[
        str, typer.Option("--sample", help="How many rows to sample, or 'all'.")
    ] = "1000",
    all_rows: Annotated[
        bool,
        typer.Option(
            "--all-rows",
            help="Keep rows marked is_canonical = 0 too (by default a CSV with an is_canonical "
            "column, such as NAS-Bench-Macro's, is read as its canonical rows only).",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the sample, weights and batches.")
    ] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per batch.")] = 64,
    batches: Annotated[int, typer.Option("--batches", help="Number of batches.")] = 2,
    resolution: Annotated[
        int | None,
        typer.Option("--resolution", help="Proxy-time input resolution (default: the space's)."),
    ] = None,
    cache_dir: Annotated[
        Path, typer.Option("--cache-dir", help="Directory of the score cache (SQLite).")
    ] = Path(".nascli-cache"),
    published: Annotated[
        Path | None,
        typer.Option(
            "--published",
            help="Published correlations CSV (proxy, dataset, kendall_tau, spearman_rho, "
            "source) to show beside the measured values.",
        ),
    ] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help=OPTION_HELP)] = None,
    augment: AugmentOption = None,
    top_k: Annotated[
        str,
        typer.Option(
            "--top-k",
            help="Top-end sizes, comma-separated counts or percentages of the sample: the "
            "mean target of each proxy's k best-scored archs is reported.",
        ),
    ] = "10,50,1%",
    bootstrap: Annotated[
        int,
        typer.Option("--bootstrap", help="Bootstrap draws for the top-end intervals (seeded)."),
    ] = 1000,
    proxy_device: ProxyDeviceOption = "auto",
    json_out: bool = JSON_OPTION,
) -> None:
    """Kendall τ / Spearman ρ of proxies (and ensembles) against a ground-truth column.

    Next to them, the top end a search would get: the mean target of each proxy's top k
    and the target of its argmax, with a seeded 95 % bootstrap interval.

    Scores are cached per (proxy + settings, architecture): a rerun with one more proxy
    computes only that one. Architectures a proxy fails on are counted, never fatal.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from nascli.bench import load_ground_truth, load_published, run_bench
    from nascli.proxies.ensemble import parse_proxy_list

    _check_common(batch_size, batches, resolution)
    ks = _parse_top_k(top_k)
    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be at least 0, got {bootstrap}")
    from nascli.proxies.device import resolve_device

    resolve_device(proxy_device)  # also when every score is cached
    check_seed(seed)
    items = parse_proxy_list(proxy)
    if published is not None and not published.is_file():
        raise ConfigError(f"no such published-correlations file: {published}")
    truth = load_ground_truth(
        ground_truth, space=space, target=target, sample=_parse_sample(sample), seed=seed,
        canonical_only=False if all_rows else None,
    )  # fmt: skip
    published_values = load_published(published, target)
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=stderr_console,
        disable=json_out or not stderr_console.is_terminal,
    )  # fmt: skip
    with progress:
        task = progress.add_task("scoring", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_bench(
            truth, items, space=space, cache_dir=cache_dir, data=data, batch_size=batch_size,
            batches=batches, resolution=resolution, seed=seed, options=parse_options(option),
            published=published_values, progress=advance, augment=augment,
            device=proxy_device,
        )  # fmt: skip
    from nascli.top_end import population_reference, top_end

    ends = {
        row.name: top_end(row.scores, truth.targets, ks=ks, draws=bootstrap, seed=seed)
        for row in result.rows
    }
    reference = population_reference(truth.targets, ks)
    if json_out:
        payload = result.as_dict()
        for entry in payload["results"]:
            entry["top_end"] = ends[entry["proxy"]].as_dict()
        payload["top_end_perfect_ranking"] = reference
        emit_json(payload)
        return
    table = Table(
        title=f"{space}: proxies vs {target} ({result.n_archs} archs, data: {result.data})"
    )
    for column in ("proxy", "Kendall τ", "Spearman ρ", "ρ failed=worst", "published τ / ρ",
                   "s/arch", "ok", "failed", "computed"):  # fmt: skip
        table.add_column(column, justify="left" if column == "proxy" else "right")
    for row in result.rows:
        pub = (
            f"{_fmt(row.published.kendall, 2)} / {_fmt(row.published.spearman, 2)}"
            if row.published
            else "—"
        )
        table.add_row(
            row.name, _fmt(row.kendall), _fmt(row.spearman), _fmt(row.spearman_worst), pub,
            _fmt(row.seconds_per_arch, 4), str(row.n_ok),
            f"[red]{row.n_failed}[/red]" if row.n_failed else "0", str(row.computed),
        )  # fmt: skip
    stdout_console.print(table)
    stdout_console.print(_top_end_table(ends, reference, target, bootstrap))
    for row in result.rows:
        for error in row.errors[:3]:
            stderr_console.print(f"{row.name}: failed arch example: {error}", markup=False)
    sources = sorted({r.published.source for r in result.rows if r.published})
    for source in sources:
        stdout_console.print(f"published: {source}", markup=False)
    stdout_console.print(f"cache: {result.cache_file}", markup=False)


def _parse_top_k(text: str) -> list[int | str]:
    """``"10,50,1%"`` → [10, 50, "1%"]; a bad size is one line, exit 2."""
    from nascli.top_end import resolve_k

    sizes: list[int | str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            size: int | str = part if part.endswith("%") else int(part)
            resolve_k(size, 100)
        except ValueError as exc:
            raise ConfigError(f"--top-k {text!r}: {exc}") from None
        sizes.append(size)
    if not sizes:
        raise ConfigError("--top-k: give at least one size, e.g. 10,50,1%")
    return sizes


def _top_end_table(ends: dict, reference: dict, target: str, draws: int) -> Table:
    """Mean target of each proxy's top k and of its argmax, [2.5, 97.5] bootstrap percentiles."""
    labels = list(next(iter(ends.values())).top_k)
    table = Table(
        title=f"top end: mean {target} of each proxy's best-scored archs "
        f"(95 % bootstrap interval, {draws} draws)"
    )
    table.add_column("proxy")
    for label in [*labels, "argmax"]:
        table.add_column(label, justify="right")

    def cell(value) -> str:
        return f"{value.value:.2f} [{value.low:.2f}, {value.high:.2f}]"

    for name, end in ends.items():
        table.add_row(name, *(cell(end.top_k[label]) for label in labels), cell(end.argmax))
    table.add_row(
        "[dim]perfect ranking[/dim]",
        *(f"{reference[label]:.2f}" for label in labels),
        f"{reference['argmax']:.2f}",
    )
    return table
