"""The search's three seams to the rest of nascli: batches, proxies, latency tables.

Each is one small function so the search depends on an interface, not on how the data,
proxy and latency packages are organised inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nascli.errors import ConfigError

if TYPE_CHECKING:
    from nascli.arch import Arch
    from nascli.data import BatchSet
    from nascli.proxies.base import Proxy


def load_proxy_batches(
    data: str | None,
    *,
    num_classes: int,
    resolution: int,
    batch_size: int,
    batches: int,
    seed: int,
    augment: bool = False,
) -> BatchSet:
    """The proxy input (Gaussian when ``data`` is None), loaded once per search/worker."""
    from nascli.data import load_data

    return load_data(
        data, num_classes=num_classes, resolution=resolution, batch_size=batch_size,
        n_batches=batches, seed=seed, augment=augment,
    )  # fmt: skip


def resolve_proxies(spec: str) -> tuple[list[str], dict[str, Proxy]]:
    """``"zico"`` or an ensemble ``"zico+naswot"`` → (component names, proxy objects)."""
    from nascli.proxies.ensemble import parse_proxy_list
    from nascli.proxies.runner import make_proxies

    items = parse_proxy_list(spec)
    if len(items) != 1:
        raise ConfigError(
            f"--proxy {spec!r}: a search optimises one proxy or one ensemble (a+b), not a list"
        )
    names = list(items[0].components)
    return names, make_proxies(names)


def check_proxy_data(proxies: dict[str, Proxy], data: BatchSet) -> list[str]:
    """Refuse unlabelled data for label-hungry proxies; the note a search reports once.

    Without ``--data`` the proxies score Gaussian noise (the low-cost default); a proxy that
    needs real images or labels gets one note, which the search writes into
    ``summary.json`` and prints at its end (not a warning per worker).
    """
    from nascli.proxies.runner import check_data

    notes: list[str] = []
    check_data(proxies, data, warn=notes.append)
    if notes:
        notes = [
            f"{notes[0]}; give --data cifar10 (or imagenet:PATH, an .npz or a folder) for "
            "real images"
        ]
    return notes


@dataclass
class LatencyModel:
    """A device's latency table for one space, and the predictor built on it."""

    device: str
    table: Any
    path: str
    predictor: Any = None
    # Block kinds the device cannot run (an NPU's compiler refuses them; see
    # nascli.latency.qnn_accept): an arch using one is infeasible, whatever its latency.
    refused: frozenset[str] = frozenset()

    def refuses(self, space: Any, arch: Arch) -> bool:
        if not self.refused:
            return False
        from nascli.latency.qnn_accept import kind_of

        return any(kind_of(key) in self.refused for key in space.layers(arch))

    def predict_ms(self, arch: Arch) -> float:
        if self.predictor is None:
            from nascli.latency.predict import Predictor

            self.predictor = Predictor(self.table)
        return predict_latency_ms(arch, self.predictor)


def load_latency_model(device: str, space: str, resolution: int, path: str | None) -> LatencyModel:
    """The table for ``device`` (``--table PATH`` or the shipped one for space/resolution)."""
    from nascli.latency.table import LatencyTable, default_table_path

    table_path = Path(path) if path is not None else default_table_path(device, space, resolution)
    if not table_path.exists():
        raise ConfigError(
            f"no latency table for device {device!r}, space {space!r} at {resolution} px "
            f"({table_path} missing); run `nascli profile --device {device} --space {space}` "
            "or give --table PATH"
        )
    table = LatencyTable.load(table_path)
    from nascli.latency.host import warn_if_other_host

    warn_if_other_host(table)
    if table.space != space:
        raise ConfigError(f"{table_path}: table is for space {table.space!r}, not {space!r}")
    if table.resolution != resolution:
        raise ConfigError(
            f"{table_path}: table is for {table.resolution} px, the space runs at {resolution} px"
        )
    from nascli.latency.qnn_accept import device_refusals

    return LatencyModel(device, table, str(table_path), refused=device_refusals(device, space))


def predict_latency_ms(arch: Arch, predictor: Any) -> float:
    """Predicted end-to-end latency (ms) of ``arch`` (``nascli.latency.predict``)."""
    return float(predictor.predict(arch).latency_ms)
