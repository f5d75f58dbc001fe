"""Issue 13's must-holds: on every development file with a base profile, 20-shot
calibration (seeds 0-4, medians) scored on every row it was not fitted to, beside the stock
profile and the MACs proxy (`simulator.fidelity`; `benchmarks/bench_fidelity.py` prints
the same figures). Where a bar is above what any per-op-additive model reaches on the file
even when fitted to all its rows (`additive_ceiling`), the test says so with the figure and
a second test checks that ceiling, and a third that no graph feature explains what the
additive model leaves (`residual_structure`); the noise between repeated measurements of
one network (`repeat_noise`) is in the reasons, not asserted: on Kryo 485 and NB201 Gold
6226 the additive model itself ranks above what that estimate allows an exact predictor."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from calibration_check import fidelity_of
from refdata import refdata_path

from simulator.fidelity import BASE_PROFILES, additive_ceiling, residual_structure
from simulator.validate import Metrics

pytestmark = pytest.mark.slow  # every file calibrated 5 times: ~2 min on 2 cores, files in parallel


@functools.cache
def ceiling(name: str) -> Metrics:
    return additive_ceiling(refdata_path(name))


def missed(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


def files(misses: dict[str, str]) -> list[Any]:
    return [pytest.param(n, marks=missed(misses[n])) if n in misses else n for n in BASE_PROFILES]


# Met since issue 12 priced per-group calls and grouped 1x1 convs as pointwise (help-fbnet-gold_6226,
# help-fbnet-pixel2 passed here as strict xfails).
RANK_MISSES: dict[str, str] = {}


@pytest.mark.parametrize("name", files(RANK_MISSES))
def test_calibration_ranks_no_worse_than_proxy_or_stock(name: str) -> None:
    result = fidelity_of(name)
    tau = result.median("calibrated", "kendall")
    assert tau >= result.median("proxy", "kendall"), result.median("proxy", "kendall")
    assert tau >= result.median("stock", "kendall") - 0.02, result.median("stock", "kendall")


COVERAGE_MISSES: dict[str, str] = {}  # help-fbnet-1080ti_1 met since issue 12's grouped 1x1 pricing


@pytest.mark.parametrize("name", files(COVERAGE_MISSES))
def test_80pct_interval_covers_70_to_90pct_of_scored_rows(name: str) -> None:
    assert 0.70 <= fidelity_of(name).coverage <= 0.90


# (file, Kendall tau at least, MAPE at most)
BARS = [
    ("latbench-embedded-tpu-edgetpu-int8.csv", 0.85, 0.05),
    ("latbench-mobile-cpu-sd855-kryo485-int8.csv", 0.85, 0.05),
    ("latbench-mobile-dsp-sd855-hexagon690-int8.csv", 0.85, 0.05),
    ("latbench-mobile-gpu-sd855-adreno640-int8.csv", 0.85, 0.05),
    ("latbench-embedded-gpu-jetson-nano-fp32.csv", 0.85, 0.05),
    ("help-nb201-gold_6226.csv", 0.85, 0.05),
    ("help-nb201-1080ti_1.csv", 0.85, 0.05),
    ("help-nb201-pixel2.csv", 0.80, None),
    ("help-fbnet-1080ti_1.csv", 0.85, None),
    ("help-fbnet-titan_rtx_1.csv", 0.85, None),
]
BEYOND_ADDITIVE = {
    "latbench-embedded-tpu-edgetpu-int8.csv": "calibrated tau 0.833 (MAPE 4.1 %); the best "
    "per-op-additive model fitted on all 753 rows reaches 0.837. The bar sits at the noise limit: 57 "
    "networks measured 2-27 times scatter by 5.0 % (sd of ln), so a predictor of every network's true "
    "latency ranks at 0.844 (noise as a share) to 0.862 (noise in ms); no graph feature explains the "
    "additive model's residuals (3.5 % of their variance)",
    "latbench-mobile-dsp-sd855-hexagon690-int8.csv": "calibrated tau 0.797 (MAPE 3.2 %; 0.826 when "
    "the choice took the smallest cross-validated MAPE, not the one-standard-error rule); the best "
    "per-op-additive model fitted on all 753 rows reaches 0.833; 57 networks measured 2-27 times are "
    "4.1 % apart (an exact predictor under that noise: 0.801-0.829), and no graph feature explains the "
    "additive residuals (0.1 % of their variance)",
    "help-nb201-pixel2.csv": "calibrated tau 0.752; the best per-op-additive model fitted on all 800 "
    "rows reaches 0.759; 18 networks measured twice are 11.7 % apart, so an exact predictor ranks at "
    "0.801-0.825, at the bar; no graph feature explains the additive residuals (0.5 %)",
    "help-fbnet-1080ti_1.csv": "calibrated tau 0.764 (MAPE 2.0 %); the best per-op-additive model "
    "fitted on all 800 rows reaches 0.806; no network is measured twice, and no graph feature explains "
    "the additive residuals (0.0 % of their variance, sd 1.9 %)",
}


@pytest.mark.parametrize(("name", "tau", "mape"), [
    pytest.param(n, t, m, marks=missed(BEYOND_ADDITIVE[n])) if n in BEYOND_ADDITIVE else (n, t, m)
    for n, t, m in BARS
])
def test_calibrated_tau_and_mape_bars(name: str, tau: float, mape: float | None) -> None:
    result = fidelity_of(name)
    assert result.median("calibrated", "kendall") >= tau
    if mape is not None:
        assert result.median("calibrated", "mape") <= mape


@pytest.mark.parametrize("name", list(BEYOND_ADDITIVE))
def test_those_bars_are_beyond_any_additive_model(name: str) -> None:
    """The tau bar is above what the best per-op-additive model fitted on ALL rows reaches,
    and the 20-shot calibration comes within 0.05 of that ceiling."""
    bar = next(t for n, t, _ in BARS if n == name)
    best = ceiling(name)
    assert best.kendall < bar
    assert fidelity_of(name).median("calibrated", "kendall") >= best.kendall - 0.05


@pytest.mark.parametrize("name", list(BEYOND_ADDITIVE))
def test_no_graph_feature_explains_what_the_additive_model_leaves(name: str) -> None:
    """A physical non-additive effect (on-chip memory, overlap along the critical path,
    branch scheduling) would follow ops run, depth, joins, MACs or parameter bytes: together
    they explain under a tenth of the variance of the best additive model's residuals."""
    spearman, explained = residual_structure(refdata_path(name))
    assert explained < 0.10, spearman


PHONE_MISSES: dict[str, str] = {}  # help-fbnet-pixel2 met since issue 12's per-group cost


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=missed(PHONE_MISSES[n])) if n in PHONE_MISSES else n
    for n in ("help-fbnet-pixel2.csv", "help-fbnet-samsung_a50.csv")
])
def test_fbnet_phones_rank_above_the_proxy(name: str) -> None:
    result = fidelity_of(name)
    assert result.median("calibrated", "kendall") >= result.median("proxy", "kendall") + 0.02


# Issue 6's targets that were strict xfails: (file, metric, target). The bar is the target,
# or the best per-op-additive model fitted on all rows where that model cannot reach it.
OLD_TARGETS = [
    ("hwnasbench-nb201-raspi4.csv", "mape", 0.10),
    ("latbench-embedded-gpu-jetson-nano-fp16.csv", "kendall", 0.70),
]
OLD_TARGET_MISSES = {
    "hwnasbench-nb201-raspi4.csv": "median held-out MAPE 11.8 % on raspi4-cpu-pytorch-tflite (stock "
    "11.8 %); the best per-op-additive model fitted on all 1500 rows reaches 9.0 %, so the 10 % target "
    "stands. Found, not landed: a dead node made of one conv that only zero edges read still runs "
    "(those cells measure 1.2-2.5x their pruned prediction; a node summing two ops, or read by another op, "
    "does not); with that rule the ceiling is 7.9 %, the stock refitted on its 30 rows 9.6 % and the "
    "20-shot calibration 9.9 %, but its 80 % interval then covers 69 % (the coverage bar, met today)",
    "latbench-embedded-gpu-jetson-nano-fp16.csv": "median held-out tau 0.694 (stock 0.694); the best "
    "per-op-additive model fitted on all 753 rows reaches 0.732: it is five costs (an add 25 us, a 3x3 "
    "pool 38, a 1x1 conv 29, a 3x3 conv 16, 3.6 ms per inference), and those five fitted on each seed's "
    "20 rows rank the rest at 0.674 (median), the stock refitted with pool and add launches free at "
    "0.695; the noise between repeats (57 networks, 3.8 % apart) allows 0.83-0.85, so the 0.70 target "
    "stands: 20 rows do not pin the per-kind costs of launch-bound fp16 latencies",
}


@pytest.mark.parametrize(("name", "metric", "target"), [
    pytest.param(n, m, t, marks=missed(OLD_TARGET_MISSES[n])) if n in OLD_TARGET_MISSES else (n, m, t)
    for n, m, t in OLD_TARGETS
])
def test_old_targets_or_the_additive_ceiling(name: str, metric: str, target: float) -> None:
    best = getattr(ceiling(name), metric)
    value = fidelity_of(name).median("calibrated", metric)
    if metric == "mape":
        assert value <= max(target, best)
    else:
        assert value >= min(target, best)
