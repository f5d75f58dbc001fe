"""Linear-cost CPU: latency grows linearly with work.

Per op: the larger of compute time (work over peak × a per-category efficiency) and
memory time (bytes over bandwidth), plus a per-op dispatch overhead. MAC ops count MACs
as work; other ops count element operations (`graphs.ops.op_work`).

A kind listed in `per_element_s` (a runtime's scalar kernels, which requantize each
element whatever the activation computes) takes that time per output element instead;
`constant_per_element_s`, where given, on a constant tensor (an op tagged "zero"), where a
kernel that branches per element never mispredicts.

Peak = `macs_per_cycle[precision]` × `clock_hz` × the cores the runtime's threads use,
each core beyond the first adding `parallel_efficiency` of one core. SIMD kernels work on
whole vectors: the channel axis (the last axis of other ranks) is padded up to the
`vector_bits` lanes at the precision, so a channel count just above a multiple of the lane
count pays for a whole vector (the vector tail). Dispatch is `overhead.per_op_s` plus
`dispatch[category]` (what the runtime redoes on every call of that kind: weight packing,
layout conversion) plus, with more than one thread, `overhead.thread_wake_s` per extra
thread, plus `overhead.per_group_s` per group of a grouped or depthwise conv (a runtime
without grouped kernels calls its convolution once per group and concatenates the
outputs: PyTorch's native CPU path). Each inference pays `overhead.per_inference_s` once:
the runtime's invoke, quantizing the input and dequantizing the output, or the
framework's call into the model.

Memory: weights are read from DRAM (a single inference finds them cold); an activation
tensor that fits in the cache level named by `memory.cache_bytes` is read or written there
(its producer just wrote it), a larger one goes to DRAM. Energy = MACs × energy per MAC
+ DRAM bytes × DRAM energy + cache bytes × SRAM energy (static power is the engine's).
A runtime that hands the graph to a CPU delegate (LiteRT's XNNPACK) names the kinds the
delegate leaves out in `[delegate]`: those ops run on the runtime's own kernels, priced by
the `[offload]` host profile through the engine's shared fallback (`engine.placement`),
and each tensor crossing between delegate partitions and those kernels costs a link
transfer. The schema is `simulator.hardware.cpu.CpuHardware`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphs.ops import Kind, Op, op_work
from simulator.costmodels.base import (
    CALIBRATED_CATEGORIES,
    CostModel,
    FreeParameter,
    cache_split,
    ceil_to,
    memory_time,
    roofline,
)
from simulator.hardware.cpu import CpuHardware
from simulator.hardware.profile import Profile
from simulator.results import OpCost, Term, TermKind

CONSTANT_TAG = "zero"  # `graphs.ops.Op.tag` of an op whose value does not depend on the input


class CpuModel(CostModel):
    unit = "cpu"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        hw: CpuHardware = profile.hw
        self.hw = hw
        c = hw.compute
        extra_cores = c.cores - 1
        self.peak = c.macs_per_cycle[profile.precision] * c.clock_hz * (1 + extra_cores * c.parallel_efficiency)
        self.efficiency = hw.efficiency.as_dict()
        self.bytes_per_element = profile.bytes_per_element
        self.lanes = max(1, c.vector_bits // (8 * profile.bytes_per_element))
        per_op = hw.overhead.per_op_s + extra_cores * hw.overhead.thread_wake_s
        self.overhead_s = {k: per_op + v for k, v in hw.dispatch.as_dict().items()}
        self.per_group_s = hw.overhead.per_group_s
        self.per_element_s = {Kind(k): v for k, v in (hw.per_element_s or {}).items()}
        self.constant_per_element_s = {Kind(k): v for k, v in (hw.constant_per_element_s or {}).items()}
        if self.constant_per_element_s:  # constant ops price apart: cache them apart
            self.cost = self._cost_by_constancy  # type: ignore[method-assign]
        self.rejected = frozenset() if hw.delegate is None else hw.delegate.rejected(profile.precision)

    def _cost_by_constancy(self, op: Op) -> OpCost:
        """`cost` keyed by the op's signature and whether it computes on a constant."""
        key = (op.signature, op.tag == CONSTANT_TAG)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self.op_cost(op)
        return hit

    def unsupported(self, op: Op) -> str | None:
        if op.kind in self.rejected:
            return f"{op.kind.value} is not in the delegate's {self.profile.precision} op set: the runtime's own kernel"
        return None

    def vector_tail(self, op: Op) -> float:
        """Lane operations issued per useful one: the channel axis (NCHW) or the last
        axis padded up to whole vectors. Detection post-processing loops over anchors in
        scalar code: no tail."""
        if op.kind == Kind.DETECTION_POSTPROCESS:
            return 1.0
        shape = op.output
        channels = shape[1] if len(shape) == 4 else shape[-1]
        if not channels:
            return 1.0
        return ceil_to(channels, self.lanes) / channels

    def op_cost(self, op: Op) -> OpCost:
        size = self.bytes_per_element
        mem = self.hw.memory
        work = op_work(op)
        per_element = self.per_element_s.get(op.kind)
        if op.tag == CONSTANT_TAG:
            per_element = self.constant_per_element_s.get(op.kind, per_element)
        if per_element is None:
            compute = work * self.vector_tail(op) / (self.peak * self.efficiency[op.category])
        else:
            compute = op.out_elements * per_element
        dram, cached = cache_split((n * size for n in (*map(math.prod, op.inputs), op.out_elements)), mem.cache_bytes)
        dram += op.params * size
        memory = memory_time(dram, cached, mem.dram_bw_bytes_per_s, mem.cache_bw_bytes_per_s)
        overhead = self.overhead_s[op.category]
        if op.groups > 1:
            overhead += op.groups * self.per_group_s
        latency, bound = roofline(compute, memory, overhead)
        energy = self.dynamic_energy(op.macs, dram, cached)
        # Share of the MAC peak used, for MAC ops (element ops are not MACs).
        utilisation = work / (self.peak * latency) if op.macs else None
        return OpCost(latency, energy.total_j, compute, memory, overhead, bound, self.unit, utilisation, "", *energy)

    def graph_terms(self, ops: Sequence[Op]) -> list[Term]:
        if not ops:
            return []
        return [Term(self.hw.overhead.per_inference_s, 0.0, TermKind.INFERENCE, "inference",
                     "runtime per inference: invoke, input quantize / output dequantize")]

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        # What whole-network latencies can pin down: the efficiencies of the categories
        # that carry the time, the dispatch overhead and the DRAM bandwidth.
        return [FreeParameter(f"efficiency.{f}", 0.01, 1.0) for f in CALIBRATED_CATEGORIES] + [
            FreeParameter("overhead.per_op_s", 1e-7, 1e-3),
            FreeParameter("memory.dram_bw_bytes_per_s", 1e8, 1e12),
        ]
