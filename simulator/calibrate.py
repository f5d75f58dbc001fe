"""Fit a profile's free coefficients to reference measurements, choosing how much to fit
by cross-validation.

The cost model declares which profile fields may move (`CostModel.free_parameters`) and
their bounds. `calibrate` considers nested parameter sets, from one global scale on every
time-bearing field up to every free field on its own (`param_sets`), each with several
strengths of a prior toward the base profile, and the runtime's choice of removing dead
ops (`runtime.prune_dead_ops`). It scores every candidate by leave-one-out on the
training rows (`simulator.selection`), keeps, of those within one standard error of the
smallest cross-validated MAPE, the best-ranking then the simplest (`selection.choose`;
never worse than the base with one fitted scale), fits it on all rows and records
the choice, the cross-validated figures of the base, the fit and the MACs proxy, and the
cross-validated residuals that give prediction intervals (`simulator.intervals`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from simulator import selection
from simulator.costmodels import model_class
from simulator.engine.rewrite import plan
from simulator.hardware.profile import Profile, profile_from_mapping
from simulator.intervals import interval_record
from simulator.progress import progress
from simulator.reference import ReferenceRow, reference_graphs
from simulator.selection import Design, Score
from simulator.validate import Metrics, ValidationResult, fit_proxy_scale, metrics, predict_ms, validate

# A fitted field that moves further than this factor from the base gets a warning.
WARN_FACTOR = 4.0
# Rows below which nothing is fitted: one scale fitted in a leave-one-out fold needs two
# rows, and the fold's own row checks it.
MIN_ROWS = 3


@dataclass(frozen=True)
class CalibrationResult:
    profile: Profile  # the fitted profile, with its `[calibration]` record
    metrics: Metrics  # of the fitted profile on the training rows
    base_metrics: Metrics  # of the base profile on the same rows
    fitted: dict[str, tuple[float, float]] = field(default_factory=dict)  # path -> (before, after)
    choices: dict[str, bool] = field(default_factory=dict)  # decided runtime switches
    chosen: str = ""  # the parameter set and prior strength cross-validation chose
    cv: dict[str, Score] = field(default_factory=dict)  # "base", "fit", "proxy" -> leave-one-out score
    warnings: tuple[str, ...] = ()


def split_rows(
    rows: Sequence[ReferenceRow], n_train: int | None, seed: int = 0
) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """(training rows, held-out rows): `n_train` rows drawn with `seed`, the rest held out.
    `n_train=None` (or equal to the row count) trains on everything and holds nothing out."""
    if n_train is None or n_train == len(rows):
        return list(rows), []
    if n_train < 1:
        raise EdgesimError(f"--train must be at least 1, not {n_train}")
    if n_train > len(rows):
        raise EdgesimError(f"--train {n_train}: the reference has only {len(rows)} rows")
    order = np.random.default_rng(seed).permutation(len(rows))
    train = sorted(order[:n_train])
    held = sorted(order[n_train:])
    return [rows[i] for i in train], [rows[i] for i in held]


def check_rows(rows: Sequence[ReferenceRow]) -> None:
    """Refuse training rows that cannot support a cross-validated fit."""
    models = {r.model for r in rows}
    if len(models) < MIN_ROWS:
        dup = f" ({len(rows)} rows, {len(models)} distinct models)" if len(rows) != len(models) else ""
        raise EdgesimError(
            f"calibrate: {len(models)} distinct models{dup}; a cross-validated fit of even one "
            f"scale needs at least {MIN_ROWS}"
        )
    if len({r.latency_ms for r in rows}) < 2:
        raise EdgesimError(
            f"calibrate: all {len(rows)} latencies are {rows[0].latency_ms:g} ms; constant "
            "measurements carry no information to fit or rank"
        )


def calibrate(
    profile: Profile,
    rows: Sequence[ReferenceRow],
    *,
    name: str | None = None,
    seed: int | None = None,
    reference: str | None = None,
    choose_runtime: bool = True,
) -> CalibrationResult:
    """Fit `profile`'s free parameters to `rows`, choosing the parameter set, the prior
    strength and (unless `choose_runtime=False`) `runtime.prune_dead_ops` by
    leave-one-out. `name` names the new profile (default `<base>-calibrated`); `seed` and
    `reference` are recorded in `[calibration]`."""
    if not rows:
        raise EdgesimError("calibrate: no reference rows to fit")
    check_rows(rows)
    free = model_class(profile.kind).free_parameters(profile)
    if not free:
        raise EdgesimError(f"profile {profile.name}: its {profile.kind} model has no free parameters")
    graphs = reference_graphs(rows)
    measured = np.array([r.latency_ms for r in rows])
    groups = np.unique([r.model for r in rows], return_inverse=True)[1]
    predict = functools.partial(predict_ms, graphs=graphs)

    variants = [profile]
    # Only worth a second linearisation when pruning changes at least one of these graphs.
    pruning = dataclasses.replace(profile.runtime, prune_dead_ops=True)
    if choose_runtime and any(plan(g.flat(), pruning).pruned for g in _unique(graphs)):
        variants.append(profile.replace(**{"runtime.prune_dead_ops": not profile.runtime.prune_dead_ops}))
    # Fields that carry too small a share of the rows' predicted time to be told apart
    # (`selection.seen`, judged at the base) stay at their base values throughout. Each
    # variant's seen fields are first scaled together (the bulk of most corrections, and
    # exact); the candidates are then linearised around the scaled profile and their prior
    # pulls toward it.
    centres, seens, cands = [], [], []
    for variant in progress(variants, desc="fitting", unit="variant"):
        fields = selection.make_fields(variant, free)
        seen = selection.seen(selection.linearise(variant, fields, np.ones(len(fields)), predict))
        centre = selection.fit_scale(variant, fields, measured, predict, active=seen)
        fields = selection.make_fields(centre, free)
        lin = selection.linearise(centre, fields, np.ones(len(fields)), predict)
        sets = selection.param_sets(fields, seen)
        found = selection.candidates([Design(lin, s) for s in sets], measured, groups)
        centres += [centre] * len(found)
        seens += [seen] * len(found)
        cands += found
    scale = cands[0]  # the base (its own runtime) with one fitted scale
    chosen = selection.choose(cands, ceiling=scale.cv.mape)
    centre = centres[cands.index(chosen)]
    seen = seens[cands.index(chosen)]

    final = selection.refit(centre, chosen, measured, predict)
    fitted = selection.apply(centre, final.fields, final.m)
    # A field the surrogate moved past a bound, or a roofline that changed side, can leave
    # the real predictions off by a common factor: one exact scale takes it out.
    best = selection.fit_scale(fitted, selection.make_fields(fitted, free), measured, predict, active=seen)
    # The interval's residuals: leave-one-out of the chosen set around what is written.
    at_best = np.array([f.multiplier(float(best.get(f.path))) for f in final.fields])
    lin_best = selection.linearise(centre, final.fields, at_best, predict)
    residual_loo = selection.loo_predictions(Design(lin_best, chosen.design.pset), measured, groups,
                                             chosen.prior_weight)
    proxy_loo = _proxy_loo([float(g.macs) for g in graphs], measured, groups)
    cv = {
        "base": scale.cv,
        "fit": chosen.cv,
        "proxy": selection.score(proxy_loo, measured),
    }

    before = {p.path: float(profile.get(p.path)) for p in free}
    after = {p.path: float(best.get(p.path)) for p in free}
    base_m = metrics(predict_ms(profile, graphs), measured)
    fit_m = metrics(predict_ms(best, graphs), measured)
    choices = {"prune_dead_ops": best.runtime.prune_dead_ops}
    warnings = _warnings(profile, best, before, after, cv)
    record = {
        "base": profile.name,
        "base_file": profile.path,
        "reference": reference or _files(rows),
        "rows": len(rows),
        "fitted_rows": [r.line for r in rows],
        "date": datetime.date.today().isoformat(),
        "method": "bounded ridge regression on relative error, linearised in field multipliers "
        "(re-linearised twice); parameter set, prior weight and prune_dead_ops chosen by "
        "leave-one-out cross-validation",
        "chosen": chosen.design.pset.name,
        "prior_weight": chosen.prior_weight,
        "prune_dead_ops": choices["prune_dead_ops"],
        "base_prune_dead_ops": profile.runtime.prune_dead_ops,
        "before": before,
        "after": after,
        "train": {k: v for k, v in fit_m.to_dict().items() if v is not None},
        "cv": {k: _finite(v.to_dict()) for k, v in cv.items()},
        "intervals": {"latency": interval_record(
            measured, residual_loo, f"leave-one-out residuals of the {len(rows)} rows it was fitted to")},
    }
    if warnings:
        record["warnings"] = list(warnings)
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
    return CalibrationResult(
        profile=profile_from_mapping(data, profile.path or f"<{profile.name}>"),
        metrics=fit_m,
        base_metrics=base_m,
        fitted={k: (before[k], after[k]) for k in before},
        choices=choices,
        chosen=chosen.label,
        cv=cv,
        warnings=warnings,
    )


def score_held_out(
    result: CalibrationResult, train: Sequence[ReferenceRow], held: Sequence[ReferenceRow]
) -> ValidationResult:
    """The fitted profile on the rows it was not fitted to, beside the MACs proxy whose one
    scale is fitted on the same training rows (what `calibrate --train N` reports)."""
    scale = fit_proxy_scale([g.macs for g in reference_graphs(train)], [r.latency_ms for r in train])
    return validate(result.profile, held, proxy_scale=scale)


def _proxy_loo(macs: Sequence[float], measured: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The MACs proxy's leave-one-out predictions (its scale fitted on the other rows)."""
    macs_arr = np.asarray(macs)
    out = np.empty_like(measured)
    for g in np.unique(groups):
        held = groups == g
        out[held] = fit_proxy_scale(macs_arr[~held], measured[~held]) * macs_arr[held]
    return out


def _warnings(
    base: Profile, fitted: Profile, before: dict[str, float], after: dict[str, float], cv: dict[str, Score]
) -> tuple[str, ...]:
    out = []
    fit, proxy = cv["fit"], cv["proxy"]
    if fit.kendall < proxy.kendall:
        out.append(
            f"the fit ranks the training rows below the MACs proxy (cross-validated Kendall tau "
            f"{fit.kendall:.2f} vs {proxy.kendall:.2f}): rank candidates by MACs rather than by it"
        )
    moved = [(k, before[k], after[k]) for k in before
             if before[k] > 0 and after[k] > 0 and max(after[k] / before[k], before[k] / after[k]) > WARN_FACTOR]
    if moved:
        fields = ", ".join(f"{k} {a:.3g} -> {b:.3g}" for k, a, b in moved)
        out.append(
            f"fields moved more than x{WARN_FACTOR:g} from the base: {fields}; zoo models whose "
            f"prediction moves most: {_most_moved(base, fitted)}"
        )
    return tuple(out)


@functools.cache
def _zoo() -> tuple[tuple[str, OpGraph], ...]:
    from graphs import build, entries

    return tuple((m.name, build(m.name)) for m in entries() if m.task != "search_space")


def _most_moved(base: Profile, fitted: Profile, k: int = 3) -> str:
    """The `k` zoo models whose predicted latency changes by the largest factor."""
    zoo = _zoo()
    graphs = [g for _, g in zoo]
    try:
        old, new = predict_ms(base, graphs), predict_ms(fitted, graphs)
    except EdgesimError:  # a profile that cannot run some zoo op (no host to fall back to)
        return "(the zoo does not run on this profile)"
    ratio = np.abs(np.log(new / old))
    order = np.argsort(-ratio)[:k]
    return ", ".join(f"{zoo[i][0]} {old[i]:.3g} -> {new[i]:.3g} ms" for i in order)


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if v == v}  # TOML has no NaN


def _unique(graphs: Sequence[OpGraph]) -> list[OpGraph]:
    return list({id(g): g for g in graphs}.values())


def _files(rows: Sequence[ReferenceRow]) -> str:
    return ", ".join(sorted({r.file for r in rows}))
