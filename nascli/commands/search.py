"""``nascli search``: find the best architecture within budgets, resumable, multi-worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nascli import config as defaults
from nascli.commands import complete
from nascli.commands.common import JSON_OPTION, emit_json, handle_errors, stderr_console

HELP = f"""Search a space for the architecture a zero-shot proxy rates best within budgets.

Budgets are hard: --budget 450MFLOPs (FLOPs = multiply-accumulates, MACs, at the space's
resolution), 0.45GFLOPs, 5MParams, 20Layers, 8ms@DEVICE (latency from the device's table).
Defaults: {defaults.DEFAULT_SPACE} with the space's recommended proxy, at
{defaults.LOW_COST_RESOLUTION} px x batch {defaults.LOW_COST_BATCH_SIZE} x \
{defaults.LOW_COST_BATCHES} batches (Gaussian noise unless --data),
{defaults.DEFAULT_ITERATIONS} evaluations, seed {defaults.DEFAULT_SEED}.
The study lives in OUT/study.db; rerun the same command to resume. Watch it live with
`optuna-dashboard sqlite:///OUT/study.db`."""
# Options of the command itself; every other parameter is a SearchConfig field (or alias).
COMMAND_ONLY = ("config", "force", "quiet", "json_out")


BUDGET_OPTION = typer.Option(
    None, "--budget", "-b", help="Hard budget, repeatable: 450MFLOPs, 5MParams, 20Layers, 8ms@cpu."
)
OUT_OPTION = typer.Option(None, "--out", "-o", help="Run directory (default runs/<...>).")
BASELINE_OPTION = typer.Option(
    None, "--baseline", help="Known net scored alongside (repeatable; default configs/archs)."
)
CONFIG_OPTION = typer.Option(None, "--config", help="YAML run config (CLI overrides it).")


@handle_errors
def search_command(
    budget: list[str] | None = BUDGET_OPTION,
    space: str | None = typer.Option(
        None,
        help=f"Search space (default {defaults.DEFAULT_SPACE}).",
        autocompletion=complete.spaces,
    ),
    proxy: str | None = typer.Option(
        None,
        help="Proxy, or an ensemble a+b (default: the space's recommended proxy, "
        f"else {defaults.DEFAULT_PROXY}).",
        autocompletion=complete.proxies,
    ),
    algo: str | None = typer.Option(
        None,
        help="auto (default: surrogate for ZiCo on a macro space, else evolution) | surrogate "
        "| evolution | cascade | tpe | nsga2 | random.",
        autocompletion=complete.algorithms,
    ),
    iterations: int | None = typer.Option(
        None, help=f"Proxy evaluations, all workers ({defaults.DEFAULT_ITERATIONS})."
    ),
    time_limit: str | None = typer.Option(None, "--time-limit", help="Stop after e.g. 10m."),
    population: int | None = typer.Option(
        None, help=f"Evolution: best E kept; NSGA-II size ({defaults.DEFAULT_POPULATION})."
    ),
    seed: int | None = typer.Option(None, help=f"Random seed ({defaults.DEFAULT_SEED})."),
    data: str | None = typer.Option(
        None, help="Proxy data: cifar10 | cifar100 | svhn | imagenet:PATH | folder:PATH | FILE.npz."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help=f"Proxy batch size ({defaults.LOW_COST_BATCH_SIZE})."
    ),
    batches: int | None = typer.Option(None, help=f"Proxy batches ({defaults.LOW_COST_BATCHES})."),
    resolution: int | None = typer.Option(
        None, help=f"Proxy resolution (min(space, {defaults.LOW_COST_RESOLUTION}))."
    ),
    table: str | None = typer.Option(None, help="Latency table for the latency budget."),
    out: Path | None = OUT_OPTION,
    storage: str | None = typer.Option(None, help="Optuna storage URL (e.g. postgresql://...)."),
    study_name: str | None = typer.Option(None, "--study-name", help="Study name."),
    workers: int | None = typer.Option(None, help="Worker processes on this machine."),
    threads: int | None = typer.Option(
        None, help="Torch threads per worker (cores / workers); 1 on a busy machine."
    ),
    objectives: str | None = typer.Option(
        None, help="Multi-objective, e.g. zico,latency@cpu (proxy first)."
    ),
    baseline: list[str] | None = BASELINE_OPTION,
    top_k: int | None = typer.Option(
        None, "--top-k", help=f"Rows of top.csv ({defaults.DEFAULT_TOP_K})."
    ),
    export_onnx: bool | None = typer.Option(
        None, "--onnx/--no-onnx", help="Export best.onnx (default on).", show_default=False
    ),
    augment: bool | None = typer.Option(
        None,
        "--augment/--no-augment",
        help="Training views of --data images in each batch (default: on for gradient proxies).",
        show_default=False,
    ),
    calibrate: int | None = typer.Option(
        None, "--calibrate", help="Re-anchor the latency table on N nets timed here first."
    ),
    proxy_device: str | None = typer.Option(
        None,
        "--proxy-device",
        help="Torch device of the proxies: auto (default: a CUDA GPU when torch sees one; "
        "with --workers N and several GPUs, one each), cpu, cuda, cuda:N, mps.",
    ),
    screen: str | None = typer.Option(
        None,
        help=f"Cascade: cheap proxy that orders the screened nets ({defaults.DEFAULT_SCREEN}).",
    ),
    screen_size: int | None = typer.Option(
        None,
        "--screen-size",
        help=f"Cascade: nets within budget screened ({defaults.DEFAULT_SCREEN_SIZE}).",
    ),
    finalists: int | None = typer.Option(
        None, help=f"Cascade: screen's best the proxy scores first ({defaults.DEFAULT_FINALISTS})."
    ),
    config: Path | None = CONFIG_OPTION,
    force: bool = typer.Option(False, "--force", help="Reuse a run dir of another search."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress and no notes on stderr (errors only)."
    ),
    json_out: bool = JSON_OPTION,
    *,
    ctx: typer.Context,
) -> None:
    from nascli.commands.progress import search_progress
    from nascli.config import cli_overrides, load_run_config, resolve_config
    from nascli.report import render_table
    from nascli.search.run import run_search

    yaml_options = load_run_config(config) if config is not None else {}
    given = {k: v for k, v in ctx.params.items() if k not in COMMAND_ONLY}
    cli_options = cli_overrides(given)
    run_config = resolve_config(yaml_options, cli_options)
    result = run_search(run_config, force=force, progress=search_progress(quiet))
    if json_out:
        emit_json(result.summary)
        _raise_failed_steps(result)
        return
    from nascli.commands.common import stdout_console

    stdout_console.print(render_table(result.summary, result.top, result.baselines))
    if quiet:
        stdout_console.print(f"run dir: {result.run_dir}")
        _raise_failed_steps(result)
        return
    bias = result.summary["bias"]
    if bias.get("layer_limit"):
        stderr_console.print(
            f"bias: {bias.get('top_k_at_layer_limit', 0)}/{bias['top_k']} of the top-k at the "
            f"{bias['layer_limit']}-layer limit; score~layers "
            f"ρ={bias.get('spearman_value_vs_layers')}, "
            f"score~width ρ={bias.get('spearman_value_vs_width')}"
        )
    for note in result.summary["notes"]:
        stderr_console.print(f"note: {note}")
    stdout_console.print(f"run dir: {result.run_dir}")
    _raise_failed_steps(result)


def _raise_failed_steps(result: Any) -> None:
    """Exit 1 naming the output steps that failed (everything else was written)."""
    failed = result.summary.get("failed_steps") or {}
    if failed:
        from nascli.errors import JobError

        step, message = next(iter(failed.items()))
        raise JobError(
            f"{', '.join(failed)} failed ({step}: {message}); the search and its other "
            f"outputs are in {result.run_dir}"
        )
