"""Issue 13: a stock profile gives a latency interval only where a validation backs it.

Each profile of `tools/fit_stock_profiles.py` with development files carries
`[calibration.intervals.latency]`: split conformal on a seeded half of the rows of those
files it was NOT fitted to (`rows` names them). Here the interval is recomputed from the
profile as it is (a refit that forgot to rewrite it fails), and the OTHER half of the
unfitted rows checks it: the 80 % interval must cover 70-90 % of them. A profile with too
few unfitted rows carries none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from refdata import refdata_path

from simulator import intervals
from simulator.cli import main
from simulator.fitted import fitted_rows
from simulator.hardware.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import fit_stock_profiles as stock  # noqa: E402

FITS = [f for f in stock.STOCK_FITS if f.files]
FIX = "python tools/fit_stock_profiles.py --intervals --only {}"

pytestmark = pytest.mark.slow  # every development file priced once


def development(fit: stock.StockFit) -> tuple:
    """(profile, [(source, unfitted rows)]) of `fit`, skipping without the reference data."""
    for f in fit.files:
        refdata_path(f.name)
    profile = load_profile(fit.profile)
    return profile, stock.development_rows(fit, profile, stock.REFDATA)


@pytest.mark.parametrize("fit", FITS, ids=[f.profile for f in FITS])
def test_stock_interval_is_backed_by_unfitted_rows_and_covers_the_other_half(fit: stock.StockFit) -> None:
    profile, unfitted = development(fit)
    expected = stock.latency_interval(profile, unfitted)
    record = (profile.calibration or {}).get("intervals", {}).get("latency")
    if expected is None:  # too few rows not fitted to back one
        assert record is None and intervals.residuals(profile) is None
        return
    assert record is not None, f"{fit.profile} carries no latency interval: {FIX.format(fit.profile)}"
    assert list(record["rows"]) == expected["rows"], f"interval rows differ: {FIX.format(fit.profile)}"
    assert np.allclose(record["log_residuals"], expected["log_residuals"], atol=1e-5), (
        f"{fit.profile}'s interval was made from other values than its own: {FIX.format(fit.profile)}")
    assert not fitted_rows(profile).split(intervals.interval_rows(profile).split(
        [r for _, rows in unfitted for r in rows])[1])[1], "a fitted row backs the interval"
    for source, _ in unfitted:
        assert source.name in record["backed_by"]

    measured, predicted = [], []
    for source, rows in unfitted:
        check = intervals.conformal_split(rows, stock.INTERVAL_SEED)[1]
        measured += [r.latency_ms for r in check]
        predicted += stock.predicted(profile, source, check).tolist()
    covered = intervals.coverage(profile, np.array(predicted), np.array(measured), 0.8)
    assert 0.70 <= covered <= 0.90, f"{fit.profile}: the 80 % interval covers {covered:.1%} of {len(measured)} rows"


def test_too_few_unfitted_rows_give_no_interval() -> None:
    """Jetson TX2: 15 rows, 7 fitted; 4 of the other 8 cannot back an 80 % interval."""
    fit = next(f for f in FITS if f.profile == "jetson-tx2-pytorch")
    profile, unfitted = development(fit)
    assert sum(len(rows) for _, rows in unfitted) == 8
    assert stock.latency_interval(profile, unfitted) is None
    assert intervals.residuals(profile) is None


def test_predict_interval_on_a_stock_profile_names_its_validation(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["predict", "mobilenet_v2", "--device", "pixel4-cpu", "--interval", "0.8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency_ms_low"] < data["latency_ms"] < data["latency_ms_high"]
    assert "latbench-mobile-cpu-sd855-kryo485-int8.csv" in data["interval_backed_by"]
    low, high = intervals.bounds(load_profile("pixel4-cpu"), 0.8)
    assert data["latency_ms_low"] == pytest.approx(data["latency_ms"] * low)
    assert data["latency_ms_high"] == pytest.approx(data["latency_ms"] * high)


def test_validate_leaves_the_interval_rows_out_of_its_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    """`edgesim validate` on a stock profile scores every unfitted row, but its interval
    coverage is taken only on the rows that did not make the interval."""
    import json

    path = refdata_path("latbench-mobile-gpu-sd855-adreno640-int8.csv")
    assert main(["validate", "--reference", str(path), "--device", "adreno-640", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    profile = load_profile("adreno-640")
    fit = next(f for f in FITS if f.profile == "adreno-640")
    (source, rows), = stock.development_rows(fit, profile, stock.REFDATA)
    check = intervals.conformal_split(rows, stock.INTERVAL_SEED)[1]
    expected = intervals.coverage(profile, stock.predicted(profile, source, check),
                                  np.array([r.latency_ms for r in check]), 0.8)
    assert data["interval"]["coverage"] == pytest.approx(expected)
