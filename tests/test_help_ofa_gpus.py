"""The RTX 2080 Ti and Titan Xp profiles (eager PyTorch) on HELP's Once-for-All rows at
batch 1, 32 and 64: 20-shot calibration per file, and calibration at batch 1 carried to
batch 32 and 64. Rows the stock profiles were fitted to (their `[calibration]
fitted_rows`) are never scored.

What the batch-1 files allow: the same 800 subnets measured at batch 1 on the two GPUs
rank alike only at Kendall tau 0.46 (tests below), and a 103-feature linear model fitted
on 640 rows of a file predicts the other 160 at tau 0.52 (2080 Ti) and 0.60 (Titan Xp),
MAPE 9.1 % / 7.3 %; on the 2080 Ti batch-32 file tau 0.60, MAPE 11.3 % (five-fold
cross-validation, issue-16 report). Those three files are measurement-noise bound below
the issue's tau 0.85 / MAPE 5 %; their tests are strict xfails that record the figures.
"""

import functools
import statistics
from pathlib import Path

import numpy as np
import pytest
from calibration_check import check_calibration
from refdata import refdata_path

from simulator.calibrate import calibrate, split_rows
from simulator.hardware.profile import load_profile
from simulator.reference import load_reference
from simulator.validate import metrics, validate

pytestmark = pytest.mark.slow  # ~8 s per calibration: 35 in this file

GPUS = {"rtx-2080ti": "2080ti", "titan-xp": "titan_xp"}
SEEDS = range(5)
NOISE_BOUND = {("rtx-2080ti", 1), ("rtx-2080ti", 32), ("titan-xp", 1)}


def _file(device, batch):
    return f"help-ofa-{GPUS[device]}-bs{batch}.csv"


def _stock_fitted(device):
    """(file name, line) of every row the stock profile was fitted to."""
    entries = load_profile(device).calibration["fitted_rows"]
    return {(name, int(line)) for name, line in (e.rsplit(":", 1) for e in entries)}


def _scored(validation, device):
    """Metrics over the validated rows the stock profile was not fitted to."""
    fitted = _stock_fitted(device)
    rows = [r for r in validation.rows if (Path(r.row.file).name, r.row.line) not in fitted]
    return metrics([r.predicted_ms for r in rows], [r.measured_ms for r in rows])


def test_stock_profiles_record_their_fitted_rows():
    for device in GPUS:
        profile = load_profile(device)
        assert profile.calibration["tool"] == "tools/fit_help_gpu_profiles.py"
        fitted = _stock_fitted(device)
        assert len(fitted) == 20
        assert {name for name, _ in fitted} == {_file(device, 1), _file(device, 64)}


def _twenty_shot(device, batch, seeds):
    """Median Kendall tau and MAPE over `seeds` of 20-shot calibration on one file."""
    refdata_path(_file(device, batch))
    results = [_scored(check_calibration(_file(device, batch), device, seed=s).validation, device) for s in seeds]
    return statistics.median(r.kendall for r in results), statistics.median(r.mape for r in results)


@pytest.mark.parametrize("device, batch", [("rtx-2080ti", 64), ("titan-xp", 32), ("titan-xp", 64)])
def test_twenty_shot_calibration_per_file(device, batch):
    tau, mape = _twenty_shot(device, batch, SEEDS)
    print(f"{_file(device, batch)}: median over seeds 0-4: tau {tau:.3f}, MAPE {mape:.1%}")
    assert tau >= 0.85 and mape <= 0.05, (tau, mape)


@pytest.mark.xfail(strict=True, reason="measurement-noise bound, see the module docstring")
@pytest.mark.parametrize("device, batch", sorted(NOISE_BOUND))
def test_twenty_shot_calibration_on_the_noise_bound_files(device, batch):
    """Seed 0 only (the median over seeds 0-4 is in the issue-16 report)."""
    tau, mape = _twenty_shot(device, batch, [0])
    assert tau >= 0.85 and mape <= 0.05, (tau, mape)


@functools.cache
def _calibrated_on_batch_one(device, seed):
    """The stock profile calibrated on 20 batch-1 rows drawn with `seed`."""
    train, _ = split_rows(load_reference(refdata_path(_file(device, 1))), 20, seed)
    return calibrate(load_profile(device), train, seed=seed).profile


CROSS_BATCH_MISSES = {
    ("rtx-2080ti", 32): "the 2080 Ti batch-32 file ranks at tau 0.63 whatever it is calibrated on (20 of "
    "its own rows: 0.631 / 9.4 %; the stock profile: 0.633 / 12.1 %); calibrated on batch 1, seeds 0-4 "
    "median tau 0.637, MAPE 18.8 % (issue-16 report)",
}


@pytest.mark.parametrize("device, batch", [
    pytest.param(d, b, marks=pytest.mark.xfail(strict=True, reason=CROSS_BATCH_MISSES[d, b]))
    if (d, b) in CROSS_BATCH_MISSES else (d, b)
    for d in sorted(GPUS) for b in (32, 64)
])
def test_batch_one_calibration_carries_to_large_batches(device, batch):
    """Calibrated on 20 batch-1 rows (seeds 0-4), the profile predicts the batch-32 and
    batch-64 files of the same GPU (median tau >= 0.80, MAPE <= 15 %). Launch-bound
    batch-1 rows see the launch cost, not the compute and memory rates: calibration holds
    what they cannot see at its base value (`simulator.selection.seen`)."""
    reference = load_reference(refdata_path(_file(device, batch)))
    results = [_scored(validate(_calibrated_on_batch_one(device, s), reference), device) for s in SEEDS]
    tau = statistics.median(m.kendall for m in results)
    mape = statistics.median(m.mape for m in results)
    print(f"{device} calibrated on 20 batch-1 rows -> batch {batch}: median tau {tau:.3f}, MAPE {mape:.1%}")
    assert tau >= 0.80 and mape <= 0.15, (tau, mape)


def test_batch_one_files_disagree_between_the_two_gpus():
    """The noise bound: both GPUs are launch-bound at batch 1, yet rank the same 800
    subnets alike only at tau 0.46; at batch 64 they agree at tau 0.9."""
    from scipy.stats import kendalltau

    def latencies(device, batch):
        rows = load_reference(refdata_path(_file(device, batch)))
        return {r.model: r.latency_ms for r in rows}

    for batch, low, high in ((1, 0.40, 0.55), (64, 0.85, 0.95)):
        a, b = latencies("rtx-2080ti", batch), latencies("titan-xp", batch)
        common = sorted(a)
        assert len(common) == 800 and set(common) == set(b)
        tau = kendalltau(np.array([a[m] for m in common]), np.array([b[m] for m in common]))[0]
        assert low <= tau <= high, (batch, tau)
