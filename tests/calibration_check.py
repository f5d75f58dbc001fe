"""Helper for the per-device calibration must-holds (not a test file itself).

`check_calibration("latbench-mobile-cpu-sd855-kryo485-int8.csv", "pixel4-cpu")` calibrates
the stock profile on `n_train` seeded rows of a reference file from `../shared/refdata`
and scores it on the rest, beside the MACs proxy fitted on the same training rows. It
skips the calling test when the reference data is not there.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from checked_rows import checked_rows
from refdata import REFDATA, refdata_path

from simulator.calibrate import CalibrationResult, calibrate, score_held_out, split_rows
from simulator.fidelity import BASE_PROFILES, Fidelity, fidelity
from simulator.hardware.profile import load_profile
from simulator.reference import load_reference, reference_graphs
from simulator.validate import Metrics, ValidationResult


@dataclass(frozen=True)
class CheckResult(Metrics):
    """Held-out metrics of the calibrated profile (the `Metrics` fields), plus the MACs
    proxy on the same held-out rows (scale fitted on the training rows), the training
    metrics, the full held-out validation and the calibration itself."""

    proxy: Metrics
    train: Metrics
    validation: ValidationResult
    calibration: CalibrationResult
    seconds: float  # calibration + validation wall time


def check_calibration(
    refdata_file: str,
    base_device: str,
    n_train: int = 20,
    seed: int = 0,
    **profile_overrides: Any,
) -> CheckResult:
    """Calibrate `base_device` (with `profile_overrides` applied through
    `Profile.replace`) on `n_train` seeded rows of `refdata_file`; score the rest."""
    path = refdata_path(refdata_file)
    rows = load_reference(path)
    base = load_profile(base_device)
    if profile_overrides:
        base = base.replace(**profile_overrides)
    train, held = split_rows(rows, n_train, seed)
    if not held:
        raise ValueError(f"{path} has {len(rows)} rows: nothing left after {n_train} for training")
    # The score means something only if no held-out row was fitted, by this calibration or
    # by the stock profile it starts from, and no other row was dropped.
    fitted_lines = {r.line for r in train}
    assert len(train) == n_train and not fitted_lines & {r.line for r in held}
    assert len(fitted_lines) + len(held) == len(rows)
    held = checked_rows(base, held)
    reference_graphs(rows)  # build once, outside the timing: building is not calibrating
    start = time.perf_counter()
    result = calibrate(base, train, seed=seed, reference=path.name)
    validation = score_held_out(result, train, held)
    seconds = time.perf_counter() - start
    return CheckResult(
        **validation.metrics.to_dict(),
        proxy=validation.proxy,
        train=result.metrics,
        validation=validation,
        calibration=result,
        seconds=seconds,
    )


@functools.cache
def _all_fidelity() -> dict[str, Fidelity]:
    """`simulator.fidelity.fidelity` of every development file with a base profile, computed
    once per test session, files in parallel (each builds ~800 graphs and calibrates 5×)."""
    present = [n for n in BASE_PROFILES if (REFDATA / n).is_file()]
    workers = max(1, min(4, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(present, pool.map(fidelity, [REFDATA / n for n in present]), strict=True))


def fidelity_of(name: str) -> Fidelity:
    """20-shot calibration of `name`'s base profile over seeds 0-4, scored on every other
    row (skips the test when the file is absent)."""
    refdata_path(name)
    return _all_fidelity()[name]
