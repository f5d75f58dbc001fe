"""Linear-cost CPU: latency grows linearly with work.

Per op: the larger of compute time (work over peak × a per-category efficiency) and
memory time (bytes over bandwidth), plus a per-op dispatch overhead. MAC ops count MACs
as work; other ops count element operations (`graphs.ops.op_work`).

Memory: weights are read from DRAM (a single inference finds them cold); an activation
tensor that fits in the cache level named by `memory.cache_bytes` is read or written there
(its producer just wrote it), a larger one goes to DRAM. Energy = MACs × energy per MAC
+ DRAM bytes × DRAM energy + cache bytes × SRAM energy (static power is the engine's).
The schema is `simulator.hardware.cpu.CpuHardware`.
"""

from __future__ import annotations

import math

from graphs.ops import Op, op_work
from simulator.costmodels.base import (
    CALIBRATED_CATEGORIES,
    CostModel,
    FreeParameter,
    cache_split,
    memory_time,
    roofline,
)
from simulator.hardware.cpu import CpuHardware
from simulator.hardware.profile import Profile
from simulator.results import OpCost


class CpuModel(CostModel):
    unit = "cpu"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        hw: CpuHardware = profile.hw
        self.hw = hw
        self.peak = hw.compute.peak_macs_per_s[profile.precision]
        self.efficiency = hw.efficiency.as_dict()
        self.bytes_per_element = profile.bytes_per_element

    def op_cost(self, op: Op) -> OpCost:
        size = self.bytes_per_element
        mem = self.hw.memory
        work = op_work(op)
        compute = work / (self.peak * self.efficiency[op.category])
        dram, cached = cache_split((n * size for n in (*map(math.prod, op.inputs), op.out_elements)), mem.cache_bytes)
        dram += op.params * size
        memory = memory_time(dram, cached, mem.dram_bw_bytes_per_s, mem.cache_bw_bytes_per_s)
        overhead = self.hw.overhead.per_op_s
        latency, bound = roofline(compute, memory, overhead)
        energy = self.dynamic_energy(op.macs, dram, cached)
        # Share of the MAC peak used, for MAC ops (element ops are not MACs).
        utilisation = work / (self.peak * latency) if op.macs else None
        return OpCost(latency, energy.total_j, compute, memory, overhead, bound, self.unit, utilisation, "", *energy)

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        # What whole-network latencies can pin down: the efficiencies of the categories
        # that carry the time, the dispatch overhead and the DRAM bandwidth.
        return [FreeParameter(f"efficiency.{f}", 0.01, 1.0) for f in CALIBRATED_CATEGORIES] + [
            FreeParameter("overhead.per_op_s", 1e-7, 1e-3),
            FreeParameter("memory.dram_bw_bytes_per_s", 1e8, 1e12),
        ]
