"""Every proxy on a device against the CPU, and ZiCo's cost per network on both.

``compare``: each registered proxy scores the same networks (NB201 cells at 32 px and the
released ZiCo-450M net at 64 px, Gaussian batches, seed 0; VKDNW, one backward pass per
class, on the cells only) through ``nascli``'s own
scorer (``nascli.proxies.runner.prepare``, the path of ``score``, ``proxies bench`` and
``search``) on ``--device`` and on the CPU. TF32 is switched off for the comparison, so
the two differ only by float32/float64 rounding of other kernels and summation orders.
A value agrees when ``|a − b| ≤ rtol · max(|a|, |b|) + atol`` (default rtol 1e-3,
atol 1e-6); a network both devices fail on agrees when the error is the same.

``time``: ZiCo on the ZiCo-450M net (``configs/archs/zico-450m.yaml``) at ``--resolution``
× ``--batch-size`` (2 batches), build included, minimum of ``--repeats`` runs after one
warm-up, on ``--device`` (synchronised) and on the CPU in the same run.

    python benchmarks/proxy_devices.py compare --device cuda --out DIR
    python benchmarks/proxy_devices.py time --device cuda --resolution 224 --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NB201_CELLS = ("nb201:13714", "nb201:0", "nb201:6111")
MACRO_NET = str(ROOT / "configs" / "archs" / "zico-450m.yaml")


def no_tf32() -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def score_all(
    device: str, names: list[str], archs: list[str], resolution: int | None, batch_size: int
) -> dict[str, dict[str, Any]]:
    """``{arch: {proxy: outcome dict}}`` on ``device``."""
    from nascli.proxies.runner import prepare
    from nascli.spaces import resolve_arch

    out: dict[str, dict[str, Any]] = {}
    resolved = [resolve_arch(a) for a in archs]
    scorer = prepare(
        names, space_name=resolved[0].space, batch_size=batch_size, batches=2,
        resolution=resolution, seed=0, device=device, warn=lambda _m: None,
    )  # fmt: skip
    for text, arch in zip(archs, resolved, strict=True):
        out[text] = {n: o.as_dict() for n, o in scorer.score(arch).items()}
    return out


def agree(a: dict[str, Any], b: dict[str, Any], rtol: float, atol: float) -> tuple[bool, float]:
    """(within tolerance, relative difference) of two outcomes."""
    if a["score"] is None or b["score"] is None:
        same = a["score"] is None and b["score"] is None and a["error"] == b["error"]
        return same, 0.0 if same else math.inf
    x, y = float(a["score"]), float(b["score"])
    scale = max(abs(x), abs(y))
    rel = abs(x - y) / scale if scale else 0.0
    return abs(x - y) <= rtol * scale + atol, rel


def compare(args: argparse.Namespace) -> int:
    from nascli.proxies import list_proxies

    no_tf32()
    names = [n for n in list_proxies() if n not in args.skip]
    groups = [(list(NB201_CELLS[: args.cells]), 32, args.batch_size, names)]
    if not args.no_macro:
        macro_names = [n for n in names if n not in args.macro_skip]
        groups.append(([MACRO_NET], args.macro_resolution, args.macro_batch_size, macro_names))
    rows: list[dict[str, Any]] = []
    for archs, resolution, batch_size, group_names in groups:
        started = time.perf_counter()
        on_device = score_all(args.device, group_names, archs, resolution, batch_size)
        device_s = time.perf_counter() - started
        started = time.perf_counter()
        on_cpu = score_all("cpu", group_names, archs, resolution, batch_size)
        cpu_s = time.perf_counter() - started
        print(f"{', '.join(archs)} at {resolution} px × {batch_size}: {args.device} "
              f"{device_s:.1f} s, cpu {cpu_s:.1f} s (all proxies)")  # fmt: skip
        for arch in archs:
            for name in group_names:
                ok, rel = agree(on_device[arch][name], on_cpu[arch][name], args.rtol, args.atol)
                rows.append({
                    "arch": arch, "proxy": name, "device": on_device[arch][name],
                    "cpu": on_cpu[arch][name], "relative_difference": rel, "agrees": ok,
                })  # fmt: skip
    print(f"{'proxy':18} {'arch':28} {args.device:>14} {'cpu':>14} {'rel diff':>9}  ok")
    for r in rows:
        a, b = r["device"]["score"], r["cpu"]["score"]
        print(f"{r['proxy']:18} {Path(r['arch']).name[:28]:28} {_fmt(a):>14} {_fmt(b):>14} "
              f"{r['relative_difference']:9.2e}  {'yes' if r['agrees'] else 'NO'}")  # fmt: skip
    failed = [f"{r['proxy']}@{Path(r['arch']).name}" for r in rows if not r["agrees"]]
    result = {"device": args.device, "rtol": args.rtol, "atol": args.atol, "tf32": False,
              "rows": rows, "disagree": failed}  # fmt: skip
    _write(args.out, "proxy_devices.json", result)
    print(f"{len(rows) - len(failed)}/{len(rows)} agree within rtol {args.rtol}, atol {args.atol}"
          + (f"; disagree: {', '.join(failed)}" if failed else ""))  # fmt: skip
    return 1 if failed else 0


def _fmt(value: float | None) -> str:
    return "failed" if value is None else f"{value:.7g}"


def time_zico(device: str, resolution: int, batch_size: int, repeats: int) -> dict[str, Any]:
    """Seconds of one ZiCo evaluation (minimum over ``repeats`` after a warm-up)."""
    import torch

    from nascli.proxies.runner import prepare, run_proxy
    from nascli.spaces import resolve_arch

    arch = resolve_arch(MACRO_NET)
    scorer = prepare(
        ["zico"], space_name=arch.space, batch_size=batch_size, batches=2,
        resolution=resolution, seed=0, device=device, warn=lambda _m: None,
    )  # fmt: skip
    candidate = scorer.candidate(arch)
    proxy = scorer.proxies["zico"]
    cuda = torch.device(scorer.device).type == "cuda"
    times, value = [], None
    for i in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        outcome = run_proxy("zico", proxy, candidate, scorer.batches)
        if cuda:
            torch.cuda.synchronize()
        if i:  # the first run warms up kernels and allocators
            times.append(time.perf_counter() - started)
        value = outcome.score
    return {"device": scorer.device, "seconds": min(times), "all_seconds": times, "zico": value}


def timing(args: argparse.Namespace) -> int:
    results = [time_zico(args.device, args.resolution, args.batch_size, args.repeats)]
    if args.device != "cpu":
        results.append(time_zico("cpu", args.resolution, args.batch_size, args.cpu_repeats))
    for r in results:
        print(f"ZiCo, ZiCo-450M at {args.resolution} px × {args.batch_size} × 2 batches on "
              f"{r['device']}: {r['seconds']:.3f} s/net ({1 / r['seconds']:.2f} nets/s), "
              f"value {r['zico']:.6g}")  # fmt: skip
    if len(results) == 2:
        ratio = results[1]["seconds"] / results[0]["seconds"]
        print(f"speed-up {results[0]['device']} vs cpu: {ratio:.1f}×")
    _write(args.out, "zico_timing.json", {"resolution": args.resolution,
           "batch_size": args.batch_size, "results": results})  # fmt: skip
    return 0


def _write(folder: Path | None, name: str, data: dict[str, Any]) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(data, indent=1) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="every proxy on --device vs the CPU")
    cmp.add_argument("--device", default="cuda")
    cmp.add_argument("--cells", type=int, default=2, help="NB201 cells (at most 3)")
    cmp.add_argument("--batch-size", type=int, default=32, help="NB201 batch size")
    cmp.add_argument("--no-macro", action="store_true", help="skip the ZiCo-450M net")
    cmp.add_argument("--macro-resolution", type=int, default=64)
    cmp.add_argument("--macro-batch-size", type=int, default=8)
    cmp.add_argument("--skip", nargs="*", default=[], help="proxies left out")
    cmp.add_argument(
        "--macro-skip", nargs="*", default=["vkdnw"],
        help="proxies left out on the ImageNet net (VKDNW: one backward per class, 1000)",
    )  # fmt: skip
    cmp.add_argument("--rtol", type=float, default=1e-3)
    cmp.add_argument("--atol", type=float, default=1e-6)
    cmp.add_argument("--out", type=Path)
    tim = sub.add_parser("time", help="ZiCo seconds per network on --device and the CPU")
    tim.add_argument("--device", default="cuda")
    tim.add_argument("--resolution", type=int, default=224)
    tim.add_argument("--batch-size", type=int, default=64)
    tim.add_argument("--repeats", type=int, default=5)
    tim.add_argument("--cpu-repeats", type=int, default=1)
    tim.add_argument("--out", type=Path)
    args = parser.parse_args()
    return compare(args) if args.command == "compare" else timing(args)


if __name__ == "__main__":
    raise SystemExit(main())
