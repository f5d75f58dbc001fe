"""Every shipped profile on EVERY published row of its device and precision that it was
not fitted to (tools/published_table.py; the README's "Published rows not fitted" table):
MAPE within 20 % per device and precision. No hand-picked lists: a label's rows come from
`simulator/data/published.csv` whole, less the profile's `[calibration].fitted_rows`.

Labels that miss are listed with what was measured and why; they are strict xfails, so a
label that starts to hold fails until it is taken off the list."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from checked_rows import assert_not_fitted

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import published_table  # noqa: E402

LABELS = published_table.published_labels()

# Measured on the stock profiles; CPU, DSP and GPU latency fields are refitted under issue 12
# (tools/fit_stock_profiles.py), the Edge TPU core by tools/fit_edgetpu_profiles.py.
MISSES = {
    "coral-devboard@int8": (
        "MAPE 29.8 % on 4 rows (DeepEdgeBench's latency and power runs): mobilenet_v2 -44 % / -43 %, 2.35 ms "
        "against 4.23 / 4.16 ms (fastest of 5000 calls 3.87 ms) where Coral's own table times the Dev Board at "
        "2.6 ms (coral-pcie); mobilenet_v1 0.25/128 +4 % / -27 %. Not the clock: libedgetpu's std/max setting is "
        "USB-only, on PCIe only the apex driver's thermal scaling moves it (halved at 85 C), yet the latency run, "
        "one call per ~60 ms of image loading, is as slow as the back-to-back power run; not parameter "
        "streaming (3.47 MB fit the 8 MB cache; streamed over PCIe Gen2 x1 they would add >= 6.9 ms, not 1.8); "
        "not a fixed per-call cost (v1 0.25/128 in the same loop is within 4 %): the extra grows with the "
        "network and has no sourced cause"),
    "coral-usb@int8": ("MAPE 26.8 % on 4 rows: Fischer et al.'s MobileNetV2 power run -50 %, 2.48 ms priced "
                       "against 4.96 ms per image of their Python loop (set_tensor, invoke, get_tensor, CodeCarbon "
                       "tracking) where Coral's own table times the same network on a USB 3 desktop at 2.6 ms "
                       "(-4.8 %); NobuoTsukamoto's MobileNetEdgeTPU SSDLite on a Raspberry Pi 4 host -47 %. "
                       "Without the power run 19.0 % on 3 rows"),
    "coral-usb2@int8": ("MAPE 64.9 % on 2 rows: both detectors on a Raspberry Pi 3B+ host over USB 2 "
                        "(NobuoTsukamoto's Python harness), ssd -64 % / MobileNetEdgeTPU SSDLite -66 %: 21.7 / 25.7 ms "
                        "predicted (7.7 / 8.8 ms input and 5.2 / 5.5 ms output over USB 2 at 35 MB/s, 5.3 / 5.6 ms "
                        "post-processing on the A53, 3.0 / 5.3 ms on the Edge TPU) against 60.6 / 74.5 ms; the Pi 4 "
                        "over USB 3 times the same two files at 14.75 / 14.83 ms, so ~45 ms of the Pi 3B+'s time is "
                        "its USB 2 path and slower A53 (its log has 63.70 ms for the second file, the table 74.45)"),
    "jetson-nano-fp32@fp32": (
        "MAPE 36.0 % on 2 rows (DeepEdgeBench's ONNX -> TensorRT fp32 latency and power runs, mobilenet_v2 "
        "-37 % / -35 %): LatBench's fp32 TensorRT fit prices 15.0 ms against 23.7 / 23.1 ms. Not the power mode "
        "(the scripts leave nvpmodel's default MAXN: the campaign's 181 ms single-thread TFLite fp32 run on the "
        "A57 is impossible at the 5 W mode's 918 MHz cap), not the harness's pageable 602 KB input copy "
        "(<= 0.3 ms); TensorFlow-GPU without TensorRT took 20.8 ms in the same loop. LatBench's cells hold no "
        "depthwise conv and no 224 px tensor, so the fit never saw MobileNetV2's costliest kernels"),
    "raspi4-cpu@int8": ("MAPE 22.5 % on 1 row (ssd -22 %, the TF1 zoo's quantized SSD MobileNetV2; 1 of 2 rows "
                        "fitted): the fitted MobileNetEdgeTPU SSDLite takes 2.0x its time measured, 2.6x predicted"),
}


def test_the_labels_are_the_published_set() -> None:
    # Edge TPU, CPU and GPU labels are all there; a label no shipped profile takes is not.
    edge = {"coral-usb@int8", "coral-usb2@int8", "coral-pcie@int8", "pixel4-edgetpu@int8"}
    assert edge | {"pixel1-cpu@fp32"} <= set(LABELS)
    assert set(MISSES) <= set(LABELS)


@pytest.mark.parametrize(
    "label",
    [pytest.param(label, marks=pytest.mark.xfail(strict=True, reason=MISSES[label])) if label in MISSES else label
     for label in LABELS],
)
def test_published_rows_not_fitted_within_20_percent(label: str) -> None:
    found = published_table.score(label, LABELS[label])
    if found.result is None:
        pytest.skip(f"{label}: every published row was fitted")
    scored = [r.row for r in found.result.rows]
    assert_not_fitted(published_table.profile_at(label), scored)
    assert len(scored) + found.fitted == len(LABELS[label])  # every row not fitted is scored
    misses = {r.row.model: f"{r.rel_error:+.0%}" for r in found.result.rows if abs(r.rel_error) > published_table.BAR}
    assert found.result.metrics.mape <= published_table.BAR, f"{label}: MAPE {found.result.metrics.mape:.1%}; {misses}"
