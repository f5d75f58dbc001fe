"""Stock profiles against the measurements of their own chip and runtime, on the rows they
were NOT fitted to.

Each stock profile of `tools/fit_stock_profiles.py` lists its fitted rows in
`[calibration].fitted_rows`; every other row of its development files (and of its
published labels) checks it here. Nothing is fitted at test time.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pytest

from simulator.hardware.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import fit_stock_profiles as stock  # noqa: E402
from refdata import refdata_path  # noqa: E402

REFDATA = ROOT.parent / "shared" / "refdata"

# Before: the stock profile of the chip on main before issue 12 (143101f), no calibration,
# scored on every row of the file: (profile, MAPE, share within ±10 %, Kendall tau).
BEFORE = {
    "latbench-mobile-cpu-sd855-kryo485-int8.csv": ("pixel4-cpu", 0.840, 0.00, 0.729),
    "latbench-mobile-dsp-sd855-hexagon690-int8.csv": ("hexagon-690", 0.547, 0.00, 0.784),
    "latbench-mobile-gpu-sd855-adreno640-int8.csv": ("adreno-640", 0.173, 0.27, 0.661),
    "latbench-embedded-gpu-jetson-nano-fp32.csv": ("jetson-nano", 0.878, 0.00, 0.780),
    "latbench-embedded-gpu-jetson-nano-fp16.csv": ("jetson-nano", 0.616, 0.00, 0.633),
    "hwnasbench-nb201-pixel3.csv": ("pixel3-cpu", 0.214, 0.17, 0.805),
    "hwnasbench-nb201-raspi4.csv": ("raspi4-cpu", 0.391, 0.01, 0.862),
    "help-nb201-pixel2.csv": ("pixel2-cpu", 0.319, 0.20, 0.643),
    "help-fbnet-pixel2.csv": ("pixel2-cpu", 0.432, 0.00, 0.518),
    "help-nb201-gold_6226.csv": ("x86-desktop-cpu", 0.942, 0.00, 0.642),
    "help-fbnet-gold_6226.csv": ("x86-desktop-cpu", 0.994, 0.00, 0.589),
    "help-nb201-1080ti_1.csv": ("gtx-1080ti", 0.877, 0.00, 0.649),
    "help-fbnet-1080ti_1.csv": ("gtx-1080ti", 0.919, 0.00, 0.320),
    "help-fbnet-titan_rtx_1.csv": ("gtx-1080ti", 0.894, 0.00, 0.333),
    "help-fbnet-samsung_a50.csv": ("pixel4-cpu", 0.958, 0.00, 0.671),
    "hwnasbench-anchors-jetson-tx2.csv": ("jetson-tx2", 0.631, 0.00, -0.181),
}
MAPE_BAR = 0.15
WITHIN_BAR = 0.50
PUBLISHED_BAR = 0.15

# Files where the bar is not reached, with what was measured (README, "Stock profiles").
MISSES = {
    "help-nb201-pixel2.csv": (
        "48 % of rows within ±10 % (MAPE 11.5 %, tau 0.751): HELP's Pixel 2 latencies are whole "
        "milliseconds (10-20 ms), so ±1 ms steps are ±5-10 %; the best per-op-additive model "
        "fitted on ALL rows reaches 42 %"),
}
# DeepEdgeBench's runtime profiles (raspi4-cpu-tflite-python, coral-devboard-cpu) fit one
# field per precision to the campaign's three networks and are checked on its power runs:
# MobileNet v1 0.25/128 int8 runs 1.30x faster per MAC than MobileNetV2 int8 there (the model
# prices it 6-7 % slower), which two fields cannot both follow. The ratio is the runtime's, not a
# core's or a cache's: the same loop gives v2/v1 = 28.8 (Pi 4 A72, 1 MB L2), 28.8 (Dev Board
# A53, in-order, 1 MB L2) and 28.7 (Nano A57, 2 MB L2) against 22.2x the MACs: v2 would need
# ~30 ms (A72) / ~50 ms (A53) more than v1's per-MAC rate gives. Cache residency cannot make it:
# v2's memory terms are 1.8 % of its priced time, and streaming every v2 tensor above 16 KB
# (L1) from L2 (39 MB, 0.13 B/MAC against v1 0.25/128's 0.11) costs 1.6 ms (A72) / 3.3 ms (A53);
# a cost per packed or requantized element goes the wrong way (v1 0.25/128 has 1.3x v2's
# elements per MAC).
# raspi4-cpu keeps NobuoTsukamoto's XNNPACK rows; its int8 label has two.
PUBLISHED_MISSES = {
    "raspi4-cpu@int8": "MAPE 22.5 % on its 1 check row (ssd int8 -22 %: the quantized SSD MobileNetV2)",
    "raspi4-cpu-tflite-python@int8": ("MAPE 17.5 % on the 2 power runs: mobilenet_v1 0.25/128 +21 %, mobilenet_v2 "
                                      "-14 % (per-MAC ratio of the two networks, see above)"),
    "coral-devboard-cpu@int8": ("MAPE 18.8 % on the 2 power runs: mobilenet_v1 0.25/128 +23 %, mobilenet_v2 -15 % "
                                "(per-MAC ratio of the two networks, see above)"),
}

CASES = [(fit, f.name) for fit in stock.STOCK_FITS for f in fit.files]


def _source(fit: stock.StockFit, name: str) -> stock.Source:
    profile = load_profile(fit.profile)
    try:
        sources = stock.sources(fit, profile, REFDATA)
    except FileNotFoundError as missing:
        pytest.skip(f"reference data {missing} not present (../shared/refdata next to the repo)")
    return next(s for s in sources if s.name == name)


def test_every_development_file_has_a_before_figure() -> None:
    assert {name for _, name in CASES} == set(BEFORE)


@pytest.mark.parametrize(("fit", "name"), [
    pytest.param(fit, name, id=name,
                 marks=[pytest.mark.xfail(strict=True, reason=MISSES[name])] if name in MISSES else [])
    for fit, name in CASES
])
def test_stock_profile_on_the_rows_it_was_not_fitted_to(fit: stock.StockFit, name: str) -> None:
    profile = load_profile(fit.profile)
    source = _source(fit, name)
    fitted, checked = stock.split(source)
    # The profile records exactly the tool's subset of this file; every other row checks.
    recorded = set(profile.calibration["fitted_rows"])
    assert {stock.row_id(r) for r in fitted} <= recorded
    assert stock.checked_rows(profile, source) == checked
    assert len(checked) >= len(source.rows) // 2
    m = stock.score(profile, source, checked)
    tau_before = BEFORE[name][3]
    assert m.mape <= MAPE_BAR, m
    assert m.within_10pct >= WITHIN_BAR, m
    assert m.kendall >= tau_before, m


PUBLISHED = [(fit, label) for fit in stock.STOCK_FITS for label in fit.published]


@pytest.mark.parametrize(("fit", "label"), [
    pytest.param(fit, label, id=label, marks=[pytest.mark.xfail(strict=True, reason=PUBLISHED_MISSES[label])]
                 if label in PUBLISHED_MISSES else [])
    for fit, label in PUBLISHED
])
def test_stock_profile_keeps_published_rows_of_its_device(fit: stock.StockFit, label: str) -> None:
    profile = load_profile(fit.profile)
    # The shipped published set only: no development file (nor ../shared/refdata) is needed.
    published_only = dataclasses.replace(fit, files=())
    source = next(s for s in stock.sources(published_only, profile, REFDATA) if s.name == f"published {label}")
    checked = stock.checked_rows(profile, source)
    assert checked, label
    m = stock.score(profile, source, checked)
    assert m.mape <= PUBLISHED_BAR, m


def test_row_ids_name_file_and_line() -> None:
    rows = [r for r in stock.load_reference("published") if r.device == "raspi4-cpu@fp32"]
    assert rows and all(stock.row_id(r) == f"published:{r.line}" for r in rows)
    # The shipped set's line numbers count the header as line 1, as the CSV is read.
    text = (ROOT / "simulator" / "data" / "published.csv").read_text().splitlines()
    assert all(text[r.line - 1].startswith(r.model.split("(")[0]) for r in rows)


def test_fitted_subset_is_seeded_and_small() -> None:
    rows = list(range(800))
    chosen = stock.fitted_subset(rows)
    assert chosen == stock.fitted_subset(rows) and len(chosen) == stock.ROWS_PER_FILE
    assert len(stock.fitted_subset(list(range(15)))) == 7
    assert math.isclose(len(set(chosen)), len(chosen))


# -- leave one file out ----------------------------------------------------------------------
# A profile fitted on several sources, refitted from its unfitted values without one of its
# development files, predicts every row of that file within LOFO_BAR: the test of whether
# its fields are physical or merely fitted (issue 12).
LOFO_BAR = 0.25
# What the refit misses, measured (tools/fit_stock_profiles.py --lofo), and why.
# The CPU PyTorch profiles tie efficiency.conv to efficiency.pointwise (one GEMM family) and
# leave element ops' dispatch at 0 (their call is the per-op cost every op pays): Pixel 2
# without NB201 went from 40.5 % to 19.5 % with them.
# PyTorch GPU profiles tie kernels.pointwise to kernels.conv (a 1x1 and a 3x3 conv take the same
# cuDNN path; an fp32 depthwise conv takes PyTorch's own kernel): 1080 Ti 34.3 / 29.2 % before.
GPU_LOFO = ("the 1080 Ti's host pays ~37 us per op and a cuDNN conv call 2.16 of them, which both files "
            "see, but an fp32 depthwise conv (PyTorch's own kernel, not cuDNN) 5.3 of them when FBNet is fitted")
LOFO_MISSES = {
    ("xeon-gold-6226-pytorch", "help-nb201-gold_6226.csv"): (
        "MAPE 84.0 % (tau 0.81): FBNet's Xeon time is 92 % per-group calls, so its 116 element ops per "
        "network are ~3 % of it and cannot fix the per-op cost: without NB201 overhead.per_op_s fits 1 us "
        "(29 us with NB201, which NB201's 140 element ops per network carry) and the GEMM efficiency 0.69 "
        "(0.21); pools stay at their source"),
    ("xeon-gold-6226-pytorch", "help-fbnet-gold_6226.csv"): (
        "MAPE 30.3 % (tau 0.84): 92 % of FBNet's time on the Xeon is per-group calls of its depthwise and "
        "grouped convs, which NB201 lacks; per_group_s stays at the 15 us measured on another x86 host "
        "(22.5 us fitted with FBNet)"),
    ("gtx-1080ti-pytorch", "help-nb201-1080ti_1.csv"): (
        f"MAPE 33.2 % (tau 0.91): {GPU_LOFO}; FBNet's depthwise count correlates 0.96 with its other ops' "
        "count, so without NB201 the fit trades launch_s (51 us) against kernels.depthwise (1.25)"),
    ("gtx-1080ti-pytorch", "help-fbnet-1080ti_1.csv"): (
        f"MAPE 25.9 % (tau 0.77): {GPU_LOFO}; NB201 runs no depthwise conv, so kernels.depthwise stays at "
        "its start, 1"),
}
LOFO = [(fit, f.name) for fit in stock.STOCK_FITS if len(fit.files) + bool(fit.published) > 1 for f in fit.files]


def test_refits_start_from_the_unfitted_values() -> None:
    """Every profile with a leave-one-file-out case records the values its fit starts from,
    and the refit begins there, not at the fitted values (which would leak the left-out file)."""
    for fit in {fit for fit, _ in LOFO}:
        profile = load_profile(fit.profile)
        start = profile.calibration["start"]
        assert set(fit.written) <= set(start), fit.profile
        base = stock.unfitted(fit)
        assert all(base.get(f) == pytest.approx(start[f]) for f in fit.written)
        assert any(profile.get(f) != pytest.approx(start[f]) for f in fit.fields), fit.profile


def test_tied_fields_take_the_value_they_follow() -> None:
    """A tied field (one physical quantity priced in two places) is never fitted on its own:
    the shipped profile, its unfitted start and every refit hold it at the value it follows."""
    tied = [fit for fit in stock.STOCK_FITS if fit.tied]
    assert tied
    for fit in tied:
        profile, base = load_profile(fit.profile), stock.unfitted(fit)
        for field, source in fit.tied:
            assert field not in fit.fields and source in fit.fields, fit.profile
            assert profile.get(field) == pytest.approx(profile.get(source)), fit.profile
            assert base.get(field) == pytest.approx(base.get(source)), fit.profile
    # A refit moves the source and the tied field together.
    fit = tied[0]
    field, source = fit.tied[0]
    moved = stock.fit_fields(stock.unfitted(fit), [source], [], fit.tied)
    assert moved.get(field) == pytest.approx(moved.get(source))


@pytest.mark.slow  # one refit per case, ~10 s each
@pytest.mark.parametrize(("fit", "name"), [
    pytest.param(fit, name, id=f"{fit.profile}-without-{name}",
                 marks=[pytest.mark.xfail(strict=True, reason=LOFO_MISSES[fit.profile, name])]
                 if (fit.profile, name) in LOFO_MISSES else [])
    for fit, name in LOFO
])
def test_leave_one_file_out(fit: stock.StockFit, name: str) -> None:
    for f in fit.files:
        refdata_path(f.name)
    outcome = stock.fit_stock(fit, REFDATA, leave_out=name)
    assert not any(row.startswith(f"{name}:") for row in outcome.fitted_rows)
    m = outcome.check[name]
    assert m.n == len(stock.load_reference(REFDATA / name))  # every row of the file checks
    assert m.mape <= LOFO_BAR, m
