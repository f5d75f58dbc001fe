"""LiteRT's XNNPACK delegate as the device of host-cpu-litert: the kinds its int8 set
leaves out run on LiteRT's builtin kernels (host-cpu-litert-builtin) through the
engine's shared fallback, each priced per element, with a hand-over per crossing tensor.
Figures by hand from the two profiles (their sources give the measurements)."""

from __future__ import annotations

import tomllib

import pytest

from graphs import EdgesimError, Kind, NetBuilder, OpGraph
from simulator import load_profile
from simulator.engine.pricing import simulate
from simulator.hardware.profile import profile_from_mapping, to_toml

RELU_S = 7.6e-9  # host-cpu-litert-builtin per_element_s.relu
BUILTIN_OP_S = 1e-7  # its overhead.per_op_s
HANDOVER_S = 1.5e-8  # host-cpu-litert offload.link_latency_s (bytes are free: no copy)


def relu_between_convs(act: Kind | None, shared: bool = True) -> OpGraph:
    """conv 1x1 → act → conv 1x1 (→ add with the first conv's output when `shared`, so
    the act has a producer with two readers and cannot fuse into it)."""
    b = NetBuilder("between", (1, 64, 16, 16))
    b.conv(64, 1)
    first = b.x
    if act:
        b.act(act)
    b.conv(64, 1)
    if shared:
        b.add(b.x, first)
    return b.build()


def litert(precision: str):
    return load_profile("host-cpu-litert").replace(precision=precision)


def test_int8_standalone_relu_runs_on_the_builtin_kernel_between_two_partitions() -> None:
    with_relu = simulate(relu_between_convs(Kind.RELU), litert("int8"))
    without = simulate(relu_between_convs(None), litert("int8"))
    relu = next(r for r in with_relu.rows if r.op.kind == Kind.RELU)
    assert "on host: relu is not in the delegate's int8 op set" in relu.note
    assert relu.cost.latency_s == pytest.approx(64 * 16 * 16 * RELU_S + BUILTIN_OP_S)
    assert with_relu.summary["fallback_ops"] == 1 and with_relu.summary["handovers"] == 2
    # Everything else is priced as before: the relu adds its kernel and two hand-overs.
    assert with_relu.latency_s - without.latency_s == pytest.approx(
        64 * 16 * 16 * RELU_S + BUILTIN_OP_S + 2 * HANDOVER_S)


def test_fp32_and_fused_activations_stay_on_the_delegate() -> None:
    fp32 = simulate(relu_between_convs(Kind.RELU), litert("fp32"))
    assert fp32.summary["fallback_ops"] == 0 and fp32.summary["handovers"] == 0
    fused = simulate(relu_between_convs(Kind.RELU, shared=False), litert("int8"))
    assert fused.summary["fallback_ops"] == 0
    assert not any(r.op.kind == Kind.RELU for r in fused.rows)  # merged into the conv


def test_builtin_kernels_cost_per_element_whatever_they_compute() -> None:
    """hard-swish counts 4 element operations to relu's 1, but LiteRT's scalar int8 kernels
    take a measured time per element (3.6 and 7.6 ns), not per operation."""
    row = next(r for r in simulate(relu_between_convs(Kind.HARD_SWISH), litert("int8")).rows
               if r.op.kind == Kind.HARD_SWISH)
    assert row.cost.latency_s == pytest.approx(64 * 16 * 16 * 3.6e-9 + BUILTIN_OP_S)
    assert row.cost.unit == "cpu" and row.note.startswith("on host")


def test_a_delegate_needs_a_host_and_per_element_kinds_must_be_kinds() -> None:
    data = tomllib.loads(to_toml(load_profile("host-cpu-litert")))
    del data["offload"]
    with pytest.raises(EdgesimError, match=r"needs an \[offload\] table: the ops its \[delegate\] table leaves out"):
        profile_from_mapping(data, "x.toml")
    data = tomllib.loads(to_toml(load_profile("host-cpu-litert-builtin")))
    data["per_element_s"]["relu7"] = 1e-9
    with pytest.raises(EdgesimError, match=r"x.toml: key 'per_element_s.relu7' is not an op kind"):
        profile_from_mapping(data, "x.toml")
    data["per_element_s"] = {"relu": 2.0}
    with pytest.raises(EdgesimError, match=r"per_element_s.relu"):
        profile_from_mapping(data, "x.toml")


def shared_relus(skip: bool) -> OpGraph:
    """A conv output read by three ReLU → 1x1 conv branches (a NAS-Bench-201 node feeding
    three conv edges), summed; with `skip` the conv output is also added in directly."""
    b = NetBuilder("shared", (1, 16, 8, 8))
    node = b.conv(16, 1)
    branches = []
    for _ in range(3):
        b.act(Kind.RELU, x=node)
        branches.append(b.conv(16, 1))
    total = b.add(b.add(branches[0], branches[1]), branches[2])
    if skip:
        b.add(total, node)
    return b.build()


@pytest.mark.parametrize(("skip", "relus"), [(False, 0), (True, 1)])
def test_duplicate_relus_run_once_and_fuse_as_the_converter_leaves_them(skip: bool, relus: int) -> None:
    """The three ReLUs of one tensor are one op (common-subexpression elimination); it fuses
    into the conv when nothing else reads the conv, and stays standalone (on the builtin
    kernel at int8) when the skip add does. The TFLite file edgesim writes and the engine's
    rewrite for host-cpu-litert agree."""
    tflite = pytest.importorskip("tflite")
    from tflite.BuiltinOperator import BuiltinOperator

    from graphs.exporters.tflite import to_tflite

    graph = shared_relus(skip)
    report = simulate(graph, litert("int8"))
    assert sum(r.op.kind == Kind.RELU for r in report.rows) == relus
    assert report.summary["fallback_ops"] == relus
    model = tflite.Model.GetRootAsModel(to_tflite(graph, "int8"), 0)
    sub = model.Subgraphs(0)
    codes = [model.OperatorCodes(sub.Operators(i).OpcodeIndex()).BuiltinCode() for i in range(sub.OperatorsLength())]
    assert codes.count(BuiltinOperator.RELU) == relus


def test_an_activation_does_not_fuse_into_a_removed_constant() -> None:
    """With dead-op removal on (a what-if for this runtime), a NAS-Bench-201 `none` edge's
    x·0 is removed; the ReLU of the constant node it feeds still runs (conv-BN of zero is
    computed, as the HW-NAS-Bench rows show) instead of fusing into the removed MUL."""
    from graphs import build

    arch = "|none~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|avg_pool_3x3~2|"
    report = simulate(build(f"nasbench201(arch='{arch}')"), litert("int8").replace(prune_dead_ops=True))
    relu = next(r for r in report.rows if r.op.name == "cell0_0/edge1to2/relu")
    assert relu.note.startswith("on host")
    assert all(r.op.name != "cell0_0/edge0to1/zero" for r in report.rows)


def test_a_relu_on_a_constant_costs_what_its_never_mispredicted_branches_cost() -> None:
    """LiteRT's int8 RELU branches on each element's sign: 7.6 ns per element on data, 3.06
    on a constant tensor (an op tagged "zero", such as what a NAS-Bench-201 `none` edge
    feeds), where no branch is mispredicted. Same signature, two prices."""
    b = NetBuilder("constant", (1, 64, 16, 16))
    first = b.conv(64, 1)
    data = b.act(Kind.RELU, x=first)
    zero = b.op(Kind.MUL, [first], b.shape(first), name="zero", tag="zero")
    constant = b.op(Kind.RELU, [zero], b.shape(zero), name="relu_of_zero", tag="zero")
    b.add(b.add(b.conv(64, 1, x=data), b.conv(64, 1, x=constant)), zero)  # zero read twice: no fusion
    rows = {r.op.name: r for r in simulate(b.build(), litert("int8")).rows}
    assert rows["relu_of_zero"].op.signature == next(r.op for r in rows.values() if r.op.name != "relu_of_zero"
                                                      and r.op.kind == Kind.RELU).signature
    assert rows["relu_of_zero"].cost.latency_s == pytest.approx(64 * 16 * 16 * 3.06e-9 + BUILTIN_OP_S)
    assert [r.cost.latency_s for r in rows.values() if r.op.kind == Kind.RELU and r.op.tag != "zero"] == \
        [pytest.approx(64 * 16 * 16 * RELU_S + BUILTIN_OP_S)]
