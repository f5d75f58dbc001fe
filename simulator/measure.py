"""Host measurements: time models with onnxruntime or LiteRT on this machine's CPU.

Each spec is built (a zoo model or a graph file) and exported to ONNX (or, for LiteRT, to
TFLite in fp32 or int8) with random weights in a temporary directory; a spec that is an
.onnx (.tflite) path is timed as it is, with its own weights. LiteRT runs its interpreter
with the default XNNPACK delegate, the CPU kernels of phones. onnxruntime sessions run
sequentially with `intra_op_num_threads=threads`, `inter_op_num_threads=1` and its default
graph optimisations; after `warmup`
untimed runs the latency is the median of `repeat` timed runs. Rows come out in the
reference CSV format (`model,latency_ms,energy_mj,device,source`, device `host`, energy
empty) so `edgesim validate` can score a profile of this machine against them.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphs.errors import EdgesimError
from graphs.files import atomic_file
from graphs.graph import OpGraph
from graphs.ops import Shape
from graphs.spec import build
from simulator.progress import progress
from simulator.tabular import write_csv

REFERENCE_HEADER = ("model", "latency_ms", "energy_mj", "device", "source")
DEVICE = "host"
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
                "tensor(double)": np.float64, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
                "tensor(bool)": np.bool_}


@dataclass
class Measurement:
    """One model's host latency; `runs_ms` are the timed runs, `ops_ms` the median time of
    each onnxruntime node when profiled (names are the exported op names, or the fused
    node that onnxruntime made of them)."""

    model: str
    latency_ms: float
    source: str
    runs_ms: list[float]
    ops_ms: dict[str, float] = field(default_factory=dict)
    device: str = DEVICE
    energy_mj: float | None = None

    def row(self) -> list[Any]:
        energy = "" if self.energy_mj is None else f"{self.energy_mj:.6g}"
        return [self.model, f"{self.latency_ms:.6g}", energy, self.device, self.source]


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise EdgesimError(
            "measuring needs onnxruntime: pip install 'edgesim[measure]'"
        ) from None
    return onnxruntime


RUNTIMES = ("onnxruntime", "litert")


def _litert() -> Any:
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        raise EdgesimError("measuring with LiteRT needs ai-edge-litert: pip install 'edgesim[litert]'") from None
    return interpreter


def _source_label(threads: int, runtime: str, precision: str) -> str:
    unit = "thread" if threads == 1 else "threads"
    if runtime == "litert":
        import ai_edge_litert

        engine = f"LiteRT {ai_edge_litert.__version__} (XNNPACK) {precision}"
    else:
        engine = f"onnxruntime {_onnxruntime().__version__}"
    return f"edgesim measure, {engine}, {threads} {unit}, {cpu_model()}"


def _is_onnx(spec: str) -> bool:
    return spec.strip().lower().endswith(".onnx")


def _is_tflite(spec: str) -> bool:
    return spec.strip().lower().endswith(".tflite")


def _resolve(
    specs: Sequence[str], input_shapes: Mapping[str | None, Shape] | None, runtime: str
) -> list[OpGraph]:
    """Build every spec first, so that a bad one fails before anything runs or is written."""
    graphs = []
    own_format, other = (_is_tflite, _is_onnx) if runtime == "litert" else (_is_onnx, _is_tflite)
    for spec in specs:
        if other(spec):
            raise EdgesimError(
                f"{spec.strip()}: {runtime} does not run this file format; "
                f"time it with --runtime {'onnxruntime' if runtime == 'litert' else 'litert'}"
            )
        if own_format(spec):
            # Timed as it is: ops the IR lacks run fine in the runtime.
            graphs.append(build(spec.strip(), allow_unknown=True, input_shape=input_shapes or None))
        else:
            graphs.append(build(spec))
    return graphs


def measure(
    specs: Sequence[str],
    threads: int = 1,
    repeat: int = 20,
    warmup: int = 5,
    per_op: bool = False,
    seed: int = 0,
    input_shapes: Mapping[str | None, Shape] | None = None,
    runtime: str = "onnxruntime",
    precision: str = "fp32",
) -> list[Measurement]:
    """Time each spec on this host; see the module docstring for the protocol.
    `input_shapes` fixes the dynamic input dimensions of .onnx files. `runtime="litert"`
    times TFLite files (specs exported at `precision`, fp32 or int8) with LiteRT."""
    if threads < 1 or repeat < 1 or warmup < 0:
        raise EdgesimError(
            f"measure: threads ({threads}) and repeat ({repeat}) must be ≥ 1, "
            f"warmup ({warmup}) ≥ 0"
        )
    if runtime not in RUNTIMES:
        raise EdgesimError(f"measure: runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if runtime == "onnxruntime" and precision != "fp32":
        raise EdgesimError("measure: onnxruntime times the fp32 ONNX export; int8 is for --runtime litert")
    if runtime == "litert" and per_op:
        raise EdgesimError("measure: per-op times come from onnxruntime's profiler; drop --per-op-out for LiteRT")
    graphs = _resolve(specs, input_shapes, runtime)
    source = _source_label(threads, runtime, precision)
    results = []
    with tempfile.TemporaryDirectory(prefix="edgesim-measure-") as tmp:
        for index, (spec, graph) in enumerate(progress(zip(specs, graphs, strict=True), len(specs), "measuring",
                                                       "model")):
            if runtime == "litert":
                runs = _time_litert(_model_file(spec, graph, tmp, index, "litert", precision, seed),
                                    seed, threads, repeat, warmup)
                results.append(Measurement(spec, statistics.median(runs), source, runs))
                continue
            model_path = _model_file(spec, graph, tmp, index, runtime, precision, seed)
            feeds = _feeds(graph, seed)
            runs = _time(model_path, feeds, threads, repeat, warmup)
            ops = _profile(model_path, feeds, threads, repeat, warmup, tmp) if per_op else {}
            results.append(
                Measurement(spec, statistics.median(runs), source, runs, ops)
            )
    return results


def _model_file(spec: str, graph: OpGraph, tmp: str, index: int, runtime: str, precision: str, seed: int) -> Path:
    """The file the runtime times: the spec's own file, or the graph exported with random weights."""
    if _is_onnx(spec) or _is_tflite(spec):
        return Path(spec.strip())
    if runtime == "litert":
        from graphs.exporters.tflite import export_tflite

        return export_tflite(graph, Path(tmp) / f"model{index}.tflite", precision, seed=seed)
    from graphs.exporters.onnx import export_onnx

    return export_onnx(graph, Path(tmp) / f"model{index}.onnx", seed=seed)


def _time_litert(path: Path, seed: int, threads: int, repeat: int, warmup: int) -> list[float]:
    """LiteRT's interpreter with its default XNNPACK delegate, as `benchmark_model` runs it."""
    interpreter = _litert().Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(seed)
    for detail in interpreter.get_input_details():
        values = rng.standard_normal(detail["shape"])
        interpreter.set_tensor(detail["index"], values.astype(detail["dtype"]))
    for _ in range(warmup):
        interpreter.invoke()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        interpreter.invoke()
        runs.append((time.perf_counter() - start) * 1e3)
    return runs


def _session(path: Path, threads: int, profile_prefix: str | None = None) -> Any:
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Default level: what a user of onnxruntime gets without tuning anything.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _feeds(graph: OpGraph, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in graph.inputs.items()}


def _typed(session: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        i.name: feeds[i.name].astype(_NUMPY_TYPES.get(i.type, np.float32))
        for i in session.get_inputs()
    }


def _time(path: Path, feeds: dict, threads: int, repeat: int, warmup: int) -> list[float]:
    session = _session(path, threads)
    feeds = _typed(session, feeds)
    for _ in range(warmup):
        session.run(None, feeds)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, feeds)
        runs.append((time.perf_counter() - start) * 1e3)
    return runs


def _profile(
    path: Path, feeds: dict, threads: int, repeat: int, warmup: int, tmp: str
) -> dict[str, float]:
    """Median time per onnxruntime node over `repeat` profiled runs (a separate session:
    profiling slows the runs it records)."""
    session = _session(path, threads, profile_prefix=os.path.join(tmp, "profile"))
    feeds = _typed(session, feeds)
    for _ in range(warmup + repeat):
        session.run(None, feeds)
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    per_node: dict[str, list[float]] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") == "Node" and name.endswith("_kernel_time"):
            per_node.setdefault(name.removesuffix("_kernel_time"), []).append(event["dur"] / 1e3)
    # The last `repeat` runs of each node; the warm-up runs are profiled too.
    return {name: statistics.median(times[-repeat:]) for name, times in per_node.items()}


def write_reference_csv(rows: Sequence[Measurement], path: str | Path) -> None:
    """Write measurements as a reference CSV, atomically."""
    with atomic_file(path) as f:
        write_csv(REFERENCE_HEADER, [m.row() for m in rows], f)


def write_per_op_json(rows: Sequence[Measurement], path: str | Path) -> None:
    """Write per-op profiler times (ms) with each model's latency and runs, atomically."""
    data = [
        {"model": m.model, "latency_ms": m.latency_ms, "runs_ms": m.runs_ms,
         "source": m.source, "ops_ms": m.ops_ms}
        for m in rows
    ]
    with atomic_file(path) as f:
        json.dump(data, f, indent=1)
