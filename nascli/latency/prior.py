"""A device prior for few-shot calibration, learned from many measured devices.

Per-op-type calibration (``calibrate.fit_calibration``) fits ~6 free numbers from K ≈ 10
networks: enough on most devices, but the fit wanders on noisy ones (phones timed in whole
milliseconds, busy Xeons). Devices are not arbitrary, though: how a conv 3×3 compares with a
pool or with the fixed overhead varies across hardware along a few directions. The prior
captures those directions from devices whose whole space was measured:

* for every source device ``d``, the per-group scales and overhead ``c_d`` of the base table
  are fitted on all its networks (NNLS, relative errors), and divided by the device's mean
  latency so that fast and slow devices are comparable: ``z_d = c_d / mean(y_d)``;
* the prior is the Gaussian ``N(m, S)`` of the ``z_d`` (mean and covariance over devices;
  the eigenvectors of ``S`` are the low-rank basis, its eigenvalues their spread).

A new device is fitted by maximum a posteriori: the overall speed ``a`` comes from a
one-number fit of ``a · m`` to the K networks; then ``c ~ N(a·m, a²·(S + m mᵀ))`` (the
speed stays free along ``m``) and relative errors
``~ N(0, σ²)`` (NNLS, so no scale goes negative). ``σ`` is chosen by leave-one-out over the
K networks. When the prior does not fit (its leave-one-out error is more than
``FALLBACK_RATIO`` times that of the free per-op fit) the free per-op fit is used instead.

The prior is tied to the base table it was fitted against: the file stores a fingerprint of
the base's entries and is used only with that table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError
from nascli.latency.table import LatencyTable

PRIOR_KIND = "nascli-latency-prior"
PRIOR_SCHEMA = 1
SIGMAS = (0.01, 0.03, 0.1)
FALLBACK_RATIO = 1.5
#: Relative floor added to the covariance diagonal: a group no source device varied
#: (or one the sources could not identify) keeps some freedom instead of a zero variance.
COV_FLOOR = 1e-3
#: Variance of the overall speed around the one-number estimate (as a share of it): the
#: speed is re-fitted together with the shape, not frozen at that first estimate.
SPEED_VAR = 1.0


def base_fingerprint(table: LatencyTable) -> str:
    """Hash of what a prior depends on: the base table's space, entries and offset."""
    payload = {
        "space": table.space,
        "resolution": table.resolution,
        "offset": table.meta.get("entry_offset_ms", 0.0),
        "entries": {
            k: [v.get(f) for f in ("median_ms", "min_ms")] for k, v in table.entries.items()
        },
        "families": table.meta.get("families") or {},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class DevicePrior:
    """``N(mean, cov)`` over normalized [group scales..., overhead] of a base table."""

    space: str
    resolution: int
    base_fingerprint: str
    groups: list[str]
    mean: list[float]
    cov: list[list[float]]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": PRIOR_KIND,
            "schema_version": PRIOR_SCHEMA,
            "space": self.space,
            "resolution": self.resolution,
            "base_fingerprint": self.base_fingerprint,
            "groups": self.groups,
            "mean": self.mean,
            "cov": self.cov,
            **self.meta,
        }

    def save(self, path: Path) -> Path:
        from nascli.atomic import write_text_atomic

        write_text_atomic(Path(path), json.dumps(self.to_json(), indent=1) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> DevicePrior:
        path = Path(path)
        from nascli.yamlio import read_json_file

        if not path.exists():
            raise ConfigError(f"prior file {path} does not exist")
        data = read_json_file(path)
        if not isinstance(data, dict) or data.get("kind") != PRIOR_KIND:
            raise ConfigError(f"{path}: not a nascli latency prior (kind {PRIOR_KIND!r})")
        if data.get("schema_version") != PRIOR_SCHEMA:
            raise ConfigError(f"{path}: prior schema {data.get('schema_version')} unsupported")
        try:
            groups, mean, cov = list(data["groups"]), data["mean"], data["cov"]
            dims = len(groups) + 1
            if len(mean) != dims or len(cov) != dims or any(len(r) != dims for r in cov):
                raise ValueError("mean/cov do not match the groups (+ overhead)")
            meta = {
                k: v
                for k, v in data.items()
                if k not in {"kind", "schema_version", "space", "resolution", "base_fingerprint"}
                and k not in {"groups", "mean", "cov"}
            }
            return cls(
                space=str(data["space"]),
                resolution=int(data["resolution"]),
                base_fingerprint=str(data["base_fingerprint"]),
                groups=groups,
                mean=[float(v) for v in mean],
                cov=[[float(v) for v in row] for row in cov],
                meta=meta,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: malformed prior ({exc})") from None

    def matches(self, table: LatencyTable) -> bool:
        return self.base_fingerprint == base_fingerprint(table)

    @property
    def grouping(self) -> str:
        """How the base's entries share scales: ``op`` (op types) or ``key`` (one each)."""
        return str(self.meta.get("grouping", "op"))


def priors_dir() -> Path:
    from nascli.paths import latency_tables_dir

    return latency_tables_dir() / "priors"


def find_prior(base: LatencyTable, folder: Path | None = None) -> tuple[DevicePrior, Path] | None:
    """The shipped prior fitted against ``base`` (same fingerprint), if there is one."""
    folder = folder or priors_dir()
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        prior = DevicePrior.load(path)
        if prior.matches(base):
            return prior, path
    return None


def resolve_prior(base: LatencyTable, choice: str) -> tuple[DevicePrior | None, str | None]:
    """``auto`` (shipped prior for this base, if any), ``none``, or a prior file's path."""
    if choice == "none":
        return None, None
    if choice == "auto":
        found = find_prior(base)
        return (found[0], str(found[1])) if found else (None, None)
    prior = DevicePrior.load(Path(choice))
    if not prior.matches(base):
        raise ConfigError(
            f"prior {choice} was fitted against another base table "
            f"(fingerprint {prior.base_fingerprint}, base has {base_fingerprint(base)})"
        )
    return prior, choice


# ---------------------------------------------------------------------------- the maths
def relative_nnls(x, y):
    """Non-negative [scales..., overhead] minimizing Σ((x_i·s + o − y_i) / y_i)²."""
    import numpy as np
    from scipy.optimize import nnls

    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.column_stack([x, np.ones(len(y))]) / y[:, None]
    coef, _ = nnls(design, np.ones(len(y)), maxiter=5000)
    return coef


def derive_prior_stats(x, latencies) -> tuple[Any, Any, Any]:
    """(mean, cov, z) of per-device normalized full fits; ``latencies`` is nets × devices."""
    import numpy as np

    x = np.asarray(x, float)
    latencies = np.asarray(latencies, float)
    if latencies.ndim != 2 or latencies.shape[1] < 2:
        raise ConfigError("a prior needs latencies of at least 2 devices")
    z = np.array(
        [
            relative_nnls(x, latencies[:, d]) / latencies[:, d].mean()
            for d in range(latencies.shape[1])
        ]
    )
    return z.mean(axis=0), np.cov(z.T), z


def posterior_mean(w, t, mean, cov, sigma: float):
    """MAP of ``c`` for rows ``w·c ≈ t`` with noise σ and prior ``N(mean, cov)`` (NNLS).

    Without the non-negativity bound this is the textbook
    ``(WᵀW/σ² + S⁻¹)⁻¹ (Wᵀt/σ² + S⁻¹ m)``; it is solved as one stacked least-squares
    system ``[W/σ; Lᵀ] c ≈ [t/σ; Lᵀ m]`` with ``S⁻¹ = L Lᵀ``, which NNLS accepts.
    """
    import numpy as np
    from scipy.optimize import nnls

    w, t, mean, cov = (np.asarray(v, float) for v in (w, t, mean, cov))
    precision = np.linalg.inv(cov)
    chol = np.linalg.cholesky((precision + precision.T) / 2)
    design = np.vstack([w / sigma, chol.T])
    target = np.concatenate([t / sigma, chol.T @ mean])
    coef, _ = nnls(design, target, maxiter=5000)
    return coef


def fit_with_prior(x, y, prior: DevicePrior, sigma: float):
    """[scales..., overhead] of one device from K networks and the prior (relative rows)."""
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.column_stack([x, np.ones(len(y))])
    mean = np.asarray(prior.mean, float)
    cov = np.asarray(prior.cov, float)
    cov = (
        cov + COV_FLOOR * np.diag(np.maximum(np.diag(cov), 1e-6)) + SPEED_VAR * np.outer(mean, mean)
    )
    along = design @ mean / y
    speed = float(along.sum() / (along @ along)) if along @ along > 0 else 1.0
    return posterior_mean(design / y[:, None], np.ones(len(y)), speed * mean, speed**2 * cov, sigma)


def _loo_error(x, y, fit: Callable[[Any, Any], Any]) -> float:
    """Mean relative error on each network when fitted on the other K − 1."""
    import numpy as np

    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        coef = fit(x[keep], y[keep])
        errors.append(abs(x[i] @ coef[:-1] + coef[-1] - y[i]) / y[i])
    return float(np.mean(errors))


def fit_prior_calibration(x, y, prior: DevicePrior) -> dict[str, Any]:
    """Scales + overhead of a new device: the prior fit, or per-op scales where it misfits."""
    import numpy as np

    from nascli.latency.calibrate import fit_calibration

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape[1] != len(prior.groups):
        raise ConfigError(f"prior has {len(prior.groups)} groups, base table {x.shape[1]}")

    def per_op(xs, ys):
        fit = fit_calibration(xs, ys)
        return np.append(fit["scales"], fit["overhead_ms"])

    if len(y) < 3:
        coef = fit_with_prior(x, y, prior, SIGMAS[-1])
        return _result(coef, "prior", SIGMAS[-1], None, None)
    errors = {s: _loo_error(x, y, lambda a, b, s=s: fit_with_prior(a, b, prior, s)) for s in SIGMAS}
    sigma = min(errors, key=lambda s: errors[s])
    free = _loo_error(x, y, per_op)
    if free * FALLBACK_RATIO < errors[sigma]:
        return _result(per_op(x, y), "per-op", None, errors[sigma], free)
    return _result(fit_with_prior(x, y, prior, sigma), "prior", sigma, errors[sigma], free)


def _result(coef, method: str, sigma, prior_loo, free_loo) -> dict[str, Any]:
    return {
        "scales": coef[:-1],
        "overhead_ms": float(coef[-1]),
        "method": method,
        "sigma": sigma,
        "loo_mape": prior_loo if method == "prior" else free_loo,
        "loo_mape_prior": prior_loo,
        "loo_mape_per_op": free_loo,
    }


def build_prior(
    base: LatencyTable,
    archs: Sequence[Any],
    latencies,
    devices: Sequence[str],
    source: dict[str, Any],
    grouping: str = "op",
) -> DevicePrior:
    """Fit the prior of ``base`` from ``latencies`` (nets × devices) of ``archs``.

    ``grouping="key"`` gives every entry its own scale (a prior over whole tables): with
    many measured devices it carries how the blocks of a space trade off across hardware.
    """
    import numpy as np
    from scipy.stats import spearmanr

    from nascli.latency.calibrate import GroupSums
    from nascli.latency.table import now_iso

    sums = GroupSums(base, grouping)
    x = np.array([sums(a) for a in archs])
    latencies = np.asarray(latencies, float)
    mean, cov, z = derive_prior_stats(x, latencies)
    fits = {}
    for d, name in enumerate(devices):
        y = latencies[:, d]
        pred = x @ (z[d, :-1] * y.mean()) + z[d, -1] * y.mean()
        fits[name] = {
            "spearman": round(float(spearmanr(pred, y).statistic), 4),
            "mape_pct": round(float(np.mean(np.abs(pred - y) / y) * 100), 3),
        }
    eigen = np.linalg.eigvalsh(cov)[::-1]
    return DevicePrior(
        space=base.space,
        resolution=base.resolution,
        base_fingerprint=base_fingerprint(base),
        groups=list(sums.groups),
        mean=[round(float(v), 9) for v in mean],
        cov=[[round(float(v), 12) for v in row] for row in cov],
        meta={
            "base_device": base.device_name,
            "grouping": grouping,
            "created": now_iso(),
            "method": "N(mean, cov) of per-device NNLS group scales + overhead / mean latency",
            "source": dict(source),
            "devices": list(devices),
            "networks": len(archs),
            "explained_variance": [round(float(v / eigen.sum()), 4) for v in eigen],
            "full_fit": fits,
        },
    )
