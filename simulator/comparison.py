"""A profile scored on reference rows beside what it should beat: for a calibrated
profile its stock base, always the MACs proxy, and the coverage of its prediction
interval where it has one. Rows a profile was fitted to are never the rows that check it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphs.errors import EdgesimError
from simulator import intervals
from simulator.fitted import fitted_rows
from simulator.hardware.profile import Profile, profile_from_mapping
from simulator.reference import ReferenceRow
from simulator.validate import ValidationResult, validate


@dataclass(frozen=True)
class Comparison:
    result: ValidationResult  # the profile (and the MACs proxy) on the scored rows
    stock: ValidationResult | None  # the stock base of a calibrated profile, same rows
    scored: tuple[ReferenceRow, ...]
    left_out: int  # rows the profile was fitted to, not among the scored rows
    level: float
    coverage: float | None  # share of scored rows inside the `level` interval (not its own rows)
    interval_backing: str
    fitted: ValidationResult | None = None  # the profile on the rows it was fitted to: not a check

    def to_dict(self, worst: int = 5) -> dict[str, Any]:
        data = self.result.to_dict(worst=worst)
        data["rows_fitted_left_out"] = self.left_out
        if self.fitted is not None:
            data["fitted_rows"] = self.fitted.metrics.to_dict()
        if self.stock is not None:
            data["stock"] = {"device": self.stock.device, **self.stock.metrics.to_dict()}
        if self.coverage is not None:
            data["interval"] = {"level": self.level, "coverage": self.coverage, "backed_by": self.interval_backing}
        return data


def stock_base(profile: Profile) -> Profile | None:
    """The profile a calibrated `profile` was fitted from (its free fields and runtime
    switch back at their recorded base values), or None for an uncalibrated one."""
    record = profile.calibration or {}
    before = record.get("before")
    if not before or "base_prune_dead_ops" not in record:
        return None
    base = profile.replace(**dict(before), **{"runtime.prune_dead_ops": record["base_prune_dead_ops"]})
    data = base.to_mapping()
    data.pop("calibration")
    data["name"] = record["base"]
    return profile_from_mapping(data, profile.path or f"<{record['base']}>")


def compare(profile: Profile, rows: Sequence[ReferenceRow], level: float = 0.8,
            include_fitted: bool = False) -> Comparison:
    """Score `profile` on the rows of `rows` it was not fitted to (all of them with
    `include_fitted`); the rows it was fitted to are scored apart, in `fitted`."""
    checked, fitted = fitted_rows(profile).split(rows)
    scored = list(rows) if include_fitted else checked
    if not scored:
        raise EdgesimError(f"{profile.name} was fitted to every one of these {len(rows)} rows: nothing left to check"
                           " (--include-fitted scores them anyway)")
    result = validate(profile, scored)
    base = stock_base(profile)
    stock = validate(base, scored, proxy_scale=result.proxy_scale_ms_per_mac) if base else None
    coverage = None
    backing = ""
    if intervals.residuals(profile) is not None:
        # The rows whose residuals make a stock profile's interval do not check it.
        own = intervals.interval_rows(profile)
        keep = np.array([row not in own for row in scored])
        if keep.any():
            coverage = intervals.coverage(profile, result.predicted_ms[keep], result.measured_ms[keep], level)
            backing = intervals.backing(profile)
    on_fitted = validate(profile, fitted) if fitted and not include_fitted else None
    left_out = 0 if include_fitted else len(fitted)
    return Comparison(result, stock, tuple(scored), left_out, level, coverage, backing, on_fitted)
