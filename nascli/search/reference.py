"""The fixed reference population an ensemble search's values are calibrated against.

A search with an ensemble (``a+b``) stores, per trial, ``Σ_p log F_p(x_p)`` where ``F_p``
is component ``p``'s distribution over this reference (``nascli.proxies.ensemble``). So
that the value of a network means the same in every run, seed and worker, the reference
depends only on the space and the proxy settings: ``REFERENCE_SIZE`` distinct networks
drawn from the whole space with ``REFERENCE_SEED`` (not the run's seed, not its budgets),
scored with weights, batches and views seeded by ``REFERENCE_SEED`` on the search's data,
batch size, number of batches and resolution. Scores are kept in the user's score cache
(``<user folder>/cache``), so a second search with the same settings scores nothing, and the
reference a run used is written into its study, so resuming it never recomputes it
differently.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nascli.errors import JobError
from nascli.proxies.ensemble import ReferenceScores

if TYPE_CHECKING:
    from nascli.arch import Arch
    from nascli.config import SearchConfig

REFERENCE_SIZE = 32
REFERENCE_SEED = 0
STUDY_ATTR = "nascli.reference"
Progress = Callable[[int, int], None]


def reference_archs(space: Any, size: int = REFERENCE_SIZE) -> list[Arch]:
    """``size`` distinct networks of the space, the same ones for every run."""
    rng = random.Random(REFERENCE_SEED)
    chosen: dict[str, Arch] = {}
    for _ in range(size * 50):
        arch = space.sample(rng)
        chosen.setdefault(arch.canonical, arch)
        if len(chosen) == size:
            break
    return list(chosen.values())


def score_reference(
    config: SearchConfig,
    space: Any,
    names: Sequence[str],
    proxies: Mapping[str, Any],
    resolution: int,
    *,
    progress: Progress | None = None,
) -> ReferenceScores:
    """Each component's scores on the reference networks (cached per settings)."""
    from nascli.paths import user_dir
    from nascli.proxies.base import Candidate
    from nascli.proxies.runner import default_augment, run_proxy
    from nascli.score_cache import ScoreCache, data_fingerprint, settings_key
    from nascli.search.components import load_proxy_batches

    archs = reference_archs(space)
    augment = default_augment(dict(proxies), config.augment) if config.data else False
    keys = {
        n: settings_key(
            n, {}, data=data_fingerprint(config.data), batch_size=config.batch_size,
            batches=config.batches, resolution=resolution, seed=REFERENCE_SEED,
            space=space.name, augment=augment, role="reference",
        )
        for n in names
    }  # fmt: skip
    with ScoreCache(user_dir() / "cache") as cache:
        known = {n: cache.get_many(keys[n], [a.canonical for a in archs]) for n in names}
        todo = [a for a in archs if any(a.canonical not in known[n] for n in names)]
        batches = None
        for done, arch in enumerate(todo, start=1):
            if batches is None:
                batches = load_proxy_batches(
                    config.data, num_classes=space.num_classes, resolution=resolution,
                    batch_size=config.batch_size, batches=config.batches, seed=REFERENCE_SEED,
                    augment=augment,
                ).batches  # fmt: skip
            candidate = Candidate(arch, space, resolution, REFERENCE_SEED)
            rows = []
            for n in names:
                if arch.canonical in known[n]:
                    continue
                outcome = run_proxy(n, proxies[n], candidate, batches)
                known[n][arch.canonical] = (outcome.score, outcome.seconds, outcome.error)
                rows.append(
                    (keys[n], arch.canonical, outcome.score, outcome.seconds, outcome.error)
                )
            cache.put_many(rows)
            if progress is not None:
                progress(done, len(todo))
    values = {
        n: tuple(
            float(known[n][a.canonical][0])  # type: ignore[arg-type]
            for a in archs
            if known[n][a.canonical][0] is not None
        )
        for n in names
    }
    about = (
        f"{len(archs)} networks of {space.name} drawn with seed {REFERENCE_SEED}, scored with "
        f"seed {REFERENCE_SEED} at {resolution} px, {config.batches} x {config.batch_size} "
        f"{'images of ' + str(config.data) if config.data else 'Gaussian inputs'}"
    )
    try:
        return ReferenceScores(values, about)
    except ValueError as exc:
        raise JobError(
            f"ensemble reference: {exc} (the proxy failed on the reference nets)"
        ) from None
