"""The engine's own mechanisms, on hand-made profiles: runtime rewrites, placement with
host fallback, link transfers, busy and idle energy, and average power by hand."""

from dataclasses import dataclass

import pytest

from graphs import EdgesimError, Kind, NetBuilder, Op
from simulator.costmodels import CostModel
from simulator.engine import simulate
from simulator.hardware.classes import CLASSES, HardwareClass
from simulator.hardware.profile import load_profile
from simulator.results import OpCost

TOP = """description = "test profile"
precision = "int8"
"""

COMMON = """
[runtime]
fold_batch_norm = true
fused_activations = ["relu"]
prune_dead_ops = true
[energy]
energy_per_mac_j = {{ int8 = 1e-12 }}
dram_energy_per_byte_j = 0.0
sram_energy_per_byte_j = 0.0
static_power_w = {static}
idle_power_w = 0.5
boundary = "board"
[sources]
all = "made up for a test"
"""

HOST = """name = "host"
kind = "cpu"
""" + TOP + """[compute]
clock_hz = 1e9
cores = 1
macs_per_cycle = { int8 = 1 }
parallel_efficiency = 1.0
vector_bits = 8
[efficiency]
conv = 1.0
pointwise = 1.0
depthwise = 1.0
dense = 1.0
elementwise = 1.0
pool = 1.0
data = 1.0
softmax = 1.0
[dispatch]
conv = 0.0
pointwise = 0.0
depthwise = 0.0
dense = 0.0
elementwise = 0.0
pool = 0.0
data = 0.0
softmax = 0.0
[memory]
dram_bw_bytes_per_s = 1e15
[overhead]
per_op_s = 0.0
per_inference_s = 0.0
thread_wake_s = 0.0
""" + COMMON.format(static=0.0)


@dataclass(frozen=True)
class FakeArray:
    macs_per_s: float


@dataclass(frozen=True)
class FakeTable:
    array: FakeArray


class FakeAccelerator(CostModel):
    """1 µs per op plus MACs at a fixed rate; cannot run hard-swish."""

    unit = "acc"
    hardware_schema = FakeTable

    def op_cost(self, op: Op) -> OpCost:
        compute = op.macs / self.profile.hw.array.macs_per_s
        return OpCost(compute + 1e-6, 0.0, compute, 0.0, 1e-6, "compute", self.unit)

    def unsupported(self, op: Op) -> str | None:
        return "not mapped" if op.kind == Kind.HARD_SWISH else None


def accel_toml(host_path: str, fallback: str) -> str:
    return f"""name = "acc"
kind = "fake"
{TOP}[array]
macs_per_s = 1e12
[offload]
host = "{host_path}"
fallback = "{fallback}"
link_bw_bytes_per_s = 1e6
link_latency_s = 1e-4
link_energy_per_byte_j = 0.0
invocation_overhead_s = 1e-3
""" + COMMON.format(static=1.0)


@pytest.fixture
def profiles(tmp_path, monkeypatch):
    monkeypatch.setitem(CLASSES, "fake", HardwareClass("test_engine:FakeTable", "test_engine:FakeAccelerator"))
    host = tmp_path / "host.toml"
    host.write_text(HOST)

    def make(fallback: str):
        path = tmp_path / f"acc-{fallback}.toml"
        path.write_text(accel_toml(str(host), fallback))
        return load_profile(str(path))

    return load_profile(str(host)), make


def net(with_hard_swish: bool):
    b = NetBuilder("net", (1, 4, 10, 10), bits=8)
    b.conv(8, 3)  # 10*10*8*36 = 28 800 MACs
    b.bn()
    b.act(Kind.HARD_SWISH if with_hard_swish else Kind.RELU)
    b.conv(8, 1)  # 10*10*8*8 = 6 400 MACs
    b.act(Kind.RELU)
    return b.build()


def test_cpu_rewrites_fold_bn_and_fuse_relu(profiles):
    host, _ = profiles
    report = simulate(net(False), host)
    assert [r.name for r in report.rows] == ["conv2d", "conv2d_1"]
    assert "batch_norm" in report.rows[0].note and "relu" in report.rows[0].note
    # compute-bound at 1e9 MAC/s with efficiency 1: (28 800 + 6 400) MACs -> 35.2 µs
    assert report.latency_s == pytest.approx(35.2e-6)
    # 1 pJ per MAC, no busy power, and the boundary's 0.5 W idle while it runs
    assert report.energy_j == pytest.approx(35_200 * 1e-12 + 0.5 * 35.2e-6)


def test_unfused_activation_is_priced(profiles):
    host, _ = profiles
    report = simulate(net(True), host)
    assert [r.kind for r in report.rows] == ["conv2d", "hard_swish", "conv2d"]


def test_fallback_after_first_unsupported_moves_the_rest_to_the_host(profiles):
    _, make = profiles
    report = simulate(net(True), make("after_first_unsupported"))
    assert [r.unit for r in report.rows] == ["acc", "cpu", "cpu"]
    assert "not mapped" in report.rows[1].note
    assert "single-subgraph" in report.rows[2].note
    names = [t.name for t in report.terms]
    # the input goes to the accelerator, the conv output comes back; the output is on the host
    # the host's busy power is 0 W here, so it has no term
    assert names == ["input input -> acc", "hand-over conv2d -> host", "invocation", "busy power", "idle"]
    link = {t.name: t.latency_s for t in report.terms}
    assert link["input input -> acc"] == pytest.approx(1e-4 + 400 / 1e6)
    assert link["hand-over conv2d -> host"] == pytest.approx(1e-4 + 800 / 1e6)
    assert report.summary == {"handovers": 1, "fallback_ops": 2}


def test_per_op_fallback_returns_to_the_accelerator(profiles):
    _, make = profiles
    report = simulate(net(True), make("per_op"))
    assert [r.unit for r in report.rows] == ["acc", "cpu", "acc"]
    assert report.summary["handovers"] == 2
    assert any(t.name.startswith("output") for t in report.terms)


def test_busy_and_idle_energy_and_average_power_by_hand(profiles):
    _, make = profiles
    profile = make("per_op")
    # By hand: the two convs run on the accelerator, 1 µs each plus MACs at 1e12/s:
    # 28 800 and 6 400 MACs -> 1.0288 µs + 1.0064 µs = 2.0352 µs busy at 1 W above idle.
    # Transfers: 400 input bytes (0.1 ms + 0.4 ms) and 800 output bytes (0.1 ms + 0.8 ms);
    # the call into the accelerator 1 ms. Latency t = 2.4020352 ms. The fake model's ops
    # and the link cost no energy of their own, so energy per inference
    # E = 1 W x 2.0352 µs + 0.5 W idle x t = 2.0352e-6 + 1.2010176e-3 = 1.2030528e-3 J.
    t, energy = 2.4020352e-3, 1.2030528e-3
    # Average power = idle x (1 - f t) + f E:
    #   1 fps: 0.5 x (1 - 0.0024020352) + 0.0012030528 = 0.5000020352 W
    #  30 fps: 0.5 x (1 - 0.072061056) + 0.036091584 = 0.500061056 W
    #  above 1/t = 416.3 fps the device cannot keep up: E / t = 0.5008472815 W at 416.3 fps
    expected = {1.0: 0.5000020352, 30.0: 0.500061056, 1e6: energy / t}
    for fps, watts in expected.items():
        report = simulate(net(False), profile, fps=fps)
        assert report.latency_s == pytest.approx(t, rel=1e-12)
        assert report.energy_j == pytest.approx(energy, rel=1e-12)
        assert report.avg_power_w == pytest.approx(watts, rel=1e-12)
    assert report.energy_j / report.latency_s == pytest.approx(0.5008472815, rel=1e-9)
    assert report.fps_met is False and report.max_fps == pytest.approx(1 / t)
    assert "1e+06 fps cannot be kept up: the sustainable rate is 416.3 fps" in report.table()
    assert simulate(net(False), profile, fps=30).fps_met is True
    by_cause = report.energy_by_cause()
    assert by_cause["busy power"] == pytest.approx(2.0352e-6) and by_cause["idle"] == pytest.approx(0.5 * t)


def test_bad_fps_is_an_error(profiles):
    host, _ = profiles
    with pytest.raises(EdgesimError, match="fps must be positive"):
        simulate(net(False), host, fps=0)


def test_dead_ops_are_pruned_only_when_the_runtime_does(profiles):
    host, _ = profiles
    b = NetBuilder("cell", (1, 4, 8, 8), bits=8)
    branch = b.conv(4, 3)  # feeds only a zero edge: dead
    zero = b.op(Kind.MUL, [branch], b.shape(branch), tag="zero")
    live = b.conv(4, 1, x="input")
    b.add(live, zero)
    graph = b.build()
    pruned = simulate(graph, host)
    assert [r.name for r in pruned.rows] == ["conv2d_1", "add"]
    assert pruned.notes == ["2 ops removed: no output depends on them"]
    kept = simulate(graph, host.replace(prune_dead_ops=False))
    assert [r.name for r in kept.rows] == ["conv2d", "mul", "conv2d_1", "add"]


def test_replace_validates_and_resolves_leaf_names(profiles):
    host, _ = profiles
    assert host.replace(per_op_s=2e-6).get("overhead.per_op_s") == 2e-6
    with pytest.raises(EdgesimError, match="non-negative"):
        host.replace(per_op_s=-1.0)
    with pytest.raises(EdgesimError, match="no field"):
        host.replace(per_op=1.0)
