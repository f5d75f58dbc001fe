"""What pricing produces: costs that add, the per-op cost, graph-level terms and a priced
inference (`Run`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.engine.rewrite import Plan


@dataclass(frozen=True, slots=True)
class Cost:
    """Latency and energy; costs add."""

    latency_s: float
    energy_j: float

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.latency_s + other.latency_s, self.energy_j + other.energy_j)


@dataclass(frozen=True, slots=True)
class OpCost(Cost):
    """Latency and energy of one op on one unit, with the parts that made them.

    `bound` names what set the latency: "compute", "memory" or "overhead".
    `utilisation` is the share of the unit's peak the op used, where the model knows it.
    """

    compute_s: float
    memory_s: float
    overhead_s: float
    bound: str
    unit: str
    utilisation: float | None = None
    note: str = ""


class TermKind(Enum):
    """What a graph-level term pays for."""

    PARAMETER_STREAMING = "parameter streaming"  # weights past an on-chip cache, every inference
    INFERENCE = "inference"  # the runtime's own per-inference work (enqueue, synchronisation)
    INPUT = "input"  # a graph input moved over the host link
    OUTPUT = "output"  # a graph output moved back over the host link
    HANDOVER = "hand-over"  # a tensor crossing between accelerator and host mid-graph
    INVOCATION = "invocation"  # the host's call into the accelerator
    STATIC = "static"  # the device's static power while it runs ops
    HOST_STATIC = "host static"  # the host's static power while it runs fallen-back ops

    @property
    def is_static(self) -> bool:
        return self in (TermKind.STATIC, TermKind.HOST_STATIC)


@dataclass(frozen=True, slots=True)
class Term(Cost):
    """A graph-level cost: parameter streaming, invocation, a transfer, static power.
    `name` is what reports show (for a transfer, the tensor and its direction)."""

    kind: TermKind
    name: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """One priced inference: per kept op its cost and why it ran where it did, then the
    graph-level terms."""

    plan: Plan
    costs: tuple[OpCost, ...]
    reasons: tuple[str, ...]
    terms: tuple[Term, ...]

    @property
    def latency_s(self) -> float:
        return sum(c.latency_s for c in self.costs) + sum(t.latency_s for t in self.terms)

    @property
    def energy_j(self) -> float:
        return sum(c.energy_j for c in self.costs) + sum(t.energy_j for t in self.terms)

    @property
    def static_energy_j(self) -> float:
        """Static power while busy (the device's, and the host's for fallen-back ops)."""
        return sum(t.energy_j for t in self.terms if t.kind.is_static)

    @property
    def cost(self) -> Cost:
        return Cost(self.latency_s, self.energy_j)
