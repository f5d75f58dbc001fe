"""Hardware schema of a linear-cost CPU (`kind = "cpu"`, priced by
`simulator.costmodels.cpu`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from simulator.hardware.common import CategoryTable
from simulator.hardware.fields import BYTES, COUNT, OPTIONAL_RATE, PER_PRECISION, RATE, SECONDS, SHARE, FrozenMap


@dataclass(frozen=True)
class CpuCompute:
    clock_hz: Annotated[float, RATE]  # the clock `peak_macs_per_s` was derived at (documentation)
    cores: Annotated[int, COUNT]  # cores the runtime uses (documentation: `peak_macs_per_s` covers them)
    # precision -> MAC/s over `cores` cores at `clock_hz`
    peak_macs_per_s: Annotated[FrozenMap, PER_PRECISION, RATE]


@dataclass(frozen=True)
class CpuMemory:
    dram_bw_bytes_per_s: Annotated[float, RATE]  # sustained by the cores used, not the SoC peak
    # The cache level activations can stay in between ops; 0 models no cache (every
    # tensor from DRAM). Defaults keep hand-written profiles without a cache loadable.
    cache_bytes: Annotated[float, BYTES] = 0.0
    cache_bw_bytes_per_s: Annotated[float, OPTIONAL_RATE] = 0.0

    def check(self) -> tuple[str, str] | None:
        """A cache needs a bandwidth; a profile without one needs none."""
        if self.cache_bytes > 0 and not self.cache_bw_bytes_per_s > 0:
            return "cache_bw_bytes_per_s", "must be positive"
        return None


@dataclass(frozen=True)
class CpuOverhead:
    per_op_s: Annotated[float, SECONDS]  # dispatch cost of one op in the runtime


@dataclass(frozen=True)
class CpuHardware:
    compute: CpuCompute
    efficiency: Annotated[CategoryTable, SHARE]  # share of peak achieved per op category
    memory: CpuMemory
    overhead: CpuOverhead
