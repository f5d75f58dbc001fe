"""Calibration must-hold for the Edge TPU: LatBench's NAS-Bench-201 rows on a Coral Edge TPU,
20 seeded rows fitted from the stock coral-usb profile, the rest held out."""

from __future__ import annotations

from calibration_check import check_calibration

LATBENCH_EDGETPU = "latbench-embedded-tpu-edgetpu-int8.csv"


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
