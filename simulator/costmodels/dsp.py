"""Vector DSP (Qualcomm Hexagon with HVX): wide int8 SIMD on a few hardware threads.

Peak = `contexts` HVX contexts × `vector_bits`/8 int8 lanes × `macs_per_lane_per_cycle`
× `clock_hz`. Activations live in a vector layout (Hexagon NN's "d32": a 128-byte vector
holds 32 channels × 4 columns), so channel counts are padded up to `channel_granularity`
and widths up to lanes / granularity: the lanes still fire on the padding, which is
where small or odd channel counts lose. Per op: the larger of compute (padded work over
peak × a per-category efficiency) and memory (padded tensors over L2 bandwidth when they
fit in L2, else DRAM bandwidth; weights from DRAM), plus a fixed `per_op_s` (the op's
set-up on the DSP) and, for conv and dense ops, `weights_s` (bringing their weights and
requantisation parameters into VTCM).

The DSP is driven by a host CPU through a delegate: the per-inference call into the DSP
(FastRPC) is `[offload].invocation_overhead_s`, and the ops the delegate rejects
(`unsupported`) fall back to the host profile through the engine's shared mechanism.
The schema is `simulator.hardware.dsp.DspHardware`.

Batch. The TFLite Hexagon delegate builds its Hexagon NN graph for the model's fixed
shapes; a larger batch goes through its dynamic-batch option, with which "the graph will
run multiple times each with batch dimension <= max_batch_size"
(tensorflow/lite/delegates/hexagon/hexagon_delegate.h). edgesim prices one run per
sample (max_batch_size 1, the one-sample model the delegate was given): B times the
one-sample latency and energy, each run paying its op set-ups, its weights into VTCM and
its FastRPC call (`batch_as_invocations`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphs.ops import CONV_KINDS, MAC_KINDS, Kind, Op, op_work
from simulator.costmodels.base import (
    CALIBRATED_CATEGORIES,
    CostModel,
    FreeParameter,
    cache_split,
    ceil_to,
    memory_time,
    roofline,
)
from simulator.hardware.dsp import DspHardware
from simulator.hardware.profile import Profile
from simulator.results import OpCost


class DspModel(CostModel):
    batch_as_invocations = True
    unit = "dsp"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        hw: DspHardware = profile.hw
        v = hw.vector
        self.hw = hw
        self.width_granularity = v.lanes // v.channel_granularity  # columns per vector
        self.peak = v.contexts * v.lanes * v.macs_per_lane_per_cycle * v.clock_hz
        self.efficiency = hw.efficiency.as_dict()
        self.rejected = hw.delegate.rejected(profile.precision)

    # -- what the delegate takes -------------------------------------------------------
    def unsupported(self, op: Op) -> str | None:
        if self.profile.precision != "int8":
            return f"the DSP delegate runs only 8-bit quantized ops, not {self.profile.precision}"
        if op.kind in self.rejected:
            return f"{op.kind.value} is not supported by the DSP delegate"
        if op.kind in CONV_KINDS:
            # TFLite Hexagon delegate constraints (its supported-ops list).
            if max(op.stride) > 3:
                return "conv stride above 3 is not supported by the DSP delegate"
            if op.kind == Kind.DEPTHWISE_CONV2D and op.output[1] != op.inputs[0][1]:
                return "depthwise conv with a depth multiplier is not supported by the DSP delegate"
            if max(op.dilation) > 1 and max(op.stride) > 1:
                return "dilated conv with a stride is not supported by the DSP delegate"
        return None

    # -- the vector layout -------------------------------------------------------------
    def padded_elements(self, shape: tuple[int, ...]) -> int:
        """Elements of a tensor stored in the vector layout: NCHW pads C and W; other
        ranks pad their last (feature) axis."""
        g = self.hw.vector.channel_granularity
        if len(shape) == 4:
            n, c, h, w = shape
            return n * ceil_to(c, g) * h * ceil_to(w, self.width_granularity)
        return math.prod(shape[:-1]) * ceil_to(shape[-1], g)

    def padded_work(self, op: Op) -> float:
        """Lane operations the op issues: its work with every vectorised axis padded."""
        g = self.hw.vector.channel_granularity
        taps = op.kernel[0] * op.kernel[1]
        if op.kind in CONV_KINDS:
            n, c_out, h, w = op.output
            w_pad = ceil_to(w, self.width_granularity)
            if op.kind == Kind.DEPTHWISE_CONV2D:
                return float(n * h * w_pad * ceil_to(c_out, g) * taps)
            c_in = op.inputs[0][1] // op.groups
            per_group = ceil_to(c_out // op.groups, g) * ceil_to(c_in, g)
            return float(n * h * w_pad * op.groups * per_group * taps)
        if op.kind in (Kind.DENSE, Kind.MATMUL):
            rows = math.prod(op.output[:-1])
            return float(rows * ceil_to(op.output[-1], g) * ceil_to(op.inputs[0][-1], g))
        if not op.out_elements:
            return 0.0
        return op_work(op) * self.padded_elements(op.output) / op.out_elements

    # -- pricing -----------------------------------------------------------------------
    def op_cost(self, op: Op) -> OpCost:
        work = self.padded_work(op)
        compute = work / (self.peak * self.efficiency[op.category])
        size = self.profile.bytes_per_element
        mem = self.hw.memory
        dram, cached = cache_split((self.padded_elements(s) * size for s in (*op.inputs, op.output)), mem.cache_bytes)
        dram += op.params * size
        memory = memory_time(dram, cached, mem.dram_bw_bytes_per_s, mem.cache_bw_bytes_per_s)
        overhead = self.hw.overhead.per_op_s + (self.hw.overhead.weights_s if op.kind in MAC_KINDS else 0.0)
        latency, bound = roofline(compute, memory, overhead)
        # The lanes fire on the padding too; DRAM bytes are staged through L2 as well.
        energy = self.dynamic_energy(work if op.macs else 0.0, dram, dram + cached)
        utilisation = op.macs / (self.peak * latency) if op.macs else None
        plain = op_work(op)
        note = f"vector padding x{work / plain:.1f}" if plain and work >= 1.5 * plain else ""
        return OpCost(latency, energy.total_j, compute, memory, overhead, bound, self.unit, utilisation, note, *energy)

    def graph_summary(self, ops: Sequence[Op]) -> dict[str, float]:
        """The lanes spent on padding: padded over real MACs of the MAC ops. (No
        graph-level cost beyond the engine's invocation and transfers.)"""
        macs = sum(op.macs for op in ops)
        if not macs:
            return {}
        padded = sum(self.padded_work(op) for op in ops if op.macs)
        return {"vector_padding": padded / macs}

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        # What whole-network latencies pin down: the efficiencies of the categories that
        # carry the time, the per-op set-up, the bandwidth and the per-inference call.
        return [FreeParameter(f"efficiency.{f}", 0.005, 1.0) for f in CALIBRATED_CATEGORIES] + [
            FreeParameter("overhead.per_op_s", 1e-7, 1e-3),
            FreeParameter("overhead.weights_s", 1e-7, 1e-3),
            FreeParameter("memory.dram_bw_bytes_per_s", 1e8, 1e12),
            FreeParameter("offload.invocation_overhead_s", 1e-6, 1e-1),
        ]
