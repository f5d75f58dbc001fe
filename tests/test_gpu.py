"""The GPU cost model: hand-checked kernel costs, wave quantisation, launch overlap,
precision tables, the runtimes' fusions and fallbacks, monotonicity, the shipped
profiles and the published Pixel 4 GPU figure."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_dsp import MONOTONE_NETS, source_gaps, tiny_graphs

import graphs
from graphs import EdgesimError, Kind, NetBuilder, Op
from simulator.costmodels.gpu import fitted_tile, launched
from simulator.engine import cost_model, simulate
from simulator.hardware.profile import load_profile
from simulator.reference import load_reference

GPU_PROFILES = (
    "adreno-640", "adreno-630", "jetson-nano", "jetson-tx2", "gtx-1080ti", "v100", "a100", "h100",
)


def test_launch_overlap_between_sum_and_max():
    assert launched(3e-6, 1e-6, 5e-6, 0.0) == (pytest.approx(8e-6), "overhead")
    assert launched(3e-6, 1e-6, 5e-6, 1.0) == (pytest.approx(5e-6), "overhead")
    assert launched(3e-6, 4e-6, 1e-6, 0.5) == (pytest.approx(4.5e-6), "memory")
    assert launched(9e-6, 4e-6, 1e-6, 1.0) == (pytest.approx(9e-6), "compute")


def test_kernel_selection_picks_the_smallest_covering_tile():
    assert [fitted_tile(n, 64) for n in (1, 3, 8, 16, 17, 64, 100, 4096)] == [8, 8, 8, 16, 32, 64, 64, 64]


def test_a_kernel_filling_1_1_waves_costs_2():
    """V100: 80 SMs x 1 resident block. 88 blocks run in 2 waves, as long as 160 would."""
    gpu = cost_model(load_profile("v100"))

    def gelu(blocks: int) -> Op:  # 1024 outputs per block
        return Op("g", Kind.GELU, ((1, blocks, 32, 32),), (1, blocks, 32, 32))

    def conv(blocks: int) -> Op:  # 128 x 128 tiles: M = blocks x 128 pixels, N = 128
        return Op("c", Kind.CONV2D, ((1, 64, blocks, 128),), (1, 128, blocks, 128))

    for make in (gelu, conv):
        one, more, two = (gpu.cost(make(n)).compute_s for n in (80, 88, 160))
        assert more == pytest.approx(2 * one) and two == pytest.approx(more)
    assert gpu.cost(gelu(88)).note == "1.10 waves -> 2"


def test_conv_kernel_by_hand():
    """Jetson Nano fp16, conv 3x3 64 -> 64 on 8x8: one 64x64 tile (M = N = 64, K = 576) on
    the single SM, charged its 2-block share of the wave; Winograd saves 2.25x."""
    profile = load_profile("jetson-nano")
    gpu = cost_model(profile)
    op = Op("c", Kind.CONV2D, ((1, 64, 8, 8),), (1, 64, 8, 8), kernel=(3, 3))
    cost = gpu.cost(op)
    unit_peak = 256 * 921.6e6  # fp16 MACs per cycle per SM x clock
    compute = 2 * 64 * 64 * 576 / (unit_peak * profile.get("efficiency.conv") * 2.25)
    # 8 KB fp16 activations in and out stay in L2; the 73.7 KB of weights come from DRAM.
    memory = 2 * 8192 / profile.get("cache_bw_bytes_per_s") + 36864 * 2 / profile.get("dram_bw_bytes_per_s")
    assert (cost.compute_s, cost.memory_s) == (pytest.approx(compute), pytest.approx(memory))
    busy = max(compute, memory)
    launch = profile.get("kernels.conv") * profile.get("launch_s")
    assert cost.latency_s == pytest.approx(busy + launch - 0.9 * min(busy, launch))
    assert cost.unit == "gpu" and cost.bound == "overhead"
    operands = 1 * (64 + 64) * 576 * 2  # the block's operand panels, read on chip
    assert cost.energy_j == pytest.approx(
        op.macs / 2.25 * 15e-12 + 36864 * 2 * 64e-12 + (2 * 8192 + operands) * 5e-12
    )
    strided = Op("s", Kind.CONV2D, ((1, 64, 16, 16),), (1, 64, 8, 8), kernel=(3, 3), stride=(2, 2))
    assert gpu.winograd(strided) == 1.0 and gpu.winograd(op) == 2.25


def test_precision_tables():
    nano = load_profile("jetson-nano")
    op = Op("c", Kind.CONV2D, ((1, 256, 32, 32),), (1, 256, 32, 32))
    fp16 = cost_model(nano).cost(op).compute_s
    fp32 = cost_model(nano.replace(precision="fp32")).cost(op).compute_s
    assert fp32 == pytest.approx(2 * fp16)
    with pytest.raises(EdgesimError, match="no entry for precision 'int8'"):
        cost_model(nano.replace(precision="int8", **{"energy.energy_per_mac_j": {"int8": 1e-12}}))


def test_tflite_gpu_merges_elementwise_ops_and_falls_back_on_gelu():
    b = NetBuilder("net", (1, 32, 16, 16))
    x = b.conv(32, 3)
    b.add(x, "input")  # linked into the conv's kernel by the delegate: no launch
    b.act(Kind.GELU)  # not in the delegate's op list: host from here on
    b.conv(32, 1)
    profile = load_profile("adreno-640")
    report = simulate(b.build(), profile)
    assert [(r.kind, r.unit) for r in report.rows] == [
        ("conv2d", "gpu"), ("add", "gpu"), ("gelu", "cpu"), ("conv2d", "cpu"),
    ]
    assert report.rows[1].cost.overhead_s == 0.0
    terms = {t.name: t.latency_s for t in report.terms}
    assert terms["inference"] == profile.hw.overhead.per_inference_s
    assert report.summary["kernel_launches"] == 1.0


def test_a_cuda_gpu_pays_its_per_inference_cost_without_a_host():
    profile = load_profile("v100")
    report = simulate(graphs.build("mobilenet_v2"), profile)
    assert profile.offload is None
    assert [t.name for t in report.terms] == ["inference", "busy power", "idle"]
    assert report.terms[0].latency_s == 5e-5
    assert report.summary["kernel_launches"] == len(report.rows)


@pytest.mark.parametrize("name", GPU_PROFILES)
def test_every_op_kind_has_a_positive_latency(name):
    profile = load_profile(name)
    for kind, graph in tiny_graphs():
        report = simulate(graph, profile)
        assert report.rows, kind
        assert all(r.latency_s > 0 for r in report.rows), kind
        assert report.latency_s > 0 and report.energy_j > 0, kind


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(GPU_PROFILES),
    spec=st.sampled_from(MONOTONE_NETS),
    bw=st.floats(1.0, 16.0),
    clock=st.floats(1.0, 4.0),
    units=st.integers(1, 8),
)
def test_more_bandwidth_clock_or_units_never_slow_a_model(name, spec, bw, clock, units):
    base = load_profile(name)
    graph = graphs.build(spec)
    before = simulate(graph, base).latency_s
    faster = base.replace(
        dram_bw_bytes_per_s=base.get("dram_bw_bytes_per_s") * bw,
        cache_bw_bytes_per_s=base.get("cache_bw_bytes_per_s") * bw,
        clock_hz=base.get("clock_hz") * clock,
        units=base.get("units") * units,
    )
    assert simulate(graph, faster).latency_s <= before * (1 + 1e-12)


def test_stock_adreno_640_fp16_efficientnet_lite0_within_35_percent_of_published():
    """TFLite EfficientNet-Lite README: Pixel 4 GPU delegate, fp16, 6.0 ms: a check row,
    not among the profile's fitted rows."""
    profile = load_profile("adreno-640")
    row = next(r for r in load_reference("published") if r.device == "adreno-640@fp16")
    assert row.model == "efficientnet_lite0" and row.latency_ms == 6.0
    assert profile.precision == "fp16" and f"published:{row.line}" not in profile.calibration["fitted_rows"]
    ms = simulate(graphs.build("efficientnet_lite0"), profile).latency_s * 1e3
    assert math.isclose(ms, 6.0, rel_tol=0.35), ms


@pytest.mark.parametrize("name", GPU_PROFILES)
def test_every_profile_number_names_its_source(name):
    assert source_gaps(name) == []
