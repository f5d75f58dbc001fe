"""The systolic (Edge TPU) cost model: GEMM mapping and drain checked by hand, the vector
path, the parameter cache, what the compiler does not map, the profiles, and Coral's and
Pixel 4's published latencies (the rows their profiles were not fitted to)."""

from __future__ import annotations

import pytest
from checked_rows import checked_rows

from graphs import EdgesimError, Kind, NetBuilder, Op, build
from simulator.costmodels import systolic, systolic_cycles
from simulator.costmodels.systolic import SystolicModel
from simulator.engine import simulate
from simulator.hardware.profile import load_profile
from simulator.reference import ReferenceRow, load_reference, rows_for_device
from simulator.validate import validate

EDGE_TPUS = ("coral-usb", "coral-usb2", "coral-pcie", "pixel4-edgetpu")


@pytest.fixture(scope="module")
def coral() -> SystolicModel:
    return SystolicModel(load_profile("coral-usb"))


def conv(c_in: int, c_out: int, size: int, kernel: int = 1, groups: int = 1, kind: Kind = Kind.CONV2D) -> Op:
    return Op("c", kind, ((1, c_in, size, size),), (1, c_out, size, size), kernel=(kernel, kernel), groups=groups)


def test_gemm_cycles_is_public_here() -> None:
    assert systolic.gemm_cycles is systolic_cycles.gemm_cycles


def test_conv_lowers_to_a_gemm_and_drains_partial_sums(coral: SystolicModel) -> None:
    # 3x3 conv 32 -> 96 on 112x112: M = 12544, K = 9*32 = 288, N = 96.
    # WS folds: ceil(288/64) * ceil(96/64) = 5 * 2 = 10, each 2*64 + 64 + 12544 - 2 cycles;
    # SCALE-Sim counts from 0: 10 * 12734 - 1 = 127 339 cycles = 254.68 us at 500 MHz.
    # Drained: a partial sum per output per row fold, 12544 * 96 * 5 = 6 021 120 values
    # through 16 lanes = 376 320 cycles = 752.64 us, which binds.
    op = conv(32, 96, 112, kernel=3)
    mapping = coral.mapping(op)
    assert (mapping.m, mapping.n, mapping.k, mapping.gemms) == (12544, 96, 288, 1)
    assert mapping.cycles == 127_339
    assert mapping.drained == 6_021_120
    cost = coral.cost(op)
    assert cost.compute_s == pytest.approx(752.64e-6)
    assert cost.latency_s == pytest.approx(752.64e-6 + 1e-6)
    assert cost.utilisation == pytest.approx(op.macs / (376_320 * 4096))
    assert "16 lanes" in cost.note and "M=12544 N=96 K=288" in cost.note


def test_full_width_accumulators_drain_only_outputs() -> None:
    model = SystolicModel(load_profile("coral-usb").replace(partial_sums="accumulate"))
    op = conv(32, 96, 112, kernel=3)
    # 12544 * 96 outputs / 16 lanes = 75 264 cycles < 127 339 array cycles: array-bound.
    assert model.mapping(op).drained == 12544 * 96
    assert model.cost(op).compute_s == pytest.approx(127_339 / 500e6)


def test_grouped_conv_is_one_gemm_per_group(coral: SystolicModel) -> None:
    op = conv(64, 128, 28, kernel=3, groups=2, kind=Kind.GROUPED_CONV2D)
    # per group M = 784, K = 9*32 = 288, N = 64: 5 folds of 128 + 64 + 784 - 2 = 974 cycles
    mapping = coral.mapping(op)
    assert (mapping.m, mapping.n, mapping.k, mapping.gemms) == (784, 64, 288, 2)
    assert mapping.cycles == 2 * (5 * 974 - 1)


def test_depthwise_mappings(coral: SystolicModel) -> None:
    op = conv(128, 128, 56, kernel=3, groups=128, kind=Kind.DEPTHWISE_CONV2D)
    # Channels on columns: one GEMM M = 3136, N = 128, K = 9: 2 folds of 3326 cycles,
    # but 3136 * 128 outputs through 16 lanes take 25 088 cycles = 50.176 us.
    mapping = coral.mapping(op)
    assert (mapping.n, mapping.k, mapping.gemms, mapping.cycles) == (128, 9, 1, 2 * 3326 - 1)
    assert coral.cost(op).compute_s == pytest.approx(50.176e-6)
    # One GEMM per channel: 128 GEMMs of N = 1, each 128 + 64 + 3136 - 2 - 1 = 3325 cycles.
    naive = SystolicModel(load_profile("coral-usb").replace(depthwise_mapping="gemm_per_channel"))
    assert naive.mapping(op).cycles == 128 * 3325
    assert naive.cost(op).compute_s == pytest.approx(128 * 3325 / 500e6)


def test_dense_at_batch_one_is_fill_bound(coral: SystolicModel) -> None:
    op = Op("fc", Kind.DENSE, ((1, 1280),), (1, 1001), bias=True)
    # M = 1: 20 * 16 = 320 folds of 128 + 64 + 1 - 2 = 191 cycles -> 61 119 cycles.
    assert coral.mapping(op).cycles == 61_119
    assert coral.cost(op).compute_s == pytest.approx(61_119 / 500e6)


def test_vector_path(coral: SystolicModel) -> None:
    pool = Op("p", Kind.AVG_POOL, ((1, 16, 32, 32),), (1, 16, 32, 32), kernel=(3, 3))
    # 16384 outputs x 9 taps / 16 lanes = 9216 cycles = 18.432 us, plus 5 us set-up.
    cost = coral.cost(pool)
    assert cost.latency_s == pytest.approx(18.432e-6 + 5e-6)
    assert cost.utilisation is None and cost.note == "vector path"
    add = Op("a", Kind.ADD, ((1, 16, 32, 32), (1, 16, 32, 32)), (1, 16, 32, 32))
    assert coral.cost(add).compute_s == pytest.approx(16384 / 16 / 500e6)


def test_parameter_cache_fills_in_compiler_order(coral: SystolicModel) -> None:
    # 8 MB cache: 3 MB and 4 MB fit; the 2 MB layer does not, so it and every later
    # layer (the 0.5 MB one too, although it would fit) are streamed.
    ops = [Op(f"fc{i}", Kind.DENSE, ((1, n),), (1, 1000)) for i, n in enumerate((3000, 4000, 2000, 500))]
    assert coral.parameter_cache(ops) == (7_000_000, 2_500_000)
    terms, summary = coral.graph_terms(ops), coral.graph_summary(ops)
    assert [t.name for t in terms] == ["parameter streaming"]
    assert terms[0].latency_s == pytest.approx(2_500_000 / 3e8)
    assert terms[0].energy_j == pytest.approx(2_500_000 * 1.5e-9)
    assert summary["parameter_cache_used_bytes"] == 7_000_000
    assert summary["parameter_bytes_streamed"] == 2_500_000


@pytest.mark.parametrize(
    ("kind", "issue"),
    [(Kind.HARD_SWISH, "#272"), (Kind.SWISH, "#353"), (Kind.LEAKY_RELU, "#659"),
     (Kind.GELU, "supported-ops"), (Kind.UNKNOWN, "custom")],
)
def test_unmapped_ops_say_why(coral: SystolicModel, kind: Kind, issue: str) -> None:
    op = Op("x", kind, ((1, 8, 4, 4),), (1, 8, 4, 4))
    reason = coral.unsupported(op)
    assert reason and issue in reason


@pytest.mark.parametrize("kind", [Kind.RELU, Kind.RELU6, Kind.SIGMOID, Kind.HARD_SIGMOID, Kind.TANH, Kind.ADD])
def test_mapped_ops(coral: SystolicModel, kind: Kind) -> None:
    inputs = ((1, 8, 4, 4),) * (2 if kind == Kind.ADD else 1)
    assert coral.unsupported(Op("x", kind, inputs, (1, 8, 4, 4))) is None


def test_float_ops_and_uneven_dilation_do_not_map() -> None:
    fp16 = load_profile("coral-usb").replace(precision="fp16", **{"energy.energy_per_mac_j": {"fp16": 1e-12}})
    fp16 = SystolicModel(fp16)
    assert "8-bit" in fp16.unsupported(conv(8, 8, 4))
    op = Op("d", Kind.CONV2D, ((1, 8, 8, 8),), (1, 8, 4, 4), kernel=(3, 3), dilation=(1, 2))
    assert "dilation" in SystolicModel(load_profile("coral-usb")).unsupported(op)


@pytest.mark.parametrize(
    ("field", "value"), [("dataflow", "rs"), ("depthwise_mapping", "rows"), ("partial_sums", "maybe")]
)
def test_bad_choices_are_named(field: str, value: str) -> None:
    with pytest.raises(EdgesimError, match=f"array.{field}"):
        SystolicModel(load_profile("coral-usb").replace(**{field: value}))


def test_a_systolic_profile_needs_a_host_link() -> None:
    data = load_profile("coral-usb").to_mapping()
    del data["offload"]
    from simulator.hardware.profile import profile_from_mapping

    with pytest.raises(EdgesimError, match=r"\[offload\]"):
        SystolicModel(profile_from_mapping(data, "no-link.toml"))


@pytest.mark.parametrize("device", EDGE_TPUS)
def test_profiles_load_and_name_their_sources(device: str) -> None:
    profile = load_profile(device)
    assert profile.kind == "systolic" and profile.precision == "int8"
    assert load_profile(profile.offload.host).kind == "cpu"
    for table in ("array", "vector", "memory", "overhead", "energy", "offload"):
        assert any(k == table or k.startswith(f"{table}.") for k in profile.sources), table


@pytest.mark.parametrize("device", ["coral-usb", "coral-usb2", "coral-pcie"])
def test_energy_anchor_is_2_watts_at_4_tops(device: str) -> None:
    # At peak the array does 64 * 64 MACs a cycle at 500 MHz = 2.048e12 MAC/s.
    p = load_profile(device)
    peak = p.hw.array.array_rows * p.hw.array.array_cols * p.hw.array.array_clock_hz
    assert peak * p.energy_per_mac_j + p.energy.static_power_w == pytest.approx(2.0, rel=0.05)


def test_report_shows_utilisation_cache_and_link_terms() -> None:
    report = simulate(build("mobilenet_v1"), load_profile("coral-usb"))
    convs = [r for r in report.rows if r.op.macs]
    assert all(r.unit == "tpu" and 0 < r.cost.utilisation <= 1 for r in convs)
    assert report.summary["parameter_cache_used_bytes"] == pytest.approx(4.21e6, rel=0.01)
    assert report.summary["parameter_bytes_streamed"] == 0
    assert report.summary["handovers"] == 0 and report.summary["fallback_ops"] == 0
    assert 0.1 < report.summary["array_utilisation"] < 0.3  # Coral-era Edge TPUs: 5-25 % of peak
    # The 224x224x3 int8 input crosses USB 3 once: 150 528 bytes at 300 MB/s.
    (inp,) = [t for t in report.terms if t.name.startswith("input")]
    assert inp.latency_s == pytest.approx(150_528 / 3e8)


def test_usb2_costs_only_its_slower_link() -> None:
    graph = build("mobilenet_v1")
    fast, slow = simulate(graph, load_profile("coral-usb")), simulate(graph, load_profile("coral-usb2"))
    moved = 150_528 + 1001  # input image and the 1001 class scores, int8
    assert slow.latency_s - fast.latency_s == pytest.approx(moved / 3.5e7 - moved / 3e8)


# The Edge TPU profiles against published rows: every row of a label not fitted is in
# tests/test_published.py; here, what a core change does to those same rows.
PIXEL4 = "pixel4-edgetpu@int8"


def published_checks(label: str) -> list[ReferenceRow]:
    """Every published row of `label` its profile was not fitted to."""
    device, precision = label.split("@")
    rows = rows_for_device(load_reference("published"), device, precision)
    return checked_rows(load_profile(device), rows)


def mape(profile, rows: list[ReferenceRow]) -> float:
    return validate(profile, rows).metrics.mape


def test_one_core_one_set_of_core_parameters() -> None:
    """Coral and Pixel 4 carry the same Edge TPU core; only integration (link, host) differs."""
    core = ("array", "vector", "memory", "overhead")
    base = load_profile("coral-usb")
    for device in (*EDGE_TPUS, "coral-devboard"):
        profile = load_profile(device)
        assert (profile.hw.array, profile.hw.vector, profile.hw.memory, profile.hw.overhead) == (
            base.hw.array, base.hw.vector, base.hw.memory, base.hw.overhead), device
        assert profile.offload.invocation_overhead_s == base.offload.invocation_overhead_s
        assert profile.calibration["fitted_rows"] == base.calibration["fitted_rows"]
        assert all(getattr(profile.hw, t) is not None for t in core)


def test_a_pixel4_core_8x_faster_misses_its_published_rows() -> None:
    """Mutation: the Pixel 4 core's array and vector clocks 8x faster. The prediction must
    move so far against the published rows not fitted that it fails their 20 % bar."""
    rows = published_checks(PIXEL4)
    assert len(rows) >= 2
    stock = load_profile("pixel4-edgetpu")
    fast = stock.replace(array_clock_hz=8 * stock.hw.array.array_clock_hz,
                         vector_clock_hz=8 * stock.hw.vector.vector_clock_hz)
    assert mape(stock, rows) <= 0.20 < 0.40 < mape(fast, rows)
    for before, after in zip(validate(stock, rows).rows, validate(fast, rows).rows, strict=True):
        assert after.predicted_ms < 0.6 * before.predicted_ms  # the core, not a constant, sets the latency


def test_depthwise_as_one_gemm_per_channel_contradicts_coral() -> None:
    # Every Coral row not fitted whose network has depthwise convs: one GEMM per channel
    # at least doubles each prediction and misses them far worse than the stock mapping.
    rows = [r for r in published_checks("coral-usb@int8")
            if any(op.kind == Kind.DEPTHWISE_CONV2D for op in build(r.model))]
    assert rows
    stock = load_profile("coral-usb")
    naive = stock.replace(depthwise_mapping="gemm_per_channel")
    for before, after in zip(validate(stock, rows).rows, validate(naive, rows).rows, strict=True):
        assert after.predicted_ms > 2 * before.predicted_ms, before.row.model
    assert mape(naive, rows) > 3 * mape(stock, rows)


def test_fused_activations_ride_the_conv() -> None:
    b = NetBuilder("n", (1, 8, 16, 16), bits=8)
    b.conv_bn_act(16, 3, act=Kind.RELU6)
    report = simulate(b.build(), load_profile("coral-usb"))
    assert [r.kind for r in report.rows] == ["conv2d"]
