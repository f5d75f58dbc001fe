"""Calibration must-holds of the DSP and GPU models (issue 6): each stock profile is
fitted on 20 seeded rows of a LatBench file and scored on the ~730 held-out rows."""

import pytest
from calibration_check import check_calibration

pytestmark = pytest.mark.slow  # about 5 s per file


@pytest.mark.parametrize(
    ("refdata", "device", "overrides"),
    [
        ("latbench-mobile-dsp-sd855-hexagon690-int8.csv", "hexagon-690", {}),
        ("latbench-mobile-gpu-sd855-adreno640-int8.csv", "adreno-640", {}),
        ("latbench-embedded-gpu-jetson-nano-fp32.csv", "jetson-nano", {"precision": "fp32"}),
    ],
)
def test_held_out_rank_and_error(refdata, device, overrides):
    result = check_calibration(refdata, device, **overrides)
    assert result.n > 700
    assert result.kendall >= 0.75, result
    assert result.mape <= 0.10, result


def test_jetson_nano_fp16_beats_the_macs_proxy_by_far():
    """What the fp16 file supports with 20 rows: its repeated measurements scatter by ~3 %
    and its per-op costs barely depend on the op (launch-bound), so the model's rank
    agreement comes from counting kernels, which MACs cannot see (proxy tau 0.27)."""
    result = check_calibration("latbench-embedded-gpu-jetson-nano-fp16.csv", "jetson-nano")
    assert result.kendall >= 0.65, result
    assert result.kendall >= result.proxy.kendall + 0.3, result
    assert result.mape <= 0.06, result


# The 0.70 tau target of the fp16 file is checked over seeds 0-4 beside the best
# per-op-additive model in test_calibration_fidelity.py.
