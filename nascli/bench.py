"""How well do proxies rank architectures? Correlate their scores with a ground truth.

The ground truth is a plain CSV a user can bring: an architecture column (``arch_str`` or
``arch``: any string the space parses, e.g. an NB201 string, NAS-Bench-Macro's 8-digit code
or a canonical ``space:body``; or ``index`` for a space with an official index) and one or
more numeric target columns (e.g. test accuracy after training). A CSV with an
``is_canonical`` column (NAS-Bench-Macro: rows that duplicate another row's training are
marked 0) is read as its canonical rows only, unless asked for every row. ``run_bench``
scores a seeded random sample of its rows with every requested proxy (reading and
filling a ``ScoreCache``), ranks ensembles with ``rank_aggregate``, and reports Kendall τ
and Spearman ρ (scipy) next to the published values of the same proxy, when known.
"""

from __future__ import annotations

import csv
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.arch import Arch
from nascli.errors import ConfigError
from nascli.proxies import published_names
from nascli.proxies.ensemble import ProxyItem, component_names, rank_aggregate
from nascli.score_cache import ScoreCache, data_fingerprint, settings_key

ARCH_COLUMNS = ("arch_str", "arch")

# Published names (lower-cased) of the named ensembles → nascli names; each single proxy's
# published names are in its spec (``nascli.proxies.published_names``).
ENSEMBLE_ALIASES = {
    "az-nas": "az-nas",
    "az-nas (aggregated)": "az-nas",
    "vkdnw_agg (aggregated)": "vkdnw-agg",
}
PREFERRED_SOURCE = "zico iclr2023"


@dataclass(frozen=True)
class GroundTruth:
    """Architectures and their target values, in file order."""

    archs: list[Arch]
    targets: list[float]
    column: str


def _dataset_of(target: str) -> str | None:
    lowered = target.lower()
    if "cifar100" in lowered or "cifar-100" in lowered:
        return "cifar100"
    if "cifar10" in lowered or "cifar-10" in lowered:
        return "cifar10"
    if "imagenet16" in lowered:
        return "imagenet16-120"
    return None


CANONICAL_COLUMN = "is_canonical"


def load_ground_truth(
    path: Path,
    *,
    space: str,
    target: str,
    sample: int | None,
    seed: int,
    canonical_only: bool | None = None,
) -> GroundTruth:
    """Read the CSV, check its columns, and parse a seeded sample (``None`` = every row).

    ``canonical_only``: keep only rows whose ``is_canonical`` is 1 (``None``: when the
    column exists). Duplicated trainings would otherwise count several times in τ and ρ.
    """
    from nascli.spaces import Indexed, get_space, resolve_arch

    if not path.is_file():
        raise ConfigError(f"no such ground-truth file: {path}")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise ConfigError(f"{path}: no rows")
    if target not in columns:
        raise ConfigError(f"{path}: no column {target!r} (columns: {', '.join(columns)})")
    the_space = get_space(space)
    indexed = isinstance(the_space, Indexed)
    arch_column = next((c for c in ARCH_COLUMNS if c in columns), None)
    if arch_column is None and not (indexed and "index" in columns):
        raise ConfigError(
            f"{path}: no architecture column (need 'arch_str' or 'arch'"
            f"{', or index' if indexed else ''}; columns: {', '.join(columns)})"
        )
    numbered = list(enumerate(rows, start=2))  # (line in the file, row)
    if canonical_only is None:
        canonical_only = CANONICAL_COLUMN in columns
    if canonical_only:
        if CANONICAL_COLUMN not in columns:
            raise ConfigError(f"{path}: no column {CANONICAL_COLUMN!r} to keep canonical rows by")
        numbered = [
            (line, r) for line, r in numbered
            if (r[CANONICAL_COLUMN] or "").strip().lower() in ("1", "true")
        ]  # fmt: skip
        if not numbered:
            raise ConfigError(f"{path}: no row has {CANONICAL_COLUMN} = 1")
    if sample is not None:
        if sample < 1:
            raise ConfigError(f"--sample must be at least 1 or 'all', got {sample}")
        # Draw order, not file order: a run cut short has scored a prefix, and the prefix
        # of a seeded sample of size k is the sample of a smaller size (cache reuse).
        chosen = random.Random(seed).sample(range(len(numbered)), min(sample, len(numbered)))
    else:
        chosen = list(range(len(numbered)))
    archs: list[Arch] = []
    targets: list[float] = []
    for i in chosen:
        line, row = numbered[i]
        try:
            value = float(row[target])
        except (TypeError, ValueError):
            raise ConfigError(f"{path}:{line}: {target} is not a number: {row[target]!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{path}:{line}: {target} is not finite: {row[target]!r}")
        if arch_column is not None:
            try:
                arch = resolve_arch(row[arch_column] or "", space)
            except ConfigError as exc:
                raise ConfigError(f"{path}:{line}: {exc}") from None
        else:
            try:
                arch = the_space.from_index(int(row["index"]))  # Indexed: checked above
            except ValueError:
                raise ConfigError(f"{path}:{line}: bad index {row['index']!r}") from None
        if arch.space != space:
            raise ConfigError(f"{path}:{line}: architecture of space {arch.space!r}, not {space!r}")
        archs.append(arch)
        targets.append(value)
    return GroundTruth(archs, targets, target)


@dataclass(frozen=True)
class Published:
    kendall: float | None
    spearman: float | None
    source: str


def load_published(path: Path | None, target: str) -> dict[str, Published]:
    """Published τ/ρ per nascli proxy name for the target's data set (ZiCo paper first)."""
    if path is None or not path.is_file():
        return {}
    dataset = _dataset_of(target)
    if dataset is None:
        return {}

    def number(text: str | None) -> float | None:
        try:
            return float(text) if text not in (None, "") else None
        except ValueError:
            return None

    found: dict[str, Published] = {}
    preferred: set[str] = set()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read published correlations {path}: {exc}") from None
    aliases = {**published_names(), **ENSEMBLE_ALIASES}
    for row in rows:
        name = aliases.get((row.get("proxy") or "").strip().lower())
        if name is None or (row.get("dataset") or "").strip().lower() != dataset:
            continue
        entry = Published(
            number(row.get("kendall_tau")), number(row.get("spearman_rho")), row.get("source", "")
        )
        if entry.spearman is None and entry.kendall is None:
            continue
        is_preferred = entry.source.lower().startswith(PREFERRED_SOURCE)
        if name not in found or (is_preferred and name not in preferred):
            found[name] = entry
            if is_preferred:
                preferred.add(name)
    return found


@dataclass
class BenchRow:
    """Correlation of one proxy (or ensemble) with the target."""

    name: str
    kendall: float | None
    spearman: float | None
    n_ok: int
    n_failed: int
    seconds_per_arch: float | None
    computed: int
    cached: int
    published: Published | None = None
    errors: list[str] = field(default_factory=list)
    kendall_worst: float | None = None  # failed archs ranked below every scored one
    spearman_worst: float | None = None
    scores: list[float | None] = field(default_factory=list, repr=False)  # per truth.archs

    def as_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.name,
            "kendall_tau": self.kendall,
            "spearman_rho": self.spearman,
            "kendall_tau_failed_as_worst": self.kendall_worst,
            "spearman_rho_failed_as_worst": self.spearman_worst,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "seconds_per_arch": self.seconds_per_arch,
            "computed": self.computed,
            "cached": self.cached,
            "published_kendall_tau": self.published.kendall if self.published else None,
            "published_spearman_rho": self.published.spearman if self.published else None,
            "published_source": self.published.source if self.published else None,
            "example_errors": self.errors[:3],
        }


def correlations(
    scores: Sequence[float | None], targets: Sequence[float]
) -> tuple[float | None, float | None, int]:
    """Kendall τ-b and Spearman ρ over the archs with a finite score (None under 3)."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [
        (s, t) for s, t in zip(scores, targets, strict=True) if s is not None and math.isfinite(s)
    ]
    if len(pairs) < 3:
        return None, None, len(pairs)
    xs, ys = zip(*pairs, strict=True)
    tau = float(kendalltau(xs, ys).statistic)
    rho = float(spearmanr(xs, ys).statistic)
    return (None if math.isnan(tau) else tau), (None if math.isnan(rho) else rho), len(pairs)


def correlations_failed_as_worst(
    scores: Sequence[float | None], targets: Sequence[float]
) -> tuple[float | None, float | None]:
    """τ and ρ over every arch, a failed one tied below all scored ones (as a search ranks it).

    Published NB201 figures cover all 15,625 cells, including the disconnected ones on
    which data-driven proxies are undefined; this is the comparable number.
    """
    filled = [s if s is not None and math.isfinite(s) else -math.inf for s in scores]
    if all(math.isinf(s) for s in filled):
        return None, None
    tau, rho, _ = correlations([max(s, -1e300) for s in filled], targets)
    return tau, rho


@dataclass
class BenchResult:
    rows: list[BenchRow]
    n_archs: int
    target: str
    cache_file: str
    data: str
    seconds_total: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n_archs": self.n_archs,
            "data": self.data,
            "cache_file": self.cache_file,
            "seconds_total": self.seconds_total,
            "results": [r.as_dict() for r in self.rows],
        }


Progress = Callable[[int, int], None]


def _keys(
    names: Sequence[str],
    options: Mapping[str, Mapping[str, Any]],
    data: Path | None,
    batch_size: int,
    batches: int,
    resolution: int | None,
    seed: int,
    space: str,
    augment: bool,
) -> dict[str, str]:
    """The score-cache settings key of each proxy (what makes two scores comparable)."""
    fingerprint = data_fingerprint(data)
    return {
        n: settings_key(
            n,
            options.get(n, {}),
            data=fingerprint,
            batch_size=batch_size,
            batches=batches,
            resolution=resolution,
            seed=seed,
            space=space,
            augment=augment,
        )
        for n in names
    }


def cached_subset(
    truth: GroundTruth,
    items: Sequence[ProxyItem],
    *,
    space: str,
    cache_dir: Path,
    data: Path | None = None,
    batch_size: int = 64,
    batches: int = 2,
    resolution: int | None = None,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    augment: bool | None = None,
) -> GroundTruth:
    """The rows of ``truth`` whose every component score is already in the cache.

    For reporting a run that is still scoring (or was cut short): the seeded order of a
    sample is kept, so the subset is itself a seeded sample of the cells scored so far.
    """
    from nascli.proxies.runner import default_augment, make_proxies

    names = component_names(items)
    if data is not None:
        augment = default_augment(make_proxies(names, options or {}, None, batches), augment)
    keys = _keys(
        names, options or {}, data, batch_size, batches, resolution, seed, space, bool(augment)
    )
    canon = list(dict.fromkeys(a.canonical for a in truth.archs))
    with ScoreCache(cache_dir) as cache:
        known = [set(cache.get_many(keys[n], canon)) for n in names]
    keep = [i for i, a in enumerate(truth.archs) if all(a.canonical in k for k in known)]
    return GroundTruth(
        [truth.archs[i] for i in keep], [truth.targets[i] for i in keep], truth.column
    )


def run_bench(
    truth: GroundTruth,
    items: Sequence[ProxyItem],
    *,
    space: str,
    cache_dir: Path,
    data: Path | None = None,
    batch_size: int = 64,
    batches: int = 2,
    resolution: int | None = None,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    published: Mapping[str, Published] | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    factory: Callable[..., Any] | None = None,
    augment: bool | None = None,
    device: str | None = None,
) -> BenchResult:
    """Score the sample (missing outcomes only), then correlate each item with the target."""
    from nascli.proxies.runner import check_data, default_augment, make_proxies, prepare

    started = time.perf_counter()
    options = options or {}
    names = component_names(items)
    proxies = make_proxies(names, options, factory, batches)  # unknown names fail first
    augment = default_augment(proxies, augment) if data is not None else False
    keys = _keys(names, options, data, batch_size, batches, resolution, seed, space, augment)
    canon = [a.canonical for a in truth.archs]
    unique = list(dict.fromkeys(canon))
    by_canon = {a.canonical: a for a in truth.archs}
    computed = dict.fromkeys(names, 0)
    with ScoreCache(cache_dir) as cache:
        known = {n: cache.get_many(keys[n], unique) for n in names}
        missing = {a: [n for n in names if a not in known[n]] for a in unique}
        todo = [a for a in unique if missing[a]]
        extra: dict[str, Any] = {} if warn is None else {"warn": warn}
        if todo:
            scorer = prepare(
                names, space_name=space, data=data, batch_size=batch_size, batches=batches,
                resolution=resolution, seed=seed, options=options, factory=factory,
                augment=augment, device=device, **extra,
            )  # fmt: skip
        else:  # everything cached: still refuse data the proxies cannot use
            from nascli.data import load_data
            from nascli.spaces import get_space

            the_space = get_space(space)
            check_data(
                proxies,
                load_data(
                    data, num_classes=the_space.num_classes,
                    resolution=resolution or the_space.resolution, batch_size=1, n_batches=1,
                    seed=seed,
                ),
                **extra,
            )  # fmt: skip
        for done, arch_text in enumerate(todo, start=1):
            outcomes = scorer.score(by_canon[arch_text], missing[arch_text])
            cache.put_many(
                (keys[n], arch_text, o.score, o.seconds, o.error) for n, o in outcomes.items()
            )
            for n, o in outcomes.items():
                known[n][arch_text] = (o.score, o.seconds, o.error)
                computed[n] += 1
            if progress is not None:
                progress(done, len(todo))
        cache_file = str(cache.path)
    description = str(data) if data is not None else "Gaussian N(0,1), random labels"
    published = published or {}
    rows: list[BenchRow] = []
    per_proxy: dict[str, list[float | None]] = {n: [known[n][a][0] for a in canon] for n in names}
    for item in items:
        if item.is_ensemble:
            scores = rank_aggregate({n: per_proxy[n] for n in item.components})
        else:
            scores = per_proxy[item.name]
        tau, rho, n_ok = correlations(scores, truth.targets)
        tau_all, rho_all = correlations_failed_as_worst(scores, truth.targets)
        seconds = 0.0
        for n in item.components:
            seconds += sum(known[n][a][1] for a in unique) / len(unique)
        errors = sorted(
            {f"{n}: {known[n][a][2]}" for n in item.components for a in unique if known[n][a][2]}
        )
        rows.append(
            BenchRow(
                name=item.name,
                kendall=tau,
                spearman=rho,
                n_ok=n_ok,
                n_failed=len(canon) - n_ok,
                seconds_per_arch=seconds,
                computed=sum(computed[n] for n in item.components),
                cached=sum(len(unique) - computed[n] for n in item.components),
                published=published.get(item.name) if item.label or not item.is_ensemble else None,
                errors=errors,
                kendall_worst=tau_all,
                spearman_worst=rho_all,
                scores=list(scores),
            )
        )
    return BenchResult(
        rows, len(canon), truth.column, cache_file, description, time.perf_counter() - started
    )
