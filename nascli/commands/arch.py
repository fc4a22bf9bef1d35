"""``nascli arch info|sample`` and ``nascli export``."""

from __future__ import annotations

import random
from pathlib import Path

import typer
from rich.table import Table

from nascli.commands.common import (
    JSON_OPTION,
    emit_json,
    handle_errors,
    human_count,
    stdout_console,
)
from nascli.errors import ConfigError

app = typer.Typer(
    help="Architectures: named nets, cost and structure, random samples.", no_args_is_help=True
)

ARCH_HELP = "A YAML file, nb201:INDEX, an NB201 string |op~0|+..., or 'space:canonical'."


def arch_info(ref: str, space: str | None, resolution: int | None) -> dict[str, object]:
    """The facts ``arch info`` prints, as a dict (also used by other commands)."""
    from nascli.spaces import Indexed, get_space, resolve_arch

    if resolution is not None and resolution < 8:
        raise ConfigError(f"--resolution must be at least 8, got {resolution}")
    arch = resolve_arch(ref, space)
    the_space = get_space(arch.space)
    cost = the_space.cost(arch, resolution=resolution)
    info: dict[str, object] = {
        "space": arch.space,
        "canonical": arch.canonical,
        "resolution": resolution or the_space.resolution,
        **cost.as_dict(),
    }
    if isinstance(the_space, Indexed):
        info["index"] = the_space.index(arch)
    return info


@app.command("info")
@handle_errors
def info_command(
    arch: str = typer.Argument(..., help=ARCH_HELP),
    space: str | None = typer.Option(None, help="Space of a bare architecture string."),
    resolution: int | None = typer.Option(None, help="Input resolution (default: the space's)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Cost of an architecture: MACs ("FLOPs" in the mobile-NAS sense), params, layers, memory."""
    info = arch_info(arch, space, resolution)
    if json_out:
        emit_json(info)
        return
    table = Table(title="Architecture", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("space", str(info["space"]))
    table.add_row("canonical", str(info["canonical"]))
    table.add_row("resolution", str(info["resolution"]))
    table.add_row("MACs (FLOPs)", human_count(int(info["macs"])))  # type: ignore[arg-type]
    table.add_row("params", human_count(int(info["params"])))  # type: ignore[arg-type]
    table.add_row("layers", str(info["layers"]))
    peak = int(info["peak_activation_bytes"])  # type: ignore[arg-type]
    table.add_row("peak activation", f"{peak / 2**20:.2f} MiB")
    stdout_console.print(table)


@app.command("list")
@handle_errors
def list_command(json_out: bool = JSON_OPTION) -> None:
    """Named nets (shipped, user folder, working directory): space, MACs, params, origin."""
    from nascli.paths import config_files, config_origin
    from nascli.spaces import get_space, resolve_arch

    rows = []
    for name, path in config_files("archs").items():
        arch = resolve_arch(str(path))
        cost = get_space(arch.space).cost(arch)
        rows.append(
            {"name": name, "space": arch.space, "macs": cost.macs, "params": cost.params,
             "layers": cost.layers, "origin": config_origin(path), "path": str(path)}
        )  # fmt: skip
    if json_out:
        emit_json({"archs": rows})
        return
    table = Table(title="Named architectures (use the name wherever an ARCH is asked)")
    for column in ("name", "space", "MACs", "params", "layers", "origin"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], row["space"], human_count(row["macs"]), human_count(row["params"]),
            str(row["layers"]), row["origin"],
        )  # fmt: skip
    stdout_console.print(table)


@app.command("sample")
@handle_errors
def sample_command(
    space: str = typer.Option("mobilenet-imagenet", help="Space to sample from."),
    seed: int = typer.Option(0, help="Random seed."),
    n: int = typer.Option(1, "-n", "--count", help="How many architectures."),
    out: Path | None = typer.Option(None, help="Directory for YAML files (default: stdout)."),
) -> None:
    """Random architectures of a space, as YAML."""
    from nascli.atomic import write_text_atomic
    from nascli.config import check_seed

    check_seed(seed)
    from nascli.spaces import arch_to_yaml, get_space

    if n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    the_space = get_space(space)
    rng = random.Random(seed)
    archs = [the_space.sample(rng) for _ in range(n)]
    if out is None:
        stdout_console.out("---\n".join(arch_to_yaml(a) for a in archs), end="")
        return
    for index, arch in enumerate(archs):
        write_text_atomic(out / f"{the_space.name}-{seed}-{index:04d}.yaml", arch_to_yaml(arch))
    stdout_console.print(f"wrote {n} architecture(s) to {out}")


def export_command(
    arch: str = typer.Argument(..., help=ARCH_HELP),
    onnx: Path = typer.Option(..., "--onnx", help="Output ONNX file."),
    space: str | None = typer.Option(None, help="Space of a bare architecture string."),
    resolution: int | None = typer.Option(None, help="Input resolution (default: the space's)."),
    batch_size: int = typer.Option(1, help="Batch size baked into the graph."),
    dynamic_batch: bool = typer.Option(
        False, "--dynamic-batch", help="Symbolic batch dimension (any batch size at run time)."
    ),
    device: str | None = typer.Option(
        None, help="qnn-npu: also write the int8 QDQ model and the QNN HTP EPContext model."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Export an architecture to ONNX (checked with onnx.checker and an ORT CPU run)."""
    from nascli.export import export_onnx
    from nascli.spaces import resolve_arch

    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    if resolution is not None and resolution < 8:
        raise ConfigError(f"--resolution must be at least 8, got {resolution}")
    htp_arch = _qnn_export_arch(device, dynamic_batch) if device is not None else None
    result = export_onnx(
        resolve_arch(arch, space),
        onnx,
        resolution=resolution,
        batch_size=batch_size,
        dynamic_batch=dynamic_batch,
    )
    payload = {
        "onnx": str(result.path),
        "opset": result.opset,
        "max_abs_diff": result.max_abs_diff,
        "max_rel_diff": result.max_rel_diff,
    }
    if htp_arch is not None:
        from nascli.latency.qnn_deploy import export_qnn_context

        context = export_qnn_context(result.path, htp_arch)
        payload.update(
            {"qdq_onnx": str(context.qdq), "qnn_context_onnx": str(context.context),
             "htp_arch": context.htp_arch, "epcontext_nodes": context.nodes}
        )  # fmt: skip
    if json_out:
        emit_json(payload)
    else:
        stdout_console.print(
            f"wrote {result.path} (opset {result.opset}); ORT vs torch max relative "
            f"difference {result.max_rel_diff:.2e}"
        )
        if htp_arch is not None:
            stdout_console.print(
                f"wrote {payload['qdq_onnx']} (int8 QDQ) and {payload['qnn_context_onnx']} "
                f"(QNN HTP context, htp_arch {htp_arch}; loaded back with CPU fallback off)"
            )


def _qnn_export_arch(device: str, dynamic_batch: bool) -> int:
    """The htp_arch to compile for; --device must name a QNN profile."""
    from nascli.latency.devices import load_device
    from nascli.latency.qnn import QNN_EP
    from nascli.latency.qnn_deploy import DEFAULT_HTP_ARCH

    profile = load_device(device)
    if profile.primary_provider != QNN_EP:
        raise ConfigError(
            f"--device {device}: export writes a context model for QNN devices only (e.g. qnn-npu)"
        )
    if dynamic_batch:
        raise ConfigError("--device qnn-npu needs a fixed batch size (no --dynamic-batch)")
    try:
        return int(profile.providers[0].options.get("htp_arch", DEFAULT_HTP_ARCH))
    except (TypeError, ValueError):
        raise ConfigError(f"device {device}: htp_arch must be an integer") from None


export_command = handle_errors(export_command)
