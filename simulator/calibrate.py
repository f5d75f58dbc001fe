"""Fit a profile's free coefficients to reference measurements.

The cost model declares which profile fields may move (`CostModel.free_parameters`) and
their bounds. `calibrate` fits them with `scipy.optimize.least_squares` on the residuals
log(predicted / measured) — relative error, so fast and slow networks count alike — plus
one prior residual per parameter,

    PRIOR_WEIGHT × (x − x_base)      x = ln(value) for log-scale fields, else value / base

which pulls each field toward the base profile. With PRIOR_WEIGHT = 0.1, moving a field
by a factor e costs as much as one row mispredicted by 10 %: 10–20 rows that inform a
field outweigh the prior, while fields the rows cannot see (an op category they do not
use) stay at their base values instead of wandering to a bound.

Runtime choices that are not continuous (`runtime.prune_dead_ops`: whether the measured
runtime removed ops no output depends on) are decided by fitting both settings and
keeping the one with the smaller training cost.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from simulator.costmodels import FreeParameter, model_class
from simulator.profile import Profile, profile_from_mapping
from simulator.reference import ReferenceRow, reference_graphs
from simulator.rewrite import plan
from simulator.validate import Metrics, ValidationResult, fit_proxy_scale, metrics, predict_ms, validate

PRIOR_WEIGHT = 0.1


@dataclass(frozen=True)
class CalibrationResult:
    profile: Profile  # the fitted profile, with its `[calibration]` record
    metrics: Metrics  # of the fitted profile on the training rows
    base_metrics: Metrics  # of the base profile on the same rows
    fitted: dict[str, tuple[float, float]] = field(default_factory=dict)  # path -> (before, after)
    choices: dict[str, bool] = field(default_factory=dict)  # decided runtime switches


def split_rows(
    rows: Sequence[ReferenceRow], n_train: int | None, seed: int = 0
) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """(training rows, held-out rows): `n_train` rows drawn with `seed`, the rest held out.
    `n_train=None` (or ≥ the row count) trains on everything and holds nothing out."""
    if n_train is None or n_train >= len(rows):
        return list(rows), []
    if n_train < 1:
        raise EdgesimError(f"--train must be at least 1, not {n_train}")
    order = np.random.default_rng(seed).permutation(len(rows))
    train = sorted(order[:n_train])
    held = sorted(order[n_train:])
    return [rows[i] for i in train], [rows[i] for i in held]


def calibrate(
    profile: Profile,
    rows: Sequence[ReferenceRow],
    *,
    name: str | None = None,
    seed: int | None = None,
    reference: str | None = None,
    prior_weight: float = PRIOR_WEIGHT,
    choose_runtime: bool = True,
) -> CalibrationResult:
    """Fit `profile`'s free parameters to `rows`. `name` names the new profile (default
    `<base>-calibrated`); `seed` and `reference` are recorded in `[calibration]`. With
    `choose_runtime=False` the profile's `runtime.prune_dead_ops` is kept as it is."""
    if not rows:
        raise EdgesimError("calibrate: no reference rows to fit")
    free = model_class(profile.kind).free_parameters(profile)
    if not free:
        raise EdgesimError(f"profile {profile.name}: its {profile.kind} model has no free parameters")
    graphs = reference_graphs(rows)
    measured = np.array([r.latency_ms for r in rows])

    candidates = [profile]
    # Only worth a second fit when pruning changes at least one of these graphs.
    pruning = dataclasses.replace(profile.runtime, prune_dead_ops=True)
    if choose_runtime and any(plan(g.flat(), pruning).pruned for g in _unique(graphs)):
        flipped = not profile.runtime.prune_dead_ops
        candidates.append(profile.replace(**{"runtime.prune_dead_ops": flipped}))
    fits = [_fit(c, free, graphs, measured, prior_weight) for c in candidates]
    best = min(fits, key=lambda f: f[1])[0]

    before = {p.path: float(profile.get(p.path)) for p in free}
    after = {p.path: float(best.get(p.path)) for p in free}
    base_m = metrics(predict_ms(profile, graphs), measured)
    fit_m = metrics(predict_ms(best, graphs), measured)
    choices = {"prune_dead_ops": best.runtime.prune_dead_ops}
    record = {
        "base": profile.name,
        "base_file": profile.path,
        "reference": reference or _files(rows),
        "rows": len(rows),
        "date": datetime.date.today().isoformat(),
        "method": f"scipy least_squares on log(pred/measured), prior weight {prior_weight}",
        "prune_dead_ops": choices["prune_dead_ops"],
        "before": before,
        "after": after,
        "train": {k: v for k, v in fit_m.to_dict().items() if v is not None},
    }
    if seed is not None:
        record["seed"] = seed
    new_name = name or f"{profile.name}-calibrated"
    sources = dict(best.sources)
    sources["calibration"] = (
        f"fitted fields ({', '.join(after)}) to {len(rows)} rows of {record['reference']}; "
        "see [calibration]"
    )
    data = best.to_mapping()
    data.update(name=new_name, sources=sources, calibration=record)
    data["description"] = f"{profile.description} (calibrated on {len(rows)} rows)"
    fitted = profile_from_mapping(data, profile.path or f"<{profile.name}>")
    return CalibrationResult(
        profile=fitted,
        metrics=fit_m,
        base_metrics=base_m,
        fitted={k: (before[k], after[k]) for k in before},
        choices=choices,
    )


def score_held_out(
    result: CalibrationResult, train: Sequence[ReferenceRow], held: Sequence[ReferenceRow]
) -> ValidationResult:
    """The fitted profile on the rows it was not fitted to, beside the MACs proxy whose one
    scale is fitted on the same training rows (what `calibrate --train N` reports)."""
    scale = fit_proxy_scale([g.macs for g in reference_graphs(train)], [r.latency_ms for r in train])
    return validate(result.profile, held, proxy_scale=scale)


def _fit(
    profile: Profile,
    free: Sequence[FreeParameter],
    graphs: Sequence[OpGraph],
    measured: np.ndarray,
    prior_weight: float,
) -> tuple[Profile, float]:
    """Least-squares fit of `free` on `profile`; (fitted profile, data cost)."""
    x0 = np.array([_to_x(p, _clip(p, float(profile.get(p.path)))) for p in free])
    lower = np.array([_to_x(p, p.lower) for p in free])
    upper = np.array([_to_x(p, p.upper) for p in free])
    base_x = x0.copy()
    # Log-scale fields: the prior is on ln(value); others on value relative to the base.
    prior = np.array(
        [prior_weight if p.log_scale else prior_weight / _linear_scale(p, v)
         for p, v in zip(free, x0, strict=True)]
    )
    log_measured = np.log(measured)

    def with_x(x: np.ndarray) -> Profile:
        return profile.replace(**{p.path: _from_x(p, v) for p, v in zip(free, x, strict=True)})

    def residuals(x: np.ndarray) -> np.ndarray:
        pred = predict_ms(with_x(x), graphs)
        data = np.log(np.maximum(pred, 1e-12)) - log_measured
        return np.concatenate([data, prior * (x - base_x)])

    # Finite differences with a step that moves a prediction measurably (a relative step
    # of 1e-4 in log space is a 0.01 % change of the field).
    result = least_squares(
        residuals, x0, bounds=(lower, upper), method="trf", diff_step=1e-4, x_scale=1.0,
        xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=200,
    )
    fitted = with_x(result.x)
    data_cost = float(np.sum(result.fun[: len(measured)] ** 2))
    return fitted, data_cost


def _to_x(p: FreeParameter, value: float) -> float:
    return math.log(value) if p.log_scale else value


def _from_x(p: FreeParameter, x: float) -> float:
    return float(min(max(math.exp(x), p.lower), p.upper)) if p.log_scale else float(x)


def _linear_scale(p: FreeParameter, base: float) -> float:
    return abs(base) if base else (p.upper - p.lower) or 1.0


def _clip(p: FreeParameter, value: float) -> float:
    return min(max(value, p.lower), p.upper)


def _unique(graphs: Sequence[OpGraph]) -> list[OpGraph]:
    return list({id(g): g for g in graphs}.values())


def _files(rows: Sequence[ReferenceRow]) -> str:
    return ", ".join(sorted({r.file for r in rows}))
