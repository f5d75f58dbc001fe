"""What the MobileNetEdgeTPU work reported, reproduced by the model: regular convs that
fill the array beat depthwise ones on the Edge TPU but not on CPUs, hard-swish and
squeeze-excite send MobileNetV3 to the host CPU, SSDLite backbones trade MACs for array
efficiency, and parameters past the on-chip cache stream over the link."""

from __future__ import annotations

import itertools

import pytest

from graphs import build
from simulator.engine import simulate
from simulator.hardware.profile import device_names, load_profile

# The story's CPUs are mobile and desktop cores under TFLite/onnxruntime, where time follows
# MACs. Not a server core under PyTorch eager (HELP's Xeon), whose depthwise convs were
# measured at about 1 % of peak: there the depthwise-heavy network is the slow one.
CPU_DEVICES = [d for d in device_names() if load_profile(d).kind == "cpu" and d != "xeon-gold-6226-pytorch"]


@pytest.fixture(scope="module")
def edgetpu_and_minimalistic():
    return build("mobilenet_edgetpu"), build("mobilenet_v3_large_minimalistic")


def latency(graph, device: str) -> float:
    return simulate(graph, load_profile(device)).latency_s


@pytest.mark.parametrize("device", CPU_DEVICES)
def test_a_mobilenet_edgetpu_is_slow_on_cpus(device: str, edgetpu_and_minimalistic) -> None:
    edgetpu, minimalistic = edgetpu_and_minimalistic
    assert latency(edgetpu, device) >= 2 * latency(minimalistic, device)


def test_a_but_not_on_the_pixel4_edgetpu(edgetpu_and_minimalistic) -> None:
    edgetpu, minimalistic = edgetpu_and_minimalistic
    assert edgetpu.macs / minimalistic.macs == pytest.approx(4.7, abs=0.1)
    assert latency(edgetpu, "pixel4-edgetpu") <= 2 * latency(minimalistic, "pixel4-edgetpu")


@pytest.fixture(scope="module")
def v3_on_coral():
    coral = load_profile("coral-usb")
    return simulate(build("mobilenet_v3_large"), coral), simulate(build("mobilenet_v3_large_minimalistic"), coral)


def test_b_report_shows_the_cpu_fallback(v3_on_coral) -> None:
    full, minimalistic = v3_on_coral
    # The stem's hard-swish is not mapped, and the single-subgraph rule sends everything
    # after it to the host: only the stem conv runs on the Edge TPU.
    assert [r.unit for r in full.rows[:2]] == ["tpu", "cpu"]
    first = full.rows[1]
    assert first.kind == "hard_swish" and "not mapped by the Edge TPU compiler" in first.note
    assert all(r.unit == "cpu" and "single-subgraph" in r.note for r in full.rows[2:])
    assert full.summary["handovers"] == 1
    assert full.summary["fallback_ops"] == len(full.rows) - 1
    # The stem's 112x112x16 int8 output crosses USB 3 back to the host.
    (handover,) = [t for t in full.terms if t.name.startswith("hand-over")]
    assert handover.latency_s == pytest.approx(112 * 112 * 16 / 3e8)
    assert minimalistic.summary["fallback_ops"] == 0
    assert all(r.unit == "tpu" for r in minimalistic.rows)
    assert full.latency_s > 1.5 * minimalistic.latency_s


def test_b_mobilenet_v3_is_3x_slower_on_coral_usb(v3_on_coral) -> None:
    # The fallen-back ops run on coral-host-cpu, the host Coral timed its models on, whose
    # 2019 TFLite int8 kernels took 53 ms for MobileNet v1 (tools/fit_coral_host_cpu.py).
    full, minimalistic = v3_on_coral
    assert load_profile("coral-usb").offload.host == "coral-host-cpu"
    assert full.latency_s >= 3 * minimalistic.latency_s


@pytest.mark.xfail(strict=True, reason=(
    "SSDLite-MobileNetEdgeTPU 5.87 ms against SSDLite-MobileNetV2 3.74 ms on pixel4-edgetpu (1.57x) where "
    "Pixel 4 measures 6.6 vs 6.8 ms (0.97x). Not the graph: it is the TF OD reference's "
    "(ssdlite_mobilenet_edgetpu_320x320_coco: taps layer_18/expansion_output 20x20x384 and layer_23 10x10x192, "
    "depthwise extra layers and kernel-3 depthwise predictors, depth multiplier 1.0; V3_EDGETPU rows as slim's). "
    "The pricing: 4.75 of its 5.87 ms are ops bound by draining partial sums through 16 lanes (the shared "
    "core's partial_sums = drain, fitted by tools/fit_edgetpu_profiles.py): the fused 3x3 expansions, "
    "K = 9 x C_in = 288-432 > 64 rows. Full-width accumulators give 3.14 vs 3.30 ms (0.95x) but put the four "
    "published Pixel 4 rows 44-52 % and Coral's EfficientNet-EdgeTPU rows 39-60 % too fast. The miss is the V2 "
    "side: 3.74 against 6.8 ms (-45 %), as the Pixel 4's EfficientNet-lite0 row (-44 %); NobuoTsukamoto's "
    "Pi 4 + USB Accelerator times the two detectors at 14.83 / 14.75 ms (ssd_mobilenet_v2 quant), ~1x too"))
def test_c_ssdlite_backbones_on_the_pixel4_edgetpu() -> None:
    # Published (TF OD API release note, Nov 2019): 6.6 ms MobileNetEdgeTPU, 6.8 ms V2.
    edgetpu = build("ssdlite(backbone='mobilenet_edgetpu')")
    v2 = build("ssdlite(backbone='mobilenet_v2')")
    assert edgetpu.macs > 2.4 * v2.macs
    assert latency(edgetpu, "pixel4-edgetpu") == pytest.approx(latency(v2, "pixel4-edgetpu"), rel=0.15)


def test_d_vgg16_parameter_cache_cliff() -> None:
    vgg = build("vgg16")
    coral = load_profile("coral-usb")
    report = simulate(vgg, coral)
    # Caching stops at the first layer that does not fit: conv1_1 .. conv4_3 (7 635 264
    # bytes of int8 weights and biases) fit in 8 MB, conv5_1 (2 359 808) does not, so it
    # and every later layer stream: 138 357 544 - 7 635 264 bytes per inference.
    assert report.summary["parameter_cache_used_bytes"] == 7_635_264
    assert report.summary["parameter_bytes_streamed"] == 130_722_280
    (streaming,) = [t for t in report.terms if t.name == "parameter streaming"]
    assert "130722280 bytes" in streaming.note
    assert streaming.latency_s == pytest.approx(130_722_280 / 3e8)

    # The cliff: with a cache one byte too small for all parameters, latency jumps by the
    # streaming time of the layers from the first one that no longer fits.
    roomy = simulate(vgg, coral.replace(parameter_cache_bytes=138_357_544))
    short = simulate(vgg, coral.replace(parameter_cache_bytes=138_357_543))
    assert roomy.summary["parameter_bytes_streamed"] == 0
    last_fc = 4096 * 1000 + 1000  # the classifier is the last layer: only it streams
    assert short.summary["parameter_bytes_streamed"] == last_fc
    assert short.latency_s - roomy.latency_s == pytest.approx(last_fc / 3e8)
    assert report.latency_s > 10 * roomy.latency_s


def test_d_width_sweep_shows_the_cliff() -> None:
    # MobileNetV2's parameters (7.64 M at width 1.6, 9.36 M at 1.8) cross the 8 MB cache
    # between widths 1.6 and 1.8; the latency step there dwarfs the steps between
    # neighbouring widths that stay cached.
    coral = load_profile("coral-usb")
    widths = (1.2, 1.4, 1.6, 1.8)
    reports = [simulate(build(f"mobilenet_v2(width={w})"), coral) for w in widths]
    streamed = [r.summary["parameter_bytes_streamed"] for r in reports]
    assert streamed[:3] == [0, 0, 0] and streamed[3] > 0
    steps = [b.latency_s - a.latency_s for a, b in itertools.pairwise(reports)]
    assert steps[2] > 3 * max(steps[:2])
