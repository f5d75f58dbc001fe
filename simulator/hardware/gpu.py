"""Hardware schema of a GPU: NVIDIA SMs, Adreno shader processors (`kind = "gpu"`, priced
by `simulator.costmodels.gpu`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from simulator.hardware.common import CategoryTable, Delegate
from simulator.hardware.fields import (
    BYTES,
    COUNT,
    FRACTION,
    LAUNCHES,
    OPTIONAL_RATE,
    PER_CYCLE,
    PER_PRECISION,
    RATE,
    SECONDS,
    SHARE,
    SPEEDUP,
    FrozenMap,
)


@dataclass(frozen=True)
class GpuCompute:
    clock_hz: Annotated[float, RATE]
    units: Annotated[int, COUNT]  # streaming multiprocessors (NVIDIA) / shader processors (Adreno)
    macs_per_cycle_per_unit: Annotated[FrozenMap, PER_PRECISION, PER_CYCLE]  # precision -> MACs per cycle of one unit
    # Direct-convolution MACs per multiply the runtime's kernels issue for a 3×3 stride-1
    # conv: Winograd F(2×2, 3×3) does 2.25× fewer multiplies; 1 = direct convolution.
    winograd_3x3: Annotated[float, SPEEDUP]


@dataclass(frozen=True)
class GpuTiling:
    tile_m: Annotated[int, COUNT]  # GEMM rows (output pixels) per thread block
    tile_n: Annotated[int, COUNT]  # GEMM columns (output channels) per thread block
    block_elements: Annotated[int, COUNT]  # outputs per thread block of a non-GEMM kernel
    blocks_per_unit: Annotated[int, COUNT]  # thread blocks resident on one unit at a time


@dataclass(frozen=True)
class GpuMemory:
    dram_bw_bytes_per_s: Annotated[float, RATE]  # sustained
    cache_bytes: Annotated[float, BYTES]  # L2 an activation tensor can stay in between kernels
    cache_bw_bytes_per_s: Annotated[float, OPTIONAL_RATE]


@dataclass(frozen=True)
class GpuOverhead:
    launch_s: Annotated[float, SECONDS]  # one kernel launch, back to back in a stream
    launch_overlap: Annotated[float, FRACTION]  # share of the shorter of launch and execution hidden
    per_inference_s: Annotated[float, SECONDS]  # enqueue, input/output copies, synchronisation


@dataclass(frozen=True)
class GpuHardware:
    compute: GpuCompute
    tiling: GpuTiling
    efficiency: Annotated[CategoryTable, SHARE]  # share of the unit's peak a kernel of each category achieves
    # kernel launches per op of each category: 1 where the runtime runs the op as one kernel,
    # more where it adds layout kernels around it, 0 where it merges the op into its producer
    kernels: Annotated[CategoryTable, LAUNCHES]
    memory: GpuMemory
    overhead: GpuOverhead
    delegate: Delegate
