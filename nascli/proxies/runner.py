"""Run proxies on architectures: load the batches once, time each proxy, never crash.

A proxy that raises (a singular matrix, out of memory, a shape it cannot handle) or
returns NaN/inf fails *for that architecture*: the failure is reported as an outcome with
its message, and the other proxies and architectures go on. Only bad input, which is the
user's to fix (an unknown proxy, a proxy that needs labels given unlabelled data), raises
``ConfigError`` up front, before any network is built.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.arch import Arch
from nascli.data import BatchSet, load_data
from nascli.errors import ConfigError, NascliError
from nascli.proxies.base import Candidate, Proxy, evaluate

Warn = Callable[[str], None]


def _stderr_warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class ProxyOutcome:
    """One proxy on one architecture: a finite score, or the reason it failed.

    ``terms`` are the per-layer terms of the evaluation when the proxy returned them
    (``nascli.proxies.base.ProxyResult``); they are not part of ``as_dict``.
    """

    name: str
    score: float | None
    seconds: float
    error: str | None = None
    terms: tuple[float | None, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "seconds": self.seconds, "error": self.error}


def make_proxies(
    names: Sequence[str],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    factory: Callable[..., Proxy] | None = None,
    batches: int | None = None,
) -> dict[str, Proxy]:
    """Instantiate proxies by name (``options[name]`` are passed to ``get_proxy``).

    A registered proxy with a ``batches`` option (ZiCo, ZiCo-BC) uses every batch given
    by ``--batches`` unless its own option says otherwise.
    """
    options = options or {}
    unknown_options = set(options) - set(names)
    if unknown_options:
        raise ConfigError(
            f"options given for proxies not requested: {', '.join(sorted(unknown_options))}"
        )
    resolved = {name: dict(options.get(name, {})) for name in names}
    if factory is None:
        from nascli.proxies import get_proxy, proxy_info

        factory = get_proxy
        for name in names:
            wants = "batches" in proxy_info(name)["options"]
            if wants and batches is not None and "batches" not in resolved[name]:
                resolved[name]["batches"] = batches
    return {name: factory(name, **resolved[name]) for name in names}


def default_augment(proxies: Mapping[str, Proxy], augment: bool | None) -> bool:
    """Training-style views by default for proxies that take gradients of a loss.

    Their authors score networks on batches of a training loader (augmented views); the
    other proxies look at one forward pass, where real images as they are are the natural
    input. An explicit ``augment`` wins.
    """
    if augment is not None:
        return bool(augment)
    return any(proxy.needs_labels for proxy in proxies.values())


def check_data(proxies: Mapping[str, Proxy], data: BatchSet, warn: Warn = _stderr_warn) -> None:
    """Refuse unlabelled real data for label-hungry proxies; warn when only noise is given."""
    for name, proxy in proxies.items():
        if proxy.needs_labels and data.is_real and not data.labelled:
            raise ConfigError(
                f"proxy {name!r} needs labels but {data.description} has none "
                "(give an .npz with 'y' or class sub-folders)"
            )
    hungry = [n for n, p in proxies.items() if p.needs_data or p.needs_labels]
    if hungry and not data.is_real:
        warn(
            f"{', '.join(hungry)} need(s) real data/labels but no --data was given: "
            "scoring on Gaussian noise with random labels"
        )


def run_proxy(
    name: str, proxy: Proxy, candidate: Candidate, batches: Sequence[Any]
) -> ProxyOutcome:
    """Score one candidate with one proxy; failures become outcomes, not exceptions."""
    import torch

    if candidate.pool is not None:
        candidate.pool.release()  # networks lent to the proxy before this one come back
    torch.manual_seed(candidate.seed)
    start = time.perf_counter()
    try:
        result = evaluate(proxy, candidate, batches)
        value = float(result.value)
    except NascliError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # any failure of the network or the math fails this arch only
        kind = "out of memory" if isinstance(exc, MemoryError) else type(exc).__name__
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        return ProxyOutcome(name, None, time.perf_counter() - start, f"{kind}: {message}")
    seconds = time.perf_counter() - start
    if not math.isfinite(value):
        return ProxyOutcome(name, None, seconds, f"non-finite score ({value})", result.terms)
    return ProxyOutcome(name, value, seconds, terms=result.terms)


@dataclass
class Scorer:
    """Proxies and batches prepared once, then applied to many architectures.

    ``batches`` are ``data.batches`` moved once to ``device``, where every network is
    scored (``nascli.proxies.device``).
    """

    proxies: dict[str, Proxy]
    data: BatchSet
    resolution: int | None
    seed: int
    device: str = "cpu"
    batches: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.batches:
            from nascli.proxies.device import batches_to

            self.batches = batches_to(self.data.batches, self.device)

    def candidate(self, arch: Arch) -> Candidate:
        from nascli.spaces import get_space

        space = get_space(arch.space)
        return Candidate(
            arch, space, self.resolution or space.resolution, self.seed, device=self.device
        )

    def score(self, arch: Arch, names: Sequence[str] | None = None) -> dict[str, ProxyOutcome]:
        """Outcomes of ``names`` (default: every proxy) on ``arch``."""
        candidate = self.candidate(arch)
        wanted = list(self.proxies) if names is None else list(names)
        return {n: run_proxy(n, self.proxies[n], candidate, self.batches) for n in wanted}


def prepare(
    proxy_names: Sequence[str],
    *,
    space_name: str,
    data: Path | str | None = None,
    batch_size: int = 64,
    batches: int = 2,
    resolution: int | None = None,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    warn: Warn = _stderr_warn,
    factory: Callable[..., Proxy] | None = None,
    augment: bool | None = None,
    device: str | None = None,
) -> Scorer:
    """Check the proxies, load the batches once and return a ``Scorer`` for ``space_name``.

    ``augment=None`` chooses training-style views when a proxy needs labels
    (``default_augment``); ``device`` is a ``--proxy-device`` string (None: ``auto``).
    """
    from nascli.proxies.device import resolve_device
    from nascli.spaces import get_space

    torch_device = resolve_device(device)  # a device this machine lacks fails first

    proxies = make_proxies(proxy_names, options, factory, batches)
    space = get_space(space_name)
    size = resolution or space.resolution
    batch_set = load_data(
        data, num_classes=space.num_classes, resolution=size, batch_size=batch_size,
        n_batches=batches, seed=seed, augment=default_augment(proxies, augment),
    )  # fmt: skip
    check_data(proxies, batch_set, warn)
    return Scorer(proxies, batch_set, resolution, seed, device=str(torch_device))


@dataclass
class ArchScores:
    """What ``nascli score`` reports: the arch, its cost and every proxy outcome."""

    arch: Arch
    resolution: int
    cost: dict[str, int]
    data: str
    outcomes: dict[str, ProxyOutcome] = field(default_factory=dict)
    device: str = "cpu"


def score_arch(
    arch: Arch,
    proxy_names: Sequence[str],
    *,
    data: Path | str | None = None,
    batch_size: int = 64,
    batches: int = 2,
    resolution: int | None = None,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    warn: Warn = _stderr_warn,
    factory: Callable[..., Proxy] | None = None,
    augment: bool | None = None,
    device: str | None = None,
) -> ArchScores:
    """Score one architecture with each named proxy (seconds and failures per proxy)."""
    from nascli.spaces import get_space

    scorer = prepare(
        proxy_names, space_name=arch.space, data=data, batch_size=batch_size, batches=batches,
        resolution=resolution, seed=seed, options=options, warn=warn, factory=factory,
        augment=augment, device=device,
    )  # fmt: skip
    space = get_space(arch.space)
    size = resolution or space.resolution
    return ArchScores(
        arch=arch,
        resolution=size,
        cost=space.cost(arch, resolution=size).as_dict(),
        data=scorer.data.description,
        outcomes=scorer.score(arch),
        device=scorer.device,
    )
