"""SSD detection post-processing (`ssdlite(..., postprocess=True)`): its work from the
TFLite kernel's loops, and where an Edge TPU runtime runs it (the host CPU)."""

from __future__ import annotations

import pytest

from graphs import build
from graphs.ops import Kind, op_work, postprocess_work
from simulator.api import predict
from simulator.engine import cost_model
from simulator.hardware.profile import load_profile


def test_postprocess_work_by_hand() -> None:
    # SSDLite at 300 px: 19x19x3 + (10x10 + 5x5 + 3x3 + 2x2 + 1) x 6 = 1917 anchors, 91
    # scores each (90 COCO classes + background), 10 detections.
    # Per anchor: 91 x (dequantize 2 + compare 1) = 273; decode 4 x 2 + 2 exp x 10 + 14 = 42;
    # 10 IoU sweeps x 11 = 110. 1917 x 425 = 814 725.
    op = build("ssdlite(resolution=300, postprocess=True)").flat().ops[-1]
    assert op.kind == Kind.DETECTION_POSTPROCESS
    assert op.inputs == ((1, 1917, 4), (1, 1917, 91))
    assert op_work(op) == 1917 * (91 * 3 + 42 + 10 * 11) == 814_725


def test_postprocess_is_the_only_difference() -> None:
    plain = build("ssdlite(resolution=300)").flat().ops
    with_op = build("ssdlite(resolution=300, postprocess=True)").flat().ops
    assert [o.signature for o in with_op[:-1]] == [o.signature for o in plain]


@pytest.mark.parametrize(("device", "host"), [("coral-pcie", "coral-devboard-cpu"), ("coral-usb2", "raspi3bplus-cpu"),
                                              ("coral-usb", "coral-host-cpu"), ("pixel4-edgetpu", "pixel4-cpu")])
def test_edge_tpu_runs_postprocess_on_its_host(device: str, host: str) -> None:
    plain = predict("ssdlite(resolution=300)", device)
    report = predict("ssdlite(resolution=300, postprocess=True)", device)
    off = [r for r in report.rows if r.unit != "tpu"]
    assert [r.name for r in off] == ["postprocess"]
    assert "host CPU" in off[0].note
    # Priced by the host's own CPU model, as the op alone on that profile is.
    host_model = cost_model(load_profile(host))
    assert off[0].cost.latency_s == pytest.approx(host_model.cost(off[0].op).latency_s, rel=1e-12)
    # Both of its inputs cross to the host instead of leaving as outputs: same bytes.
    moved = {t.name.split()[0] for t in report.terms if "->" in t.name}
    assert moved == {"input", "hand-over"}
    assert report.latency_s == pytest.approx(plain.latency_s + off[0].latency_s, rel=1e-9)


def test_postprocess_on_a_cpu_is_scalar_work() -> None:
    # On coral-devboard-cpu (one A53, fp32: 2 MACs/cycle x 1.5 GHz, softmax efficiency 0.0554)
    # the op's compute is 814 725 / (3e9 x 0.0554) = 4.90 ms, and it costs at least that.
    op = build("ssdlite(resolution=300, postprocess=True)").flat().ops[-1]
    cost = cost_model(load_profile("coral-devboard-cpu")).cost(op)
    assert cost.compute_s == pytest.approx(814_725 / (2 * 1.5e9 * 0.0554), rel=1e-12)
    assert cost.latency_s >= cost.compute_s


# NobuoTsukamoto/benchmarks devboard.md, Coral Dev Board, TFLite 2.5 Python harness: SpaghettiNet-
# EdgeTPU S/M/L (320 px) without and with TFLite_Detection_PostProcess at max_detections 10, ms.
# Rows of no published label: the A53's post-processing speed is calibrated on them.
SPAGHETTINET_DEV_BOARD = {"S": (10.98, 16.64), "M": (12.15, 16.83), "L": (12.50, 17.71)}


def test_a53_postprocess_speed_is_the_spaghettinet_calibration() -> None:
    # SpaghettiNet's five maps at 320 px (levels 4-8: 20, 10, 5, 3, 2) with 3 anchors on
    # the first and 6 elsewhere: 2028 anchors, 91 class slots.
    anchors = 20 * 20 * 3 + (10 * 10 + 5 * 5 + 3 * 3 + 2 * 2) * 6
    assert anchors == 2028
    work = postprocess_work((1, anchors, 91), 10)
    measured_s = sum(with_op - without for without, with_op in SPAGHETTINET_DEV_BOARD.values()) / 3 * 1e-3
    devboard = load_profile("coral-devboard-cpu").hw
    peak = devboard.compute.macs_per_cycle["fp32"] * devboard.compute.clock_hz
    assert work / (peak * devboard.efficiency.softmax) == pytest.approx(measured_s, rel=0.01)
    # The Pi 3B+ host runs the same A53 core and TFLite kernel: same efficiency, its own clock.
    assert load_profile("raspi3bplus-cpu").hw.efficiency.softmax == devboard.efficiency.softmax
