"""The linear-cost CPU model: op costs by hand from the profile's numbers, energy and
power, and the shipped CPU profiles against published latencies."""

from __future__ import annotations

import math
import tomllib

import pytest

from graphs import NetBuilder, Op
from graphs.ops import op_work
from simulator import predict
from simulator.costmodels.cpu import CpuModel
from simulator.hardware.profile import device_names, load_profile, profile_dir

# Every shipped profile of kind "cpu", read without loading the others (which may be
# mid-edit by their owners).
CPU_DEVICES = [
    d for d in device_names() if tomllib.loads((profile_dir() / f"{d}.toml").read_text()).get("kind") == "cpu"
]
# Mobile and desktop cores under TFLite/onnxruntime, where time follows MACs (not HELP's
# Xeon under PyTorch eager, whose depthwise convs were measured at about 1 % of peak).
MAC_BOUND_CPUS = [d for d in CPU_DEVICES if d != "xeon-gold-6226-pytorch"]


def one_core_peak(profile) -> float:
    """fp32 MAC/s of one core: MACs per cycle x clock."""
    return profile.get("compute.macs_per_cycle.fp32") * profile.get("compute.clock_hz")


def single_op(build) -> Op:
    """The last op a NetBuilder program appends."""
    b = NetBuilder("t", (1, 16, 112, 112))
    build(b)
    return b.build().ops()[-1]


@pytest.fixture(scope="module")
def pixel1():
    profile = load_profile("pixel1-cpu")
    return profile, CpuModel(profile)


# -- one op by hand ----------------------------------------------------------------------
def test_conv_cost_by_hand(pixel1) -> None:
    profile, model = pixel1
    op = single_op(lambda b: b.conv(32, 3, 2))  # 16x112x112 -> 32x56x56
    macs = 32 * 56 * 56 * (3 * 3 * 16)
    assert op.macs == macs == 14_450_688
    peak = profile.get("compute.macs_per_cycle.fp32") * profile.get("compute.clock_hz")  # one core
    compute = macs / (peak * profile.get("efficiency.conv"))  # 32 channels: whole vectors
    # fp32: the 802,816-byte input is larger than the cache, the 401,408-byte output fits;
    # the 4,608 weights come from DRAM.
    cache = profile.get("memory.cache_bytes")
    assert 16 * 112 * 112 * 4 > cache >= 32 * 56 * 56 * 4
    dram_bytes = 16 * 112 * 112 * 4 + 32 * 3 * 3 * 16 * 4
    cache_bytes = 32 * 56 * 56 * 4
    memory = dram_bytes / profile.get("dram_bw_bytes_per_s") + cache_bytes / profile.get("cache_bw_bytes_per_s")
    overhead = profile.get("per_op_s")
    cost = model.op_cost(op)
    assert cost.compute_s == pytest.approx(compute)
    assert cost.memory_s == pytest.approx(memory)
    assert cost.latency_s == pytest.approx(max(compute, memory) + overhead)
    assert cost.bound == "compute" and cost.unit == "cpu"
    energy = (macs * profile.get("energy.energy_per_mac_j.fp32") + dram_bytes * profile.get("dram_energy_per_byte_j")
              + cache_bytes * profile.get("sram_energy_per_byte_j"))
    assert cost.energy_j == pytest.approx(energy)


def test_depthwise_cost_by_hand(pixel1) -> None:
    profile, model = pixel1
    op = single_op(lambda b: b.dwconv(3, 1))  # 16x112x112, 3x3 per channel
    macs = 16 * 112 * 112 * 9
    assert op.macs == macs
    compute = macs / (one_core_peak(profile) * profile.get("efficiency.depthwise"))
    tensor = 16 * 112 * 112 * 4  # in and out, both over the cache: DRAM
    dram_bytes = 2 * tensor + 16 * 9 * 4
    memory = dram_bytes / profile.get("dram_bw_bytes_per_s")
    cost = model.op_cost(op)
    assert cost.compute_s == pytest.approx(compute)
    assert cost.memory_s == pytest.approx(memory)
    assert cost.latency_s == pytest.approx(max(compute, memory) + profile.get("per_op_s"))
    assert cost.energy_j == pytest.approx(
        macs * profile.get("energy.energy_per_mac_j.fp32") + dram_bytes * profile.get("dram_energy_per_byte_j")
    )


def test_add_cost_by_hand(pixel1) -> None:
    profile, model = pixel1
    op = single_op(lambda b: b.add("input", "input"))  # two 16x112x112 operands
    elements = 16 * 112 * 112
    assert op_work(op) == elements  # one addition per output element
    compute = elements / (one_core_peak(profile) * profile.get("efficiency.elementwise"))
    dram_bytes = 3 * elements * 4  # two inputs and the output, each over the cache
    memory = dram_bytes / profile.get("dram_bw_bytes_per_s")
    cost = model.op_cost(op)
    assert cost.compute_s == pytest.approx(compute)
    assert cost.memory_s == pytest.approx(memory)
    assert cost.latency_s == pytest.approx(memory + profile.get("per_op_s"))
    assert cost.bound == "memory"
    assert cost.energy_j == pytest.approx(dram_bytes * profile.get("dram_energy_per_byte_j"))  # no MACs


def test_precision_selects_peak_bytes_and_energy(pixel1) -> None:
    profile, model = pixel1
    int8 = CpuModel(profile.replace(precision="int8"))
    op = single_op(lambda b: b.conv(32, 3, 2))
    fp32_cost, int8_cost = model.op_cost(op), int8.op_cost(op)
    per_cycle = profile.hw.compute.macs_per_cycle
    assert int8_cost.compute_s == pytest.approx(fp32_cost.compute_s * per_cycle["fp32"] / per_cycle["int8"])
    # int8: the 200,704-byte input now fits the cache; only the weights come from DRAM.
    dram, cached = 32 * 3 * 3 * 16, 16 * 112 * 112 + 32 * 56 * 56
    assert int8_cost.energy_j == pytest.approx(
        op.macs * profile.get("energy.energy_per_mac_j.int8")
        + dram * profile.get("dram_energy_per_byte_j")
        + cached * profile.get("sram_energy_per_byte_j")
    )


def test_profile_without_cache_reads_everything_from_dram(pixel1) -> None:
    profile, _ = pixel1
    model = CpuModel(profile.replace(cache_bytes=0.0, cache_bw_bytes_per_s=0.0))
    op = single_op(lambda b: b.conv(32, 3, 2))
    nbytes = (16 * 112 * 112 + 32 * 56 * 56 + 32 * 9 * 16) * 4
    assert model.op_cost(op).memory_s == pytest.approx(nbytes / profile.get("dram_bw_bytes_per_s"))


def test_free_parameters_exist_and_start_inside_their_bounds() -> None:
    for device in CPU_DEVICES:
        profile = load_profile(device)
        for p in CpuModel.free_parameters(profile):
            assert p.lower < p.upper
            assert p.lower <= profile.get(p.path) <= p.upper, (device, p.path)


# -- whole networks: energy and power ------------------------------------------------------
def test_busy_energy_and_average_power() -> None:
    profile = load_profile("pixel1-cpu")
    report = predict("mobilenet_v3_small", profile, fps=10)
    by_cause = report.energy_by_cause()
    # one unit, busy for the whole inference; the SoC idle power under it throughout
    assert by_cause["busy power"] == pytest.approx(profile.energy.static_power_w * report.latency_s)
    assert by_cause["idle"] == pytest.approx(profile.energy.idle_power_w * report.latency_s)
    assert report.dynamic_energy_j == pytest.approx(sum(r.cost.energy_j for r in report.rows))
    assert report.fps_met
    idle = profile.energy.idle_power_w
    assert report.avg_power_w == pytest.approx(idle * (1 - 10 * report.latency_s) + 10 * report.energy_j)


def test_unmet_frame_rate_reports_the_sustainable_one() -> None:
    report = predict("mobilenet_v3_large", "pixel1-cpu", fps=100)  # ~51 ms: at most ~20 fps
    assert not report.fps_met
    assert 15 < report.max_fps < 25
    assert report.avg_power_w == pytest.approx(report.energy_j / report.latency_s)
    assert f"100 fps cannot be kept up: the sustainable rate is {report.max_fps:.1f} fps" in report.summary_text()


@pytest.mark.parametrize("device", MAC_BOUND_CPUS)
def test_edgetpu_net_is_slow_on_cpus(device: str) -> None:
    """MobileNetEdgeTPU trades MACs (4.7x those of V3-Large minimalistic) for Edge TPU
    friendliness; on a CPU, which pays for every MAC, it must come out at least 2x slower."""
    edgetpu = predict("mobilenet_edgetpu", device).latency_s
    minimal = predict("mobilenet_v3_large_minimalistic", device).latency_s
    assert edgetpu >= 2 * minimal


# -- published latencies ---------------------------------------------------------------------
# Every published row a stock profile was not fitted to: tests/test_published.py.
def test_mobilenet_v3_large_on_pixel1_near_published() -> None:
    # Howard et al. 2019, Table 3: 51 ms on a Pixel 1 big core, TFLite fp32.
    assert math.isclose(predict("mobilenet_v3_large", "pixel1-cpu").latency_s * 1e3, 51, rel_tol=0.2)
