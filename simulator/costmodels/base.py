"""What every cost model shares: the per-op result, graph-level terms, the model surface."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from graphs.errors import EdgesimError
from graphs.ops import Op

if TYPE_CHECKING:
    from simulator.profile import Profile


@dataclass(frozen=True, slots=True)
class OpCost:
    """Latency and energy of one op on one unit, with the parts that made them.

    `bound` names what set the latency: "compute", "memory" or "overhead".
    `utilisation` is the share of the unit's peak the op used, where the model knows it.
    """

    latency_s: float
    energy_j: float
    compute_s: float
    memory_s: float
    overhead_s: float
    bound: str
    unit: str
    utilisation: float | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    """A graph-level cost: parameter streaming, invocation, a transfer, static power."""

    name: str
    latency_s: float
    energy_j: float
    note: str = ""


@dataclass(frozen=True)
class CategoryTable:
    """One number per op category (`graphs.ops.Op.category`): an efficiency (share of
    peak), or a count such as kernel launches per op."""

    conv: float
    pointwise: float
    depthwise: float
    dense: float
    elementwise: float
    pool: float
    data: float
    softmax: float

    def as_dict(self) -> dict[str, float]:
        """category -> value, for the per-op lookup on the hot path."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class FreeParameter:
    """A profile field calibration may fit, with bounds (in the field's own units)."""

    path: str
    lower: float
    upper: float
    log_scale: bool = True


def for_precision(profile: Profile, table: Mapping[str, float], key: str) -> float:
    """`table[profile.precision]`, or an error naming the profile and the key."""
    try:
        return table[profile.precision]
    except KeyError:
        raise EdgesimError(
            f"{profile.path or profile.name}: {key} has no entry for precision {profile.precision!r}"
        ) from None


def require_positive(profile: Profile, values: Mapping[str, float]) -> None:
    """The loader allows zero (keys are non-negative); a rate or size the model divides by
    must be positive, else an error naming the profile and the key."""
    for key, value in values.items():
        if not value > 0:
            raise EdgesimError(f"{profile.path or profile.name}: key {key!r} must be positive")


def roofline(compute_s: float, memory_s: float, overhead_s: float) -> tuple[float, str]:
    """Latency of an op whose compute and memory overlap, plus a fixed overhead, and the
    part that dominated."""
    busy = max(compute_s, memory_s)
    latency = busy + overhead_s
    if overhead_s >= busy:
        return latency, "overhead"
    return latency, "compute" if compute_s >= memory_s else "memory"


class CostModel:
    """The surface the engine uses. Subclasses set `unit` and `hardware_schema` and
    implement `op_cost`; accelerators also override `unsupported`, `graph_terms` and
    `graph_summary`."""

    unit: ClassVar[str] = "cpu"
    hardware_schema: ClassVar[type]

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

    def dynamic_energy(self, macs: float, dram_bytes: float, sram_bytes: float = 0.0) -> float:
        energy = self.profile.energy
        return (
            macs * self.profile.energy_per_mac_j
            + dram_bytes * energy.dram_energy_per_byte_j
            + sram_bytes * energy.sram_energy_per_byte_j
        )
