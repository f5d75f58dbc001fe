"""Issue 8 must-hold: the host ground-truth loop. Time NAS-Bench-201 networks and zoo
models on this machine with onnxruntime (`simulator.measure`), calibrate the CPU model on
half of them and check the other half: Kendall tau >= 0.8, MAPE <= 15 %.

The base is `host-cpu`: x86-desktop-cpu's estimates in fp32, with onnxruntime's graph
rewrites as its `[runtime]` table (`test_host_cpu_runtime_is_onnxruntimes` checks them
against the graph onnxruntime runs) and an fp32 peak with room above this machine's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from graphs import NetBuilder, OpGraph  # noqa: E402
from graphs.exporters.onnx import export_onnx  # noqa: E402
from graphs.ops import Kind  # noqa: E402
from graphs.spaces import nasbench201 as nb  # noqa: E402
from simulator.calibrate import calibrate, split_rows  # noqa: E402
from simulator.engine.rewrite import plan  # noqa: E402
from simulator.hardware.profile import load_profile  # noqa: E402
from simulator.measure import Measurement, measure, write_reference_csv  # noqa: E402
from simulator.reference import ReferenceRow, load_reference, reference_graphs  # noqa: E402
from simulator.validate import fit_proxy_scale, metrics, validate  # noqa: E402

# 30 seeded NAS-Bench-201 cells (CIFAR-10 build that HW-NAS-Bench measured, 8-118 M MACs)
# and 8 zoo models at 128 px (20-190 M MACs): ~0.45-2.5 ms and ~0.7-5.5 ms on one core.
NB201 = [nb.spec(arch) for arch in nb.sample(30, seed=0)]
ZOO = [
    f"{name}(resolution=128)"
    for name in (
        "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
        "mnasnet_a1", "efficientnet_lite0", "proxylessnas_mobile", "efficientnet_b0",
    )
]
# Six passes over all models (alternating order) of 2 warm-ups + 5 timed runs each.
ROUNDS, REPEAT, WARMUP = 6, 5, 2
SEED = 0


def measure_host(specs: Sequence[str]) -> list[Measurement]:
    """Each model's fastest run over ROUNDS passes of `measure`.

    The machine is shared: other processes only ever add time, in bursts of seconds that
    would hit a few models' consecutive runs. Passes spread each model's runs over the
    whole measurement, and the minimum keeps the uncontended ones: on this 2-core machine
    under load, two halves of the passes agree to 1.4 % (median over models) with the
    minimum and to 5 % with the median.
    """
    runs: dict[str, list[float]] = {spec: [] for spec in specs}
    source = ""
    for k in range(ROUNDS):
        order = list(specs) if k % 2 == 0 else list(specs)[::-1]
        for m in measure(order, threads=1, repeat=REPEAT, warmup=WARMUP):
            runs[m.model].extend(m.runs_ms)
            source = m.source
    return [Measurement(spec, min(r), f"{source}, min of {len(r)} runs", r) for spec, r in runs.items()]


def stratified_split(
    rows: Sequence[ReferenceRow], seed: int
) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """Half of each kind (NAS-Bench-201 cells, zoo models) to train on, the rest held out."""
    train: list[ReferenceRow] = []
    held: list[ReferenceRow] = []
    for kind in (True, False):
        group = [r for r in rows if r.model.startswith("nasbench201(") is kind]
        a, b = split_rows(group, len(group) // 2, seed)
        train += a
        held += b
    return train, held


def _runtime_test_graph(activations: Sequence[str]) -> OpGraph:
    """Conv-BN with each activation, then `y * 0 + y` (a `none` edge's Mul)."""
    b = NetBuilder("fusions", (1, 8, 16, 16))
    for act in activations:
        y = b.conv_bn_act(8, 3, act=act)
    zero = b.op(Kind.MUL, [y], b.shape(y), name="zero", tag="zero")
    b.add(zero, y)
    return b.build()


def test_host_cpu_runtime_is_onnxruntimes(tmp_path) -> None:
    """The ops left after host-cpu's rewrites are the ones onnxruntime runs (at the level
    `measure` uses): batch norm folded and the activations fused into each conv, and the
    `x * 0` Mul kept (onnxruntime does not know it is zero, so nothing is pruned)."""
    runtime = load_profile("host-cpu").runtime
    assert runtime.fold_batch_norm and not runtime.prune_dead_ops
    graph = _runtime_test_graph(runtime.fused_activations)
    model = export_onnx(graph, tmp_path / "fusions.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.log_severity_level = 3  # the NCHWc warning about saving optimised models
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    ran = [n.op_type for n in onnx.load(tmp_path / "optimized.onnx").graph.node]
    # Reorder* nodes are onnxruntime's NCHWc layout conversions, which edgesim does not
    # model; everything else is one conv per conv (BN and activation fused), the Mul, the Add.
    ran = sorted(t for t in ran if not t.startswith("Reorder"))
    convs = len(runtime.fused_activations)
    assert ran == sorted(["Conv"] * convs + ["Mul", "Add"])
    flat = graph.flat()
    kept = sorted(flat.ops[i].kind.value for i in plan(flat, runtime).kept)
    assert kept == sorted(["conv2d"] * convs + ["mul", "add"])


@pytest.mark.slow
def test_calibrated_host_profile_ranks_and_times_held_out_models(tmp_path) -> None:
    start = time.perf_counter()
    measured = measure_host(NB201 + ZOO)
    measure_s = time.perf_counter() - start
    path = tmp_path / "host.csv"
    write_reference_csv(measured, path)
    rows = load_reference(path)  # through the CSV, as `edgesim calibrate` reads it
    assert [r.device for r in rows] == ["host"] * len(NB201 + ZOO)

    train, held = stratified_split(rows, SEED)
    result = calibrate(load_profile("host-cpu"), train, seed=SEED, reference="host")
    scale = fit_proxy_scale([g.macs for g in reference_graphs(train)], [r.latency_ms for r in train])
    check = validate(result.profile, held, proxy_scale=scale)
    cells = [r for r in check.rows if r.row.model.startswith("nasbench201(")]
    cells_only = metrics([r.predicted_ms for r in cells], [r.measured_ms for r in cells])
    m = check.metrics
    report = (
        f"held out {m.n}: tau {m.kendall:.3f}, MAPE {m.mape:.1%} (NB201 only: tau "
        f"{cells_only.kendall:.3f}, MAPE {cells_only.mape:.1%}; MACs proxy: tau "
        f"{check.proxy.kendall:.3f}, MAPE {check.proxy.mape:.1%}); train: tau "
        f"{result.metrics.kendall:.3f}, MAPE {result.metrics.mape:.1%}; measured in "
        f"{measure_s:.0f} s; fitted "
        + ", ".join(f"{k} {a:.3g}->{b:.3g}" for k, (a, b) in result.fitted.items())
        + f", prune_dead_ops {result.choices['prune_dead_ops']}; worst: "
        + "; ".join(f"{r.row.model} {r.predicted_ms:.3f} vs {r.measured_ms:.3f} ms"
                    for r in check.worst(4))
    )
    print(report)
    # The cells are where the model is weakest (their tau alone is ~0.8, no better than
    # MACs): onnxruntime merges duplicate ops (two `avg_pool~0` edges, the ReLUs of two
    # convs reading one node) and wraps non-NCHWc ops in layout reorders; the engine
    # models neither.
    assert len(train) == 19 and len(held) == 19
    assert m.kendall >= 0.8, report
    assert m.mape <= 0.15, report
