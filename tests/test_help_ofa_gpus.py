"""The RTX 2080 Ti and Titan Xp profiles (eager PyTorch) on HELP's Once-for-All rows at
batch 1, 32 and 64: 20-shot calibration per file, and calibration at batch 1 carried to
batch 32 and 64. Rows the stock profiles were fitted to (their `[calibration]
fitted_rows`) are never scored.

What the files allow: a flexible model of the architecture (a ridge regression on 403
block features: each active block's kernel and expand ratio, alone and times the pixel
count, every stage's depth, the resolution) fitted on 640 rows of a file predicts the
other 160 (five folds) at tau 0.89-0.95, MAPE 2.5-4.6 % on the 2080 Ti batch-64 and Titan
Xp batch-32/-64 files, and at only tau 0.56 / 0.55 / 0.62, MAPE 9.9 / 12.2 / 8.7 % on the
2080 Ti batch-1 and batch-32 and Titan Xp batch-1 files (test below). What 640 rows cannot
teach, 20 cannot: those three files do not carry the issue's tau 0.85 / MAPE 5 % in their
architecture (the same 800 subnets at batch 1 rank alike on the two GPUs only at tau
0.46), and their 20-shot tests are strict xfails.
"""

import functools
import statistics
from pathlib import Path

import numpy as np
import pytest
from calibration_check import check_calibration
from refdata import refdata_path
from scipy.stats import kendalltau

from graphs.spaces import ofa_mbv3 as ofa
from graphs.spec import parse_spec
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


@pytest.mark.xfail(strict=True, reason="beyond what the file's architectures explain: 640 rows teach a "
                   "403-feature model only tau 0.55-0.62 (test_what_640_rows_teach_a_flexible_model)")
@pytest.mark.parametrize("device, batch", sorted(NOISE_BOUND))
def test_twenty_shot_calibration_on_the_noise_bound_files(device, batch):
    """Seed 0 only (the median over seeds 0-4 is in the issue-16 report)."""
    tau, mape = _twenty_shot(device, batch, [0])
    assert tau >= 0.85 and mape <= 0.05, (tau, mape)


def _block_features(model):
    """One row of the learner's design (see the module docstring)."""
    options = parse_spec(model)[1]
    options.pop("batch", None)
    arch = ofa.parse(**options)
    pixels = (arch.resolution / 224) ** 2
    row = []
    for slot in range(len(arch.ks)):
        onehot = np.zeros(len(ofa.KERNELS) * len(ofa.EXPANDS))
        if slot % 4 < arch.d[slot // 4]:  # four slots per stage, the first d of them active
            onehot[ofa.KERNELS.index(arch.ks[slot]) * len(ofa.EXPANDS) + ofa.EXPANDS.index(arch.e[slot])] = 1
        row += [*onehot, *(onehot * pixels)]
    row += [float(d == depth) for d in arch.d for depth in ofa.DEPTHS]
    row += [float(arch.resolution == r) for r in ofa.RESOLUTIONS] + [pixels, float(sum(arch.d))]
    return row


def _learned(device, batch):
    """Held-out Kendall tau and MAPE of a ridge regression of log latency on the block
    features, five folds of 640 training rows; the ridge strength is the one that ranks
    best on the same folds, so the figure is a ceiling, not an estimate."""
    rows = load_reference(refdata_path(_file(device, batch)))
    x = np.array([_block_features(r.model) for r in rows])
    y = np.log([r.latency_ms for r in rows])
    folds = np.array_split(np.random.default_rng(0).permutation(len(y)), 5)
    found = []
    for lam in (0.3, 1, 3, 10, 30, 100, 300, 1000, 3000):
        predicted = np.empty_like(y)
        for held in folds:
            train = np.setdiff1d(np.arange(len(y)), held)
            mean = y[train].mean()
            w = np.linalg.solve(x[train].T @ x[train] + lam * np.eye(x.shape[1]), x[train].T @ (y[train] - mean))
            predicted[held] = x[held] @ w + mean
        found.append((kendalltau(predicted, y).statistic, float(np.mean(np.abs(np.expm1(predicted - y))))))
    return max(found)


@pytest.mark.parametrize("device, batch", [(d, b) for d in sorted(GPUS) for b in (1, 32, 64)])
def test_what_640_rows_teach_a_flexible_model(device, batch):
    """The learner reaches the issue's bars where calibration does, and stays far below
    them on the three files whose 20-shot tests are xfails: there the latencies vary in
    ways the architecture does not explain (measurement noise, or the host)."""
    tau, mape = _learned(device, batch)
    print(f"{_file(device, batch)}: 5-fold held-out tau {tau:.3f}, MAPE {mape:.1%}")
    if (device, batch) in NOISE_BOUND:
        assert tau < 0.70 and mape > 0.08, (tau, mape)
    else:
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
