"""Issue 13's must-holds: on every development file with a base profile, 20-shot
calibration (seeds 0-4, medians) scored on every row it was not fitted to, beside the stock
profile and the MACs proxy (`simulator.fidelity`; `benchmarks/bench_fidelity.py` prints
the same figures). Where a bar is above what any per-op-additive model reaches on the file
even when fitted to all its rows (`additive_ceiling`), the test says so with the figure and
a second test checks that ceiling."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from calibration_check import fidelity_of
from refdata import refdata_path

from simulator.fidelity import BASE_PROFILES, additive_ceiling
from simulator.validate import Metrics

pytestmark = pytest.mark.slow  # every file calibrated 5 times: ~2 min on 2 cores, files in parallel


@functools.cache
def ceiling(name: str) -> Metrics:
    return additive_ceiling(refdata_path(name))


def missed(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


def files(misses: dict[str, str]) -> list[Any]:
    return [pytest.param(n, marks=missed(misses[n])) if n in misses else n for n in BASE_PROFILES]


RANK_MISSES = {
    "help-fbnet-gold_6226.csv": "calibrated tau 0.548 vs proxy 0.650 and stock 0.590: x86-desktop-cpu "
    "predicts 0.5-0.8 ms where HELP measured 54-166 ms, and one scale already drives every efficiency "
    "to its 0.01 bound, the DRAM bandwidth to 1e8 B/s and the per-op cost to 0.7 ms, so the fit can "
    "only rank by op count; the best per-op-additive model reaches 0.915, a base profile of that "
    "runtime is needed (issue 12)",
}


@pytest.mark.parametrize("name", files(RANK_MISSES))
def test_calibration_ranks_no_worse_than_proxy_or_stock(name: str) -> None:
    result = fidelity_of(name)
    tau = result.median("calibrated", "kendall")
    assert tau >= result.median("proxy", "kendall"), result.median("proxy", "kendall")
    assert tau >= result.median("stock", "kendall") - 0.02, result.median("stock", "kendall")


COVERAGE_MISSES: dict[str, str] = {}


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
    "latbench-embedded-tpu-edgetpu-int8.csv": "calibrated tau 0.830 (MAPE 4.2 %); the best "
    "per-op-additive model fitted on all 753 rows reaches 0.837",
    "latbench-mobile-dsp-sd855-hexagon690-int8.csv": "calibrated tau 0.827 (MAPE 3.0 %); the best "
    "per-op-additive model fitted on all 753 rows reaches 0.833",
    "help-nb201-pixel2.csv": "calibrated tau 0.745; the best per-op-additive model fitted on all 800 "
    "rows reaches 0.759",
    "help-fbnet-1080ti_1.csv": "calibrated tau 0.777 (MAPE 1.9 %); the best per-op-additive model "
    "fitted on all 800 rows reaches 0.806",
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


PHONE_MISSES = {
    "help-fbnet-pixel2.csv": "calibrated tau 0.587, MACs proxy 0.585 (+0.02 would be 0.605): whole-"
    "millisecond latencies; the best per-op-additive model fitted on all 800 rows reaches 0.655",
}


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
    "hwnasbench-nb201-raspi4.csv": "median held-out MAPE 10.9 %; the best per-op-additive model fitted "
    "on all 1500 rows reaches 9.0 %, so the 10 % target stands: 20 rows do not pin the cell costs as "
    "well, and ~7 % of rows (a dead node that still runs) are 20-38 % under-predicted",
    "latbench-embedded-gpu-jetson-nano-fp16.csv": "median held-out tau 0.672; the best per-op-additive "
    "model fitted on all 753 rows reaches 0.732, so the 0.70 target stands: the launch-bound fp16 "
    "latencies scatter by ~3 % between repeats and 20 rows do not pin the per-kind costs",
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
