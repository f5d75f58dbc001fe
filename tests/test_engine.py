"""The engine's own mechanisms, on hand-made profiles: runtime rewrites, placement with
host fallback, link transfers, static energy and average power."""

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
[sources]
all = "made up for a test"
"""

HOST = """name = "host"
kind = "cpu"
""" + TOP + """[compute]
clock_hz = 1e9
cores = 1
peak_macs_per_s = { int8 = 1e9 }
[efficiency]
conv = 1.0
pointwise = 1.0
depthwise = 1.0
dense = 1.0
elementwise = 1.0
pool = 1.0
data = 1.0
softmax = 1.0
[memory]
dram_bw_bytes_per_s = 1e15
[overhead]
per_op_s = 0.0
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
    assert report.energy_j == pytest.approx(35_200 * 1e-12)


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
    assert names == ["input input -> acc", "hand-over conv2d -> host", "invocation", "static"]
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


def test_static_energy_and_average_power(profiles):
    _, make = profiles
    report = simulate(net(False), make("per_op"), fps=10)
    # static power counts while the accelerator runs ops, not during transfers or the call
    busy = sum(r.latency_s for r in report.rows)
    assert busy < report.latency_s
    assert report.static_energy_j == pytest.approx(1.0 * busy)
    assert report.avg_power_w == pytest.approx(report.dynamic_energy_j * 10 + 0.5)
    assert report.fps_met
    slow = simulate(net(False), make("per_op"), fps=1e6)
    assert slow.fps_met is False and slow.max_fps == pytest.approx(1 / report.latency_s)
    assert "cannot be met" in slow.table()


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
