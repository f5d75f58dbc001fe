"""What every cost model shares: the model surface, and the pricing helpers several
models use (roofline, the cache-or-DRAM split of activation tensors, dynamic energy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from graphs.ops import Category, Op
from simulator.hardware.profile import Profile
from simulator.results import EnergySplit, OpCost, Term

# The op categories whose efficiencies whole-network latencies can pin down: `data` and
# `softmax` ops are too few per network to be identified.
CALIBRATED_CATEGORIES = tuple(
    c.value for c in (Category.CONV, Category.POINTWISE, Category.DEPTHWISE, Category.DENSE,
                      Category.ELEMENTWISE, Category.POOL)
)


@dataclass(frozen=True)
class FreeParameter:
    """A profile field calibration may fit, with bounds (in the field's own units)."""

    path: str
    lower: float
    upper: float
    log_scale: bool = True


def ceil_to(value: int, multiple: int) -> int:
    """`value` rounded up to a multiple of `multiple` (padding to whole vectors or tiles)."""
    return -(-value // multiple) * multiple


def roofline(compute_s: float, memory_s: float, overhead_s: float) -> tuple[float, str]:
    """Latency of an op whose compute and memory overlap, plus a fixed overhead, and the
    part that dominated."""
    busy = max(compute_s, memory_s)
    latency = busy + overhead_s
    if overhead_s >= busy:
        return latency, "overhead"
    return latency, "compute" if compute_s >= memory_s else "memory"


def cache_split(tensor_bytes: Iterable[int], cache_bytes: float) -> tuple[int, int]:
    """(DRAM bytes, cache bytes) of an op's activation tensors: a tensor that fits in the
    cache is read or written there (its producer just wrote it), a larger one goes to DRAM."""
    dram = cached = 0
    for nbytes in tensor_bytes:
        if nbytes <= cache_bytes:
            cached += nbytes
        else:
            dram += nbytes
    return dram, cached


def memory_time(dram_bytes: float, cached_bytes: float, dram_bw: float, cache_bw: float) -> float:
    """Seconds to move bytes from DRAM and from cache. A cache is never slower than the
    DRAM behind it: taking the larger bandwidth keeps latency monotone in tensor size
    under any what-if bandwidth."""
    return dram_bytes / dram_bw + cached_bytes / max(cache_bw, dram_bw)


class CostModel:
    """The surface the engine uses. Subclasses set `unit` and implement `op_cost`;
    accelerators also override `unsupported`, `graph_terms` and `graph_summary`. The
    profile reaching a model has passed its schema's checks (`simulator.hardware`)."""

    unit: ClassVar[str] = "cpu"
    # True where the runtime runs a batch of B samples as B invocations of the one-sample
    # model (the engine prices one sample and repeats it), False where each op takes the
    # whole batch at once (its shapes lead with B).
    batch_as_invocations: ClassVar[bool] = False

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._cache: dict[tuple, OpCost] = {}

    def cost(self, op: Op) -> OpCost:
        """`op_cost`, cached by the op's signature: repeated blocks cost a lookup."""
        key = op.signature
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self.op_cost(op)
        return hit

    def op_cost(self, op: Op) -> OpCost:
        raise NotImplementedError

    def unsupported(self, op: Op) -> str | None:
        """Why `op` cannot run on this unit, or None when it can."""
        return None

    def graph_terms(self, ops: Sequence[Op]) -> list[Term]:
        """Costs that belong to the whole set of `ops` placed on this unit, in order (for
        instance weights streamed past a parameter cache). On the search-loop path."""
        return []

    def graph_summary(self, ops: Sequence[Op]) -> dict[str, float]:
        """Figures about `ops` on this unit for the report (cache use, utilisation); only
        reports ask for them, so they may cost more than `graph_terms`."""
        return {}

    @classmethod
    def free_parameters(cls, profile: Profile) -> list[FreeParameter]:
        """The profile fields calibration may fit for this model."""
        return []

    def dynamic_energy(self, macs: float, dram_bytes: float, sram_bytes: float = 0.0) -> EnergySplit:
        """An op's energy by cause: MACs, on-chip (SRAM/cache) bytes, off-chip (DRAM) bytes.
        A class without DRAM (the Edge TPU: no `energy.dram_energy_per_byte_j`) moves none."""
        energy = self.profile.energy
        return EnergySplit(
            macs * self.profile.energy_per_mac_j,
            sram_bytes * energy.sram_energy_per_byte_j,
            dram_bytes * energy.dram_energy_per_byte_j if dram_bytes else 0.0,
        )
