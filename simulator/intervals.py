"""Prediction intervals from cross-validated residuals (split conformal).

A calibrated profile records, per metric, the leave-one-out log residuals
ln(measured / predicted) of its training rows. For n such residuals the conformal
q-quantile of the ratio measured/predicted is the ⌈(n + 1)·q⌉-th smallest residual: a new
row drawn like the training rows falls below it with probability at least q. A central
interval of coverage c takes q = (1 − c)/2 and (1 + c)/2.

A stock profile carries the same record only where a validation backs it: residuals of
rows it was not fitted to, which the record lists (`rows`) so that no coverage check
scores them; without one there is no interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphs.errors import EdgesimError
from simulator.fitted import FittedRows, named_rows
from simulator.hardware.profile import Profile
from simulator.reference import ReferenceRow

METHOD = "split conformal on leave-one-out log residuals ln(measured/predicted)"


def interval_record(
    measured: Sequence[float], predicted: Sequence[float], backed_by: str, rows: Sequence[str] = ()
) -> dict[str, Any]:
    """The `[calibration.intervals.<metric>]` table for residuals of `predicted` against
    `measured`; `backed_by` says which rows they come from, `rows` names them
    (`"<file>:<line>"`) where they are not already the profile's fitted rows."""
    residuals = np.sort(np.log(np.asarray(measured, dtype=float) / np.asarray(predicted, dtype=float)))
    record: dict[str, Any] = {"method": METHOD, "backed_by": backed_by}
    if rows:
        record["rows"] = list(rows)
    record["log_residuals"] = [round(float(r), 6) for r in residuals]
    return record


def conformal_split(rows: Sequence[ReferenceRow], seed: int = 0) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """(rows whose residuals make the interval, rows that check its coverage): a seeded
    half of `rows` each, in the order given; the first half is the larger when odd."""
    order = np.random.default_rng(seed).permutation(len(rows))
    first = set(order[: (len(rows) + 1) // 2].tolist())
    return ([r for i, r in enumerate(rows) if i in first], [r for i, r in enumerate(rows) if i not in first])


def interval_rows(profile: Profile, metric: str = "latency") -> FittedRows:
    """The rows listed as backing `profile`'s `metric` interval (none for a calibrated
    profile, whose interval comes from the rows it was fitted to)."""
    table = (profile.calibration or {}).get("intervals", {})
    record = table.get(metric) if isinstance(table, Mapping) else None
    return named_rows((record or {}).get("rows", ()), "", f"{profile.name}: [calibration.intervals.{metric}].rows")


def residuals(profile: Profile, metric: str = "latency") -> np.ndarray | None:
    """The sorted log residuals backing `profile`'s intervals for `metric`, or None."""
    table = (profile.calibration or {}).get("intervals", {})
    record = table.get(metric) if isinstance(table, Mapping) else None
    if not record:
        return None
    return np.sort(np.asarray(record["log_residuals"], dtype=float))


def ratio_quantile(log_residuals: np.ndarray, q: float) -> float:
    """The conformal q-quantile of measured/predicted."""
    if not 0.0 < q < 1.0:
        raise EdgesimError(f"quantile must be between 0 and 1 (exclusive), not {q:g}")
    n = log_residuals.size
    rank = math.ceil((n + 1) * q) if q >= 0.5 else math.floor((n + 1) * q)
    if rank > n or rank < 1:
        need = math.ceil(1 / min(q, 1 - q)) - 1
        raise EdgesimError(
            f"quantile {q:g} needs at least {need} cross-validated residuals; this profile has {n}"
        )
    return float(math.exp(log_residuals[rank - 1]))


def backing(profile: Profile, metric: str = "latency") -> str:
    """Which rows back `profile`'s interval for `metric`."""
    return str(profile.calibration["intervals"][metric]["backed_by"])


def require(profile: Profile, metric: str = "latency") -> np.ndarray:
    """The residuals of `profile`, or an error saying why it has no interval."""
    found = residuals(profile, metric)
    if found is None:
        raise EdgesimError(
            f"{profile.name} has no {metric} interval: only a calibrated profile, or a stock "
            "profile whose [calibration.intervals] a validation backs, carries one"
        )
    return found


def bounds(profile: Profile, coverage: float, metric: str = "latency") -> tuple[float, float]:
    """(low, high) factors on a prediction for a central interval of `coverage`."""
    if not 0.0 < coverage < 1.0:
        raise EdgesimError(f"--interval must be between 0 and 1 (exclusive), not {coverage:g}")
    res = require(profile, metric)
    return ratio_quantile(res, (1 - coverage) / 2), ratio_quantile(res, (1 + coverage) / 2)


def coverage(profile: Profile, predicted: np.ndarray, measured: np.ndarray, level: float = 0.8) -> float:
    """Share of `measured` inside the `level` interval around `predicted`."""
    low, high = bounds(profile, level)
    return float(np.mean((measured >= predicted * low) & (measured <= predicted * high)))
