"""The vector-DSP cost model (Hexagon HVX): hand-checked op costs, vector padding, the
delegate's fallback through the engine, monotonicity, and the shipped profiles."""

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphs
from graphs import Kind, NetBuilder, Op
from graphs.graph import OpGraph
from simulator.engine import cost_model, simulate
from simulator.hardware.profile import load_profile

DSP_PROFILES = ("hexagon-690", "hexagon-685")


def tiny_graphs() -> Iterator[tuple[Kind, OpGraph]]:
    """One small graph per op kind of the IR, the op of that kind reading the input
    directly (so no runtime rewrite folds it away)."""
    for kind in Kind:
        b = NetBuilder(f"one-{kind.value}", (1, 4, 8, 8), bits=8)
        x = "input"
        if kind == Kind.CONV2D:
            b.conv(8, 3)
        elif kind == Kind.DEPTHWISE_CONV2D:
            b.dwconv(3)
        elif kind == Kind.GROUPED_CONV2D:
            b.conv(8, 3, groups=2)
        elif kind == Kind.DENSE:
            b = NetBuilder(f"one-{kind.value}", (1, 64), bits=8)
            b.dense(10)
        elif kind == Kind.MATMUL:
            b = NetBuilder(f"one-{kind.value}", (1, 4, 8), bits=8)
            b.op(Kind.MATMUL, ["input", "input"], (1, 4, 4))
        elif kind in (Kind.AVG_POOL, Kind.MAX_POOL):
            b.pool("avg" if kind == Kind.AVG_POOL else "max", 2)
        elif kind == Kind.GLOBAL_AVG_POOL:
            b.global_pool()
        elif kind == Kind.ADD:
            b.add(x, x)
        elif kind == Kind.MUL:
            b.mul(x, x)
        elif kind == Kind.BATCH_NORM:
            b.bn()
        elif kind == Kind.CONCAT:
            b.concat([x, x])
        elif kind == Kind.RESIZE:
            b.resize(16, 16)
        elif kind == Kind.RESHAPE:
            b.flatten()
        elif kind == Kind.TRANSPOSE:
            b.channel_shuffle(2)
        elif kind == Kind.PAD:
            b.pad([1, 1, 1, 1])
        elif kind == Kind.SOFTMAX:
            b.softmax()
        elif kind == Kind.UNKNOWN:
            b.op(Kind.UNKNOWN, [x], (1, 4, 8, 8))
        else:  # the activations
            b.act(kind)
        yield kind, b.build()


def source_gaps(name: str) -> list[str]:
    """Profile fields that no `[sources]` entry names (itself or a table above it)."""
    profile = load_profile(name)
    data = profile.to_mapping()
    leaves: list[str] = []

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict) and key not in ("sources", "calibration"):
                walk(value, f"{prefix}{key}.")
            elif prefix:
                leaves.append(prefix + key)

    walk(data, "")
    cited = set(profile.sources)
    return [
        leaf for leaf in leaves
        if not any(leaf == c or leaf.startswith(c + ".") for c in cited)
    ]


def test_conv_cost_by_hand():
    """A 1x1 conv, 16 -> 16 channels on 8x6: the d32 layout pads both channel counts to 32
    and the width to 4 columns, so the lanes do 8*8*32*32 MACs for the 8*6*16*16 real ones."""
    profile = load_profile("hexagon-690")
    dsp = cost_model(profile)
    op = Op("c", Kind.CONV2D, ((1, 16, 8, 6),), (1, 16, 8, 6), bits=8)
    cost = dsp.cost(op)
    peak = 4 * 128 * 2 * 1.0e9  # contexts x lanes x MACs per lane-cycle x clock
    padded = 8 * 8 * 32 * 32
    assert dsp.padded_work(op) == padded
    assert cost.compute_s == pytest.approx(padded / (peak * profile.get("efficiency.pointwise")))
    # Activations (32*8*8 padded bytes each) stay in L2, the 256 weight bytes come from DRAM.
    l2, dram = profile.get("memory.cache_bw_bytes_per_s"), profile.get("memory.dram_bw_bytes_per_s")
    assert cost.memory_s == pytest.approx(2 * 2048 / l2 + 256 / dram)
    # per op + weights set-up
    assert cost.overhead_s == pytest.approx(profile.get("overhead.per_op_s") + profile.get("overhead.weights_s"))
    assert cost.latency_s == pytest.approx(cost.compute_s + cost.overhead_s)
    assert (cost.bound, cost.unit) == ("overhead", "dsp")
    assert cost.energy_j == pytest.approx(padded * 1e-12 + 256 * 40e-12 + (256 + 4096) * 2e-12)
    assert cost.note == "vector padding x5.3"


def test_odd_channel_counts_lose_to_padding():
    """33 channels fill two 32-channel slices: 2x the lanes of 32 channels for a 1x1 conv's
    input and output each, so 4x the compute for 6 % more MACs."""
    dsp = cost_model(load_profile("hexagon-690"))

    def conv(c: int) -> Op:
        return Op(f"c{c}", Kind.CONV2D, ((1, c, 128, 128),), (1, c, 128, 128), bits=8)

    c32, c33 = dsp.cost(conv(32)), dsp.cost(conv(33))
    assert c33.compute_s == pytest.approx(4 * c32.compute_s)
    assert conv(33).macs / conv(32).macs == pytest.approx((33 / 32) ** 2)
    assert c33.latency_s > 3 * c32.latency_s


def test_delegate_rejections_fall_back_to_the_host():
    b = NetBuilder("net", (1, 32, 16, 16), bits=8)
    b.conv(32, 3)
    b.act(Kind.LEAKY_RELU)  # not in the Hexagon delegate's op list
    b.conv(32, 1)
    profile = load_profile("hexagon-690")
    report = simulate(b.build(), profile)
    assert [(r.kind, r.unit) for r in report.rows] == [
        ("conv2d", "dsp"), ("leaky_relu", "cpu"), ("conv2d", "cpu"),  # single partition
    ]
    assert report.summary["vector_padding"] == 1.0  # 32 channels, 16 columns: no padding
    terms = {t.name: t for t in report.terms}
    assert terms["invocation"].latency_s == profile.offload.invocation_overhead_s
    handover = next(t for n, t in terms.items() if n.startswith("hand-over"))
    assert handover.latency_s == pytest.approx(32 * 16 * 16 / 10e9)  # int8 bytes over the link
    dsp = cost_model(profile)
    assert dsp.unsupported(Op("s", Kind.CONV2D, ((1, 8, 32, 32),), (1, 8, 8, 8), kernel=(4, 4), stride=(4, 4)))
    assert dsp.unsupported(Op("m", Kind.DEPTHWISE_CONV2D, ((1, 8, 8, 8),), (1, 16, 8, 8), groups=8))
    assert dsp.unsupported(Op("a", Kind.ADD, ((1, 8, 8, 8),) * 2, (1, 8, 8, 8))) is None


def test_a_float_model_runs_on_the_host():
    profile = load_profile("hexagon-690").replace(
        precision="fp16", **{"energy.energy_per_mac_j": {"int8": 1e-12, "fp16": 2e-12}}
    )
    report = simulate(graphs.build("mobilenet_v2"), profile)
    assert {r.unit for r in report.rows} == {"cpu"}
    assert not any(t.name == "invocation" for t in report.terms)


@pytest.mark.parametrize("name", DSP_PROFILES)
def test_every_op_kind_has_a_positive_latency(name):
    profile = load_profile(name)
    for kind, graph in tiny_graphs():
        report = simulate(graph, profile)
        assert report.rows, kind
        assert all(r.latency_s > 0 for r in report.rows), kind
        assert report.latency_s > 0 and report.energy_j > 0, kind


MONOTONE_NETS = (
    "mobilenet_v2",
    "nasbench201(arch='|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|', variant='latbench')",
)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(DSP_PROFILES),
    spec=st.sampled_from(MONOTONE_NETS),
    bw=st.floats(1.0, 16.0),
    clock=st.floats(1.0, 4.0),
    cores=st.integers(1, 4),
)
def test_more_bandwidth_clock_or_contexts_never_slow_a_model(name, spec, bw, clock, cores):
    base = load_profile(name)
    graph = graphs.build(spec)
    before = simulate(graph, base).latency_s
    faster = base.replace(
        dram_bw_bytes_per_s=base.get("dram_bw_bytes_per_s") * bw,
        cache_bw_bytes_per_s=base.get("cache_bw_bytes_per_s") * bw,
        clock_hz=base.get("clock_hz") * clock,
        contexts=base.get("contexts") * cores,
    )
    assert simulate(graph, faster).latency_s <= before * (1 + 1e-12)


def test_stock_hexagon_690_beats_the_pixel4_cpu_on_mobilenet_v2():
    """Published direction (MobileDets: the Pixel 4 DSP runs int8 detectors faster than its
    CPU); SSDLite-MobileDet-DSP is not in the zoo, so int8 MobileNetV2 stands in."""
    graph = graphs.build("mobilenet_v2")
    dsp = simulate(graph, load_profile("hexagon-690")).latency_s
    cpu = simulate(graph, load_profile("pixel4-cpu")).latency_s
    assert load_profile("pixel4-cpu").precision == "int8"
    assert dsp < cpu / 2


@pytest.mark.parametrize("name", DSP_PROFILES)
def test_every_profile_number_names_its_source(name):
    assert source_gaps(name) == []
