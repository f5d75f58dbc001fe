"""Systolic-array accelerator (Google Edge TPU): GEMM mapping, vector path, parameter cache.

Array. Conv and dense ops lower to GEMMs (M = output pixels, K = kernel taps × input
channels per group, N = output channels per group; one GEMM per group) whose cycles on the
R×C array are SCALE-Sim v3's count (`gemm_cycles`). Depthwise convs are mapped as the
profile's `depthwise_mapping` says.

Vector path. Elementwise, activation, pooling, softmax and data-movement ops run on
`vector_lanes` lanes. The array's results leave through the same lanes (bias, requantise,
activation and, where the profile says `partial_sums = "drain"`, the accumulation of the
partial sums of each row fold), so a MAC op takes the longer of its array cycles and the
time to drain what it produces. A 64×64 array emits up to 64 values a cycle and the lanes
take far fewer: with this bound the model reproduces the 10–25 % of 4 TOPS that Coral's
ImageNet figures imply, while small, narrow layers keep the array's own pace, as
LatBench's NAS-Bench-201 measurements show.

Each op on the accelerator pays a fixed set-up cost (`array_op_s`, `vector_op_s`).
Parameters live in the on-chip parameter cache, allocated layer by layer in compiler
(topological) order until a layer does not fit; that layer and every later one are
streamed from the host over the link on every inference (`graph_terms`). Ops the Edge TPU
compiler does not map (`unsupported`) go to the host CPU through the engine's shared
offload mechanism. The schema is `simulator.hardware.systolic.SystolicHardware`.

Batch. The Edge TPU compiler maps only tensors whose dimensions beyond the three
innermost are 1 (coral.ai, "TensorFlow models on the Edge TPU", model requirements): a
conv on a batch of 30 is refused with "Tensor has unsupported rank (up to 3 innermost
dimensions mapped)" and Coral's answer is that batch size > 1 is not supported
(google-coral/edgetpu issues #30, #700). A batch therefore runs as B invocations of the
one-sample model: B times its latency and energy, parameter streaming and the call into
the accelerator included (`batch_as_invocations`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from graphs.ops import CONV_KINDS, Kind, Op, gemm_shape
from simulator.costmodels.base import CostModel, FreeParameter, roofline
from simulator.costmodels.systolic_cycles import gemm_cycles
from simulator.hardware.profile import Profile
from simulator.hardware.systolic import SystolicHardware
from simulator.results import OpCost, Term, TermKind

__all__ = ["ArrayMapping", "SystolicModel", "gemm_cycles"]

# Ops the Edge TPU compiler does not map, and why (research/hardware.md section 2.2).
# Mapped, so absent here: sigmoid (Logistic), tanh, relu/relu6, add, mul (the broadcast
# multiply of squeeze-excite included), pooling, concat, pad, resize, reshape, softmax,
# and hard-sigmoid, which TFLite lowers to Add, ReLU6 and Mul.
UNMAPPED = {
    Kind.HARD_SWISH: "hard_swish is not mapped by the Edge TPU compiler (google-coral/edgetpu #272, #353)",
    Kind.SWISH: "swish is not mapped by the Edge TPU compiler (google-coral/edgetpu #353)",
    Kind.LEAKY_RELU: "leaky_relu is not mapped by the Edge TPU compiler (v15; google-coral/edgetpu #659)",
    Kind.GELU: "gelu is not in the Edge TPU supported-ops table",
    Kind.MATMUL: "a matmul of two activations (BATCH_MATMUL) is not in the Edge TPU supported-ops table",
    Kind.DETECTION_POSTPROCESS: "TFLite_Detection_PostProcess is a custom op the Edge TPU runtime runs on the "
    "host CPU (google-coral/edgetpu #515)",
    Kind.UNKNOWN: "custom or unknown ops do not map to the Edge TPU",
}

# Lane operations per output element of the kinds not counted from their shape (an
# activation is one lookup or clamp in 8-bit; unfolded batch norm a multiply and an add;
# softmax an exponential lookup, a sum and a scale).
VECTOR_OPS = {Kind.BATCH_NORM: 2, Kind.SOFTMAX: 3}


@dataclass(frozen=True)
class ArrayMapping:
    """A MAC op on the array: its GEMM, array cycles and the values it drains."""

    m: int
    n: int
    k: int
    gemms: int
    cycles: int  # SCALE-Sim compute cycles, all GEMMs
    drained: int  # values leaving the array: outputs, or partial sums per row fold

    def describe(self, rows: int, cols: int, dataflow: str) -> str:
        times = f"{self.gemms} × " if self.gemms > 1 else ""
        return f"{times}GEMM M={self.m} N={self.n} K={self.k} on {rows}x{cols} {dataflow}"


def vector_work(op: Op) -> int:
    """Lane operations of an op on the vector path."""
    if op.kind in (Kind.AVG_POOL, Kind.MAX_POOL):
        return op.out_elements * op.kernel[0] * op.kernel[1]
    if op.kind == Kind.GLOBAL_AVG_POOL:
        return op.in_elements
    if op.kind in (Kind.ADD, Kind.MUL):
        return op.out_elements * max(1, len(op.inputs) - 1)
    return op.out_elements * VECTOR_OPS.get(op.kind, 1)


class SystolicModel(CostModel):
    batch_as_invocations = True
    unit = "tpu"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.hw: SystolicHardware = profile.hw

    def unsupported(self, op: Op) -> str | None:
        if self.profile.precision != "int8":
            return f"the Edge TPU runs only 8-bit quantized ops, not {self.profile.precision}"
        if op.kind in CONV_KINDS and op.dilation[0] != op.dilation[1]:
            return "a conv with different x and y dilation is not mapped by the Edge TPU compiler"
        return UNMAPPED.get(op.kind)

    def op_cost(self, op: Op) -> OpCost:
        return self._array_cost(op) if op.macs else self._vector_cost(op)

    def mapping(self, op: Op) -> ArrayMapping:
        """How a MAC op occupies the array."""
        a = self.hw.array
        m, n, k, gemms = gemm_shape(op)
        if op.kind == Kind.DEPTHWISE_CONV2D and a.depthwise_mapping == "channels_on_columns":
            n, k, gemms = op.output[1], op.kernel[0] * op.kernel[1], 1
        cycles = gemms * gemm_cycles(m, n, k, a.array_rows, a.array_cols, a.dataflow)
        # An output-stationary array finishes each output in place.
        drains_partials = a.partial_sums == "drain" and a.dataflow != "os"
        folds = math.ceil(k / a.array_rows) if drains_partials else 1
        return ArrayMapping(m, n, k, gemms, cycles, gemms * m * n * folds)

    def array_time(self, mapping: ArrayMapping) -> tuple[float, float]:
        """(array seconds, drain seconds) of a mapped op; it takes the longer of the two."""
        v = self.hw.vector
        drain = math.ceil(mapping.drained / v.vector_lanes) / v.vector_clock_hz
        return mapping.cycles / self.hw.array.array_clock_hz, drain

    def _array_cost(self, op: Op) -> OpCost:
        a = self.hw.array
        mapping = self.mapping(op)
        array_s, drain_s = self.array_time(mapping)
        compute = max(array_s, drain_s)
        note = mapping.describe(a.array_rows, a.array_cols, a.dataflow)
        if drain_s > array_s:
            note += f", bound by draining {mapping.drained} values through {self.hw.vector.vector_lanes} lanes"
        utilisation = op.macs / (compute * a.array_clock_hz * a.array_rows * a.array_cols)
        return self._priced(op, compute, self.hw.overhead.array_op_s, utilisation, note)

    def _vector_cost(self, op: Op) -> OpCost:
        v = self.hw.vector
        compute = math.ceil(vector_work(op) / v.vector_lanes) / v.vector_clock_hz
        return self._priced(op, compute, self.hw.overhead.vector_op_s, None, "vector path")

    def _priced(self, op: Op, compute: float, overhead: float, utilisation: float | None, note: str) -> OpCost:
        # Activations stay in on-chip SRAM and parameters come from the parameter cache;
        # what misses the cache is a graph-level term, so no op waits on off-chip memory.
        latency, bound = roofline(compute, 0.0, overhead)
        sram_bytes = (op.in_elements + op.out_elements + op.params) * self.profile.bytes_per_element
        energy = self.dynamic_energy(op.macs, 0.0, sram_bytes)
        return OpCost(latency, energy.total_j, compute, 0.0, overhead, bound, self.unit, utilisation, note, *energy)

    def parameter_cache(self, ops: Sequence[Op]) -> tuple[int, int]:
        """(bytes cached, bytes streamed per inference) of `ops` in compiler order: the
        compiler caches layer after layer until one does not fit; that one and all later
        ones are streamed."""
        capacity = self.hw.memory.parameter_cache_bytes
        size = self.profile.bytes_per_element
        total = sum(op.params for op in ops) * size
        if total <= capacity:  # the common case, without walking the layers
            return total, 0
        cached = streamed = 0
        for op in ops:
            nbytes = op.params * size
            if not streamed and cached + nbytes <= capacity:
                cached += nbytes
            else:
                streamed += nbytes
        return cached, streamed

    def graph_terms(self, ops: Sequence[Op]) -> list[Term]:
        link = self.profile.offload
        _, streamed = self.parameter_cache(ops)
        if not streamed:
            return []
        return [Term(
            streamed / link.link_bw_bytes_per_s, streamed * link.link_energy_per_byte_j,
            TermKind.PARAMETER_STREAMING, "parameter streaming",
            f"{streamed} bytes of parameters past the {self.hw.memory.parameter_cache_bytes:.0f}-byte cache, "
            "streamed over the host link every inference",
        )]

    def graph_summary(self, ops: Sequence[Op]) -> dict[str, float]:
        a = self.hw.array
        cached, streamed = self.parameter_cache(ops)
        mac_ops = [op for op in ops if op.macs]
        busy_s = sum(self.cost(op).compute_s for op in mac_ops)  # array or drain time
        peak = a.array_clock_hz * a.array_rows * a.array_cols
        return {
            "parameter_cache_bytes": float(self.hw.memory.parameter_cache_bytes),
            "parameter_cache_used_bytes": float(cached),
            "parameter_bytes_streamed": float(streamed),
            # MACs over what the array could have done while MAC ops ran.
            "array_utilisation": sum(op.macs for op in mac_ops) / (busy_s * peak) if busy_s else 0.0,
        }

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        clock = profile.hw.array.array_clock_hz
        vclock = profile.hw.vector.vector_clock_hz
        return [
            FreeParameter("array.array_clock_hz", clock / 8, clock * 2),
            FreeParameter("vector.vector_clock_hz", vclock / 8, vclock * 8),
            FreeParameter("overhead.array_op_s", 1e-8, 1e-4),
            FreeParameter("overhead.vector_op_s", 1e-8, 1e-4),
            FreeParameter("offload.invocation_overhead_s", 1e-5, 5e-3),
        ]
