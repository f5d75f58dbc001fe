"""Linear-cost CPU: latency grows linearly with work.

Per op: the larger of compute time (work over peak × a per-category efficiency) and
memory time (bytes over bandwidth), plus a per-op dispatch overhead. MAC ops count MACs
as work; other ops count element operations (`ELEMENT_OPS`).

Memory: weights are read from DRAM (a single inference finds them cold); an activation
tensor that fits in the cache level named by `memory.cache_bytes` is read or written there
(its producer just wrote it), a larger one goes to DRAM. Energy = MACs × energy per MAC
+ DRAM bytes × DRAM energy + cache bytes × SRAM energy (static power is the engine's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphs.ops import POOL_KINDS, Kind, Op
from simulator.costmodels.base import (
    CategoryTable,
    CostModel,
    FreeParameter,
    OpCost,
    for_precision,
    require_positive,
    roofline,
)
from simulator.profile import FrozenMap, Profile

# Arithmetic per output element of the non-MAC kinds, from their formulas (not a hardware
# figure): hard_swish = x * relu6(x + 3) / 6 is 4 operations; sigmoid and tanh need an
# exponential (~8 with a polynomial approximation) plus a division; swish adds a multiply
# to sigmoid; gelu's tanh approximation is ~14; batch norm (unfolded) is a multiply-add.
ELEMENT_OPS = {
    Kind.RELU: 1, Kind.RELU6: 2, Kind.LEAKY_RELU: 2, Kind.HARD_SIGMOID: 3, Kind.HARD_SWISH: 4,
    Kind.SIGMOID: 10, Kind.TANH: 10, Kind.SWISH: 11, Kind.GELU: 14, Kind.BATCH_NORM: 2,
    Kind.ADD: 1, Kind.MUL: 1, Kind.SOFTMAX: 12, Kind.UNKNOWN: 1,
}


@dataclass(frozen=True)
class CpuCompute:
    clock_hz: float  # the clock `peak_macs_per_s` was derived at (documentation)
    cores: int  # cores the runtime uses (documentation: `peak_macs_per_s` covers them)
    peak_macs_per_s: FrozenMap  # precision -> MAC/s over `cores` cores at `clock_hz`




@dataclass(frozen=True)
class CpuMemory:
    dram_bw_bytes_per_s: float  # sustained by the cores used, not the SoC peak
    # The cache level activations can stay in between ops; 0 models no cache (every
    # tensor from DRAM). Defaults keep hand-written profiles without a cache loadable.
    cache_bytes: float = 0.0
    cache_bw_bytes_per_s: float = 0.0


@dataclass(frozen=True)
class CpuOverhead:
    per_op_s: float  # dispatch cost of one op in the runtime


@dataclass(frozen=True)
class CpuHardware:
    compute: CpuCompute
    efficiency: CategoryTable  # share of peak achieved per op category
    memory: CpuMemory
    overhead: CpuOverhead


def op_work(op: Op) -> float:
    """MACs of a MAC op; element operations otherwise (pooling reads each window tap)."""
    if op.macs:
        return float(op.macs)
    if op.kind in POOL_KINDS:
        return float(op.out_elements * op.kernel[0] * op.kernel[1])
    return float(op.out_elements * ELEMENT_OPS.get(op.kind, 1))


class CpuModel(CostModel):
    unit = "cpu"
    hardware_schema = CpuHardware

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        hw: CpuHardware = profile.hw
        self.peak = for_precision(profile, hw.compute.peak_macs_per_s, "compute.peak_macs_per_s")
        memory = hw.memory
        self.efficiency = hw.efficiency.as_dict()
        rates = {f"efficiency.{k}": v for k, v in self.efficiency.items()}
        rates.update({f"compute.peak_macs_per_s.{profile.precision}": self.peak,
                      "memory.dram_bw_bytes_per_s": memory.dram_bw_bytes_per_s})
        if memory.cache_bytes > 0:
            rates["memory.cache_bw_bytes_per_s"] = memory.cache_bw_bytes_per_s
        require_positive(profile, rates)
        self.hw = hw
        self.bytes_per_element = profile.bytes_per_element
        self.cache_bytes = memory.cache_bytes
        # A cache is never slower than the DRAM behind it: taking the larger bandwidth
        # keeps latency monotone in tensor size under any what-if bandwidth.
        self.cache_bw = max(memory.cache_bw_bytes_per_s, memory.dram_bw_bytes_per_s)
        self.dram_bw = memory.dram_bw_bytes_per_s

    def op_cost(self, op: Op) -> OpCost:
        size = self.bytes_per_element
        work = op_work(op)
        compute = work / (self.peak * self.efficiency[op.category])
        dram = op.params * size
        cached = 0
        for n in (*map(math.prod, op.inputs), op.out_elements):
            if n * size <= self.cache_bytes:
                cached += n * size
            else:
                dram += n * size
        memory = dram / self.dram_bw + cached / self.cache_bw
        overhead = self.hw.overhead.per_op_s
        latency, bound = roofline(compute, memory, overhead)
        energy = self.dynamic_energy(op.macs, dram, cached)
        # Share of the MAC peak used, for MAC ops (element ops are not MACs).
        utilisation = work / (self.peak * latency) if op.macs else None
        return OpCost(latency, energy, compute, memory, overhead, bound, self.unit, utilisation)

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        # What whole-network latencies can pin down: the efficiencies of the categories
        # that carry the time, the dispatch overhead and the DRAM bandwidth. `data` and
        # `softmax` ops are too few per network to be identified.
        fields = ("conv", "pointwise", "depthwise", "dense", "elementwise", "pool")
        return [FreeParameter(f"efficiency.{f}", 0.01, 1.0) for f in fields] + [
            FreeParameter("overhead.per_op_s", 1e-7, 1e-3),
            FreeParameter("memory.dram_bw_bytes_per_s", 1e8, 1e12),
        ]
