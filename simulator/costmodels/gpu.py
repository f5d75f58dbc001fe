"""GPU (NVIDIA SMs, Adreno shader processors): a roofline per kernel with wave quantisation.

Each op left after the runtime's fusions runs as `kernels[category]` kernel launches (1;
more where a runtime adds layout or reformat kernels around a category; 0 where it merges
the category into the producing kernel). Its work is split into thread blocks: conv,
dense and matmul lower to GEMMs (M = output pixels, N = output channels, K = taps ×
input channels per group) tiled at most `tile_m` × `tile_n` (smaller tiles for small
GEMMs, as kernel selection does: `fitted_tile`); every other op into blocks of
`block_elements` outputs. A unit runs `blocks_per_unit` blocks at a time, so blocks run
in waves of `units` × `blocks_per_unit` and a kernel that fills 1.1 waves costs 2:

    compute = waves × blocks_per_unit × block work
              / (unit peak at the precision × efficiency[category] × Winograd saving)

Memory: activation tensors that fit in L2 (`cache_bytes`) move at L2 bandwidth, larger
ones and the weights at DRAM bandwidth. A kernel takes max(compute, memory) plus its
launches, of which `launch_overlap` of the shorter part hides behind the other
(`launched`). Each inference adds `per_inference_s` (enqueue, input/output copies,
synchronisation).

Energy = MACs (after the Winograd saving) × energy per MAC + DRAM bytes × DRAM energy +
on-chip bytes (L2-resident tensors and the operand panels each GEMM block reads) × SRAM
energy; static power is the engine's. The schema is `simulator.hardware.gpu.GpuHardware`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphs.ops import Kind, Op, gemm_shape, is_winograd_conv, op_work
from simulator.costmodels.base import (
    CALIBRATED_CATEGORIES,
    CostModel,
    FreeParameter,
    cache_split,
    memory_time,
)
from simulator.hardware.gpu import GpuHardware
from simulator.hardware.profile import Profile
from simulator.results import OpCost, Term, TermKind

GEMM_KINDS = frozenset({Kind.CONV2D, Kind.GROUPED_CONV2D, Kind.DENSE, Kind.MATMUL})
MIN_TILE = 8  # the smallest GEMM tile edge of the kernel ladders (a warp-level 8x8 fragment)


def launched(compute_s: float, memory_s: float, launch_s: float, overlap: float) -> tuple[float, str]:
    """Latency of a kernel in a stream of asynchronous launches, and what bound it.

    The host issues the launches while the GPU runs the kernels queued before, so a share
    `overlap` of the shorter of launch and execution is hidden behind the other: 0 adds
    them (every launch waited for), 1 keeps only the longer (a kernel shorter than its
    launch leaves the GPU waiting; a longer one hides the launches queued behind it)."""
    busy = max(compute_s, memory_s)
    latency = busy + launch_s - overlap * min(busy, launch_s)
    if launch_s >= busy:
        return latency, "overhead"
    return latency, "compute" if compute_s >= memory_s else "memory"


def fitted_tile(extent: int, largest: int) -> int:
    """The tile a runtime's kernel selection uses along a GEMM axis of `extent`: the
    smallest power of two (at least `MIN_TILE`) that covers it, up to `largest`. Libraries
    ship kernels for a ladder of tile shapes and pick a small one for a small problem."""
    return min(largest, max(MIN_TILE, 1 << max(0, extent - 1).bit_length()))


class GpuModel(CostModel):
    unit = "gpu"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        hw: GpuHardware = profile.hw
        self.hw = hw
        # MAC/s of one unit
        self.unit_peak = hw.compute.macs_per_cycle_per_unit[profile.precision] * hw.compute.clock_hz
        self.peak = self.unit_peak * hw.compute.units
        self.efficiency = hw.efficiency.as_dict()
        self.kernels = hw.kernels.as_dict()
        self.rejected = hw.delegate.rejected(profile.precision)

    def unsupported(self, op: Op) -> str | None:
        if op.kind in self.rejected:
            return f"{op.kind.value} is not supported by the GPU runtime"
        return None

    def blocks(self, op: Op) -> tuple[int, float, int, str]:
        """(thread blocks, work per block, operand elements the blocks read on chip, how
        the op was tiled). A GEMM block reads a `tm` × K and a K × `tn` operand panel."""
        t = self.hw.tiling
        if op.kind in GEMM_KINDS:
            m, n, k, gemms = gemm_shape(op)
            tm, tn = fitted_tile(m, t.tile_m), fitted_tile(n, t.tile_n)
            count = gemms * math.ceil(m / tm) * math.ceil(n / tn)
            return count, float(tm * tn * k), count * (tm + tn) * k, f"GEMM M={m} N={n} K={k}, tile {tm}x{tn}"
        if not op.out_elements:
            return 0, 0.0, 0, ""
        per_output = op_work(op) / op.out_elements
        return math.ceil(op.out_elements / t.block_elements), t.block_elements * per_output, 0, ""

    def winograd(self, op: Op) -> float:
        """Multiplies saved by the runtime's Winograd kernels: only 3×3, stride-1,
        undilated, ungrouped convs qualify."""
        if is_winograd_conv(op):
            return self.hw.compute.winograd_3x3
        return 1.0

    def waves(self, blocks: int) -> int:
        return math.ceil(blocks / (self.hw.compute.units * self.hw.tiling.blocks_per_unit))

    def op_cost(self, op: Op) -> OpCost:
        hw = self.hw
        category = op.category
        blocks, block_work, operands, tiling = self.blocks(op)
        waves = self.waves(blocks)
        # A wave keeps every unit busy with `blocks_per_unit` blocks: its time is one
        # unit's share at the unit's rate, so adding units never lengthens a kernel.
        reduction = self.winograd(op)
        compute = waves * hw.tiling.blocks_per_unit * block_work / (
            self.unit_peak * self.efficiency[category] * reduction
        )

        size = self.profile.bytes_per_element
        mem = hw.memory
        dram, cached = cache_split((n * size for n in (*map(math.prod, op.inputs), op.out_elements)), mem.cache_bytes)
        dram += op.params * size
        memory = memory_time(dram, cached, mem.dram_bw_bytes_per_s, mem.cache_bw_bytes_per_s)
        overhead = self.kernels[category] * hw.overhead.launch_s
        latency, bound = launched(compute, memory, overhead, hw.overhead.launch_overlap)

        energy = self.dynamic_energy(op.macs / reduction, dram, cached + operands * size)
        # Winograd kernels issue `reduction` times fewer multiplies than the direct MACs:
        # the share of the peak they use counts the multiplies issued.
        work = op_work(op) / reduction
        utilisation = work / (self.peak * latency) if latency > 0 else None
        filled = blocks / (hw.compute.units * hw.tiling.blocks_per_unit)
        note = f"{filled:.2f} waves -> {waves}" if waves >= 1.1 * filled else ""
        note = "; ".join(filter(None, [tiling, note]))
        return OpCost(latency, energy.total_j, compute, memory, overhead, bound, self.unit, utilisation, note, *energy)

    def graph_terms(self, ops: Sequence[Op]) -> list[Term]:
        if not ops:
            return []
        return [Term(self.hw.overhead.per_inference_s, 0.0, TermKind.INFERENCE, "inference",
                     "runtime per inference: enqueue, input/output copies, synchronisation")]

    def graph_summary(self, ops: Sequence[Op]) -> dict[str, float]:
        return {"kernel_launches": float(sum(self.kernels[op.category] for op in ops))} if ops else {}

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        # What whole-network latencies pin down: per category that carries the time its
        # efficiency and its launches per op (not where the runtime merges the category
        # into other kernels: 0 launches stays 0), the launch cost and how much of it
        # overlaps execution, the per-inference cost and the DRAM bandwidth.
        kernels = profile.hw.kernels
        return (
            [FreeParameter(f"efficiency.{f}", 0.005, 1.0) for f in CALIBRATED_CATEGORIES]
            + [FreeParameter(f"kernels.{f}", 1.0, 20.0) for f in CALIBRATED_CATEGORIES if getattr(kernels, f) > 0]
            + [
                FreeParameter("overhead.launch_s", 1e-7, 1e-3),
                FreeParameter("overhead.launch_overlap", 0.0, 1.0, log_scale=False),
                FreeParameter("overhead.per_inference_s", 1e-6, 1e-1),
                FreeParameter("memory.dram_bw_bytes_per_s", 1e8, 1e13),
            ]
        )
