"""Training-free ensembles of proxies: a rank sum over a population, or a fixed reference.

Two definitions live here, both with nothing fitted to ground truth.

AZ-NAS (Lee & Ham, CVPR 2024) combines proxies without any fitting: each proxy ranks the
population in ascending order (the worst architecture gets rank 1, the best rank N), and
an architecture's ensemble score is ``Σ_p log(rank_p / N)``. The log makes the sum reward
architectures that no proxy ranks badly (a product of normalised ranks), and the score of
an architecture depends on the population, so an ensemble is only defined over a set of
architectures (``nascli proxies bench``, a search population), never for one network
alone. Ties share their average rank (``scipy.stats.rankdata``'s default, as in the
AZ-NAS notebooks). Nothing here looks at ground truth.

On the command line an ensemble is written with ``+``: ``--proxy zico,naswot+synflow``
asks for ``zico`` alone and for the ensemble of ``naswot`` and ``synflow``. A name from
``NAMED_ENSEMBLES`` (``--proxy az-nas``) stands for its fixed membership; inside a ``+``
list it expands to its members.

A rank sum is the published definition for comparing a sample (``nascli proxies bench``),
but a search that stores it per trial stores a number whose meaning changes as the
population grows: the best candidate so far always scores 0. ``ReferenceScores`` replaces
the population by a fixed one: each component's scores on a seeded sample of the space,
scored once per space and proxy settings. A candidate's value is
``Σ_p log F_p(x_p)``, with ``F_p`` the smoothed empirical CDF of component ``p`` over that
reference (a Gaussian kernel per reference value, Silverman's bandwidth): the AZ-NAS form,
``log(rank / N)`` replaced by the log of the fraction of the reference the candidate beats.
It is strictly increasing in every component, also beyond the reference's best (the
kernel's tail keeps order where an empirical CDF would saturate at 1), identical for the
same scores in every run, seed and worker, and readable: ``100 · exp(value / P)`` is the
geometric-mean percentile of the candidate in the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nascli.errors import ConfigError


@dataclass(frozen=True)
class NamedEnsemble:
    """A fixed membership with a name, and where it comes from."""

    components: tuple[str, ...]
    description: str


NAMED_ENSEMBLES: dict[str, NamedEnsemble] = {
    "az-nas": NamedEnsemble(
        ("az-expressivity", "az-progressivity", "az-trainability", "flops"),
        "AZ-NAS (CVPR 2024) as released: its four scores, complexity = FLOPs",
    ),
    "vkdnw-agg": NamedEnsemble(
        ("vkdnw", "az-expressivity", "az-trainability", "jacov", "flops"),
        "VKDNW_agg (CVPR 2025) as released: VKDNW, AZ expressivity and trainability, "
        "JacobCov, FLOPs",
    ),
    "nb201-rank": NamedEnsemble(
        ("vkdnw", "az-expressivity", "az-trainability", "jacov", "flops", "meco", "synflow"),
        "VKDNW_agg's five + MeCo + SynFlow; extras chosen on CIFAR-100 ρ of one NB201 "
        "sample, checked on CIFAR-10 and on disjoint cells (docs/proxies.md)",
    ),
    "macro-rank": NamedEnsemble(
        ("naswot", "synflow", "jacov"),
        "NASWOT + SynFlow + JacobCov; chosen on a 200-net NAS-Bench-Macro sample among rank "
        "sums of ≤ 3 proxies costing ≤ ZiCo, checked on the other nets (docs/proxies.md)",
    ),
}


@dataclass(frozen=True)
class ProxyItem:
    """One requested result: a single proxy, or an ensemble of several (``a+b+c``)."""

    components: tuple[str, ...]
    label: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.label or "+".join(self.components)

    @property
    def is_ensemble(self) -> bool:
        return len(self.components) > 1


def parse_proxy_list(text: str) -> list[ProxyItem]:
    """``"zico,naswot+synflow"`` → [zico, naswot+synflow]; names are lower-cased."""
    items: list[ProxyItem] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        given = tuple(n.strip().lower() for n in part.split("+"))
        if any(not n for n in given):
            raise ConfigError(f"--proxy: empty name in {part!r}")
        names = tuple(
            member
            for n in given
            for member in (NAMED_ENSEMBLES[n].components if n in NAMED_ENSEMBLES else (n,))
        )
        if len(set(names)) != len(names):
            raise ConfigError(f"--proxy: ensemble {part!r} repeats a proxy")
        label = given[0] if len(given) == 1 and given[0] in NAMED_ENSEMBLES else None
        item = ProxyItem(names, label)
        if item not in items:
            items.append(item)
    if not items:
        raise ConfigError("--proxy: give at least one proxy name")
    return items


def component_names(items: Sequence[ProxyItem]) -> list[str]:
    """Every single proxy the items need, in first-seen order, without duplicates."""
    seen: dict[str, None] = {}
    for item in items:
        for name in item.components:
            seen.setdefault(name, None)
    return list(seen)


def rank_aggregate(scores: Mapping[str, Sequence[float | None]]) -> list[float | None]:
    """AZ-NAS aggregation ``Σ_p log(rank_p / N)`` of per-proxy scores of one population.

    ``scores[p][i]`` is proxy ``p``'s score of architecture ``i`` (higher is better), or
    ``None``/non-finite when it failed. An architecture any component failed on gets
    ``None``; the others are ranked among themselves (N = how many remain).
    """
    from scipy.stats import rankdata

    columns = list(scores.values())
    if not columns:
        raise ValueError("rank_aggregate needs at least one proxy")
    size = len(columns[0])
    if any(len(c) != size for c in columns):
        raise ValueError("every proxy must score the same population")
    valid = [
        i
        for i in range(size)
        if all(c[i] is not None and math.isfinite(float(c[i])) for c in columns)  # type: ignore[arg-type]
    ]
    out: list[float | None] = [None] * size
    if not valid:
        return out
    n = len(valid)
    total = [0.0] * n
    for column in columns:
        ranks = rankdata([float(column[i]) for i in valid])  # type: ignore[arg-type]
        for j, rank in enumerate(ranks):
            total[j] += math.log(float(rank) / n)
    for j, i in enumerate(valid):
        out[i] = total[j]
    return out


@dataclass(frozen=True)
class ReferenceScores:
    """Each component's finite scores on a fixed reference sample, and where they came from."""

    values: Mapping[str, tuple[float, ...]]
    description: str = ""

    def __post_init__(self) -> None:
        for name, column in self.values.items():
            finite = [float(v) for v in column if v is not None and math.isfinite(float(v))]
            if len(finite) < 2:
                raise ValueError(f"reference of {name!r} needs at least two finite scores")

    def log_cdf(self, name: str, value: float) -> float:
        """``log F(value)`` for one component: smoothed empirical CDF, in log space."""
        import numpy as np
        from scipy.special import log_ndtr, logsumexp

        column = np.array(
            [float(v) for v in self.values[name] if v is not None and math.isfinite(float(v))]
        )
        width = _bandwidth(column)
        terms = log_ndtr((float(value) - column) / width)
        return float(logsumexp(terms) - math.log(len(column)))

    def value(self, scores: Mapping[str, float]) -> float:
        """``Σ_p log F_p(score_p)`` over the components; NaN if one is missing or not finite."""
        total = 0.0
        for name in self.values:
            score = scores.get(name)
            if score is None or not math.isfinite(float(score)):
                return float("nan")
            total += self.log_cdf(name, float(score))
        return total

    def as_dict(self) -> dict[str, object]:
        return {"values": {n: list(v) for n, v in self.values.items()}, "about": self.description}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ReferenceScores:
        values = data.get("values")
        if not isinstance(values, Mapping):
            raise ValueError("reference: 'values' must map proxy names to score lists")
        return cls(
            {str(n): tuple(float(v) for v in column) for n, column in values.items()},
            str(data.get("about", "")),
        )


def _bandwidth(column: object) -> float:
    """Silverman's rule with the robust spread; a tiny positive width for a constant column."""
    import numpy as np

    array = np.asarray(column, dtype=float)
    spread = float(np.std(array))
    q75, q25 = np.percentile(array, [75, 25])
    if q75 > q25:
        spread = min(spread, float(q75 - q25) / 1.349)
    width = 0.9 * spread * len(array) ** -0.2
    if width > 0:
        return width
    return max(abs(float(array[0])), 1.0) * 1e-9


def percentile_of(value: float, components: int) -> float:
    """A reference-calibrated value as the geometric-mean percentile of its components."""
    if not math.isfinite(value) or components < 1:
        return float("nan")
    return 100.0 * math.exp(value / components)
