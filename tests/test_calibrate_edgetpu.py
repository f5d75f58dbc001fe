"""The Edge TPU on LatBench's NAS-Bench-201 rows: the stock profiles were fitted on 30 seeded
rows of that file (tools/fit_edgetpu_profiles.py, [calibration].fitted_rows), so only the
other rows check them; calibration on 20 seeded rows is scored on rows neither fitted."""

from __future__ import annotations

from calibration_check import check_calibration
from checked_rows import checked_rows
from refdata import refdata_path

from simulator.hardware.profile import load_profile
from simulator.reference import load_reference
from simulator.validate import validate

LATBENCH_EDGETPU = "latbench-embedded-tpu-edgetpu-int8.csv"
# Stock coral-usb on main before issue 12's Edge TPU fit (0bbdbba), on the same rows.
TAU_BEFORE = 0.8331


def test_stock_edgetpu_profiles_on_latbench_rows_not_fitted() -> None:
    rows = load_reference(refdata_path(LATBENCH_EDGETPU))
    profile = load_profile("coral-usb")
    held = checked_rows(profile, rows)
    assert len(held) == len(rows) - 30
    found = validate(profile, held).metrics
    assert found.mape <= 0.15 and found.within_10pct >= 0.50 and found.kendall >= TAU_BEFORE, found


def test_latbench_edgetpu_calibrates_from_coral_usb() -> None:
    result = check_calibration(LATBENCH_EDGETPU, "coral-usb", n_train=20, seed=0)
    assert result.n > 700
    assert result.kendall >= 0.75
    assert result.mape <= 0.10
    # Latency proportional to MACs ranks these cells poorly (tau ~0.3-0.4): the Edge TPU
    # prices pooling and adds on narrow lanes and small convs by array folds, not by MACs.
    assert result.proxy.kendall < 0.5 < result.kendall
    fitted = result.calibration.profile
    assert fitted.calibration["base"] == "coral-usb" and fitted.calibration["rows"] == 20
