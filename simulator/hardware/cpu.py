"""Hardware schema of a linear-cost CPU (`kind = "cpu"`, priced by
`simulator.costmodels.cpu`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from simulator.hardware.common import KIND_NAMES, CategoryTable, Delegate
from simulator.hardware.fields import BYTES, COUNT, OPTIONAL_RATE, PER_PRECISION, RATE, SECONDS, SHARE, FrozenMap


@dataclass(frozen=True)
class CpuCompute:
    clock_hz: Annotated[float, RATE]
    # cores the runtime's threads run on (1: single-thread, as the measurement campaigns ran)
    cores: Annotated[int, COUNT]
    macs_per_cycle: Annotated[FrozenMap, PER_PRECISION, RATE]  # precision -> MACs one core issues per cycle
    parallel_efficiency: Annotated[float, SHARE]  # share of a core's peak each core beyond the first adds
    vector_bits: Annotated[int, COUNT]  # SIMD register width: channels are padded to whole vectors


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
    # once per inference: invoke, input quantize / output dequantize
    per_inference_s: Annotated[float, SECONDS]
    thread_wake_s: Annotated[float, SECONDS]  # per op and per thread beyond the first: wake-up and join
    # per group of a grouped or depthwise conv that the runtime runs as one call per group
    # (PyTorch's native CPU convolution); 0 where a grouped kernel runs all groups at once
    per_group_s: Annotated[float, SECONDS] = 0.0


@dataclass(frozen=True)
class CpuHardware:
    compute: CpuCompute
    efficiency: Annotated[CategoryTable, SHARE]  # share of peak achieved per op category
    # set-up of one op of each category beyond `overhead.per_op_s`, in seconds: what the
    # runtime does on every call of that kind (weight packing, layout conversion)
    dispatch: Annotated[CategoryTable, SECONDS]
    memory: CpuMemory
    overhead: CpuOverhead
    # A CPU runtime whose delegate takes only some kinds (LiteRT's XNNPACK): the rest run
    # on the runtime's own kernels, priced by the `[offload]` host profile. None: every op
    # runs here.
    delegate: Delegate | None = None
    # Kinds whose kernel takes a fixed time per output element, in seconds, in place of
    # the compute term: scalar kernels that requantize every element (LiteRT's builtin
    # int8 kernels) cost the same per element whatever the activation computes.
    per_element_s: Annotated[FrozenMap | None, SECONDS] = None
    # The same on a constant tensor (an op tagged "zero": its value does not depend on the
    # network input), for kernels that branch per element: on constant data every branch
    # goes the same way and none is mispredicted.
    constant_per_element_s: Annotated[FrozenMap | None, SECONDS] = None

    def check(self) -> tuple[str, str] | None:
        for table in ("per_element_s", "constant_per_element_s"):
            for kind in getattr(self, table) or ():
                if kind not in KIND_NAMES:
                    return f"{table}.{kind}", "is not an op kind"
        return None

    @property
    def offload_required(self) -> str:
        if self.delegate is None:
            return ""
        return "the ops its [delegate] table leaves out run on the runtime's own kernels: name them as the host"
