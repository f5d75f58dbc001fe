"""What pricing produces: costs that add, the per-op cost, graph-level terms and a priced
inference (`Run`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from simulator.engine.rewrite import Plan


@dataclass(frozen=True, slots=True)
class Cost:
    """Latency and energy; costs add."""

    latency_s: float
    energy_j: float

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.latency_s + other.latency_s, self.energy_j + other.energy_j)


class EnergySplit(NamedTuple):
    """An op's energy by cause: its MACs, the bytes it moves in on-chip memory (caches,
    SRAM) and in off-chip memory (DRAM)."""

    compute_j: float
    onchip_j: float
    offchip_j: float

    @property
    def total_j(self) -> float:
        return self.compute_j + self.onchip_j + self.offchip_j


@dataclass(frozen=True, slots=True)
class OpCost(Cost):
    """Latency and energy of one op on one unit, with the parts that made them.

    `bound` names what set the latency: "compute", "memory" or "overhead".
    `utilisation` is the share of the unit's peak the op used, where the model knows it.
    `energy_j` is the sum of `compute_j`, `onchip_j` and `offchip_j`; the busy and idle
    power while the op runs are the inference's (`Run.power_shares`).
    """

    compute_s: float
    memory_s: float
    overhead_s: float
    bound: str
    unit: str
    utilisation: float | None = None
    note: str = ""
    compute_j: float = 0.0
    onchip_j: float = 0.0
    offchip_j: float = 0.0


DEVICE = "device"
HOST = "host"


class TermKind(Enum):
    """What a graph-level term pays for."""

    PARAMETER_STREAMING = "parameter streaming"  # weights past an on-chip cache, every inference
    INFERENCE = "inference"  # the runtime's own per-inference work (enqueue, synchronisation)
    INPUT = "input"  # a graph input moved over the host link
    OUTPUT = "output"  # a graph output moved back over the host link
    HANDOVER = "hand-over"  # a tensor crossing between accelerator and host mid-graph
    INVOCATION = "invocation"  # the host's call into the accelerator
    BUSY = "busy power"  # the device's busy power (above idle) while it runs
    HOST_BUSY = "host busy power"  # the host's, while it runs fallen-back ops or calls the device
    IDLE = "idle"  # the boundary's idle power over the whole inference

    @property
    def busy_unit(self) -> str | None:
        """Which unit works while this term's time passes (its busy power is paid):
        DEVICE, HOST, or None (a transfer: the link's energy is per byte)."""
        return _BUSY_UNIT.get(self)

    @property
    def is_power(self) -> bool:
        """A power × time term, spread over the rows whose time it covers."""
        return self in (TermKind.BUSY, TermKind.HOST_BUSY, TermKind.IDLE)


_BUSY_UNIT = {
    TermKind.PARAMETER_STREAMING: DEVICE,
    TermKind.INFERENCE: DEVICE,
    TermKind.INVOCATION: HOST,
}


@dataclass(frozen=True, slots=True)
class Term(Cost):
    """A graph-level cost: parameter streaming, invocation, a transfer, busy or idle
    power. `name` is what reports show (for a transfer, the tensor and its direction)."""

    kind: TermKind
    name: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class PowerShare:
    """The busy and idle energy one row of an inference (an op or a graph term) carries:
    the busy power of the unit working during it and the idle power, × its time."""

    busy_j: float
    idle_j: float


@dataclass(frozen=True, slots=True)
class Run:
    """One priced inference: per kept op its cost and why it ran where it did (an empty
    reason: on the device), then the graph-level terms."""

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

    def power_energy_j(self, kind: TermKind) -> float:
        """The energy of the power terms of `kind` (BUSY, HOST_BUSY or IDLE)."""
        return sum(t.energy_j for t in self.terms if t.kind is kind)

    @property
    def cost(self) -> Cost:
        return Cost(self.latency_s, self.energy_j)

    def repeated(self, times: int) -> Run:
        """This inference run `times` over, one after another (a batch of `times` samples
        on a runtime that invokes a one-sample model per sample): every time and energy
        `times` as large, utilisations unchanged."""
        note = f"{times} invocations of one sample"
        costs = tuple(
            replace(c, latency_s=c.latency_s * times, energy_j=c.energy_j * times, compute_s=c.compute_s * times,
                    memory_s=c.memory_s * times, overhead_s=c.overhead_s * times, compute_j=c.compute_j * times,
                    onchip_j=c.onchip_j * times, offchip_j=c.offchip_j * times,
                    note="; ".join(filter(None, [c.note, note])))
            for c in self.costs
        )
        terms = tuple(replace(t, latency_s=t.latency_s * times, energy_j=t.energy_j * times) for t in self.terms)
        return Run(self.plan, costs, self.reasons, terms)

    def power_shares(self) -> tuple[list[PowerShare], list[PowerShare]]:
        """Each op's and each graph term's share of the busy and idle power terms, in
        proportion to its time on the unit that pays it (power × time, so a share is the
        unit's watts × the row's latency). Power terms themselves get none: spread over
        the rows, they make the rows add up to `energy_j`."""
        op_units = [DEVICE if not reason else HOST for reason in self.reasons]
        term_units = [t.kind.busy_unit for t in self.terms]
        unit_time = {DEVICE: 0.0, HOST: 0.0}
        for unit, c in zip(op_units, self.costs, strict=True):
            unit_time[unit] += c.latency_s
        for unit, t in zip(term_units, self.terms, strict=True):
            if unit is not None:
                unit_time[unit] += t.latency_s
        rate = {
            DEVICE: _per_second(self.power_energy_j(TermKind.BUSY), unit_time[DEVICE]),
            HOST: _per_second(self.power_energy_j(TermKind.HOST_BUSY), unit_time[HOST]),
        }
        idle = _per_second(self.power_energy_j(TermKind.IDLE), self.latency_s)

        def share(unit: str | None, latency: float) -> PowerShare:
            return PowerShare(rate[unit] * latency if unit else 0.0, idle * latency)

        ops = [share(u, c.latency_s) for u, c in zip(op_units, self.costs, strict=True)]
        terms = [PowerShare(0.0, 0.0) if t.kind.is_power else share(u, t.latency_s)
                 for u, t in zip(term_units, self.terms, strict=True)]
        return ops, terms


def _per_second(energy_j: float, seconds: float) -> float:
    return energy_j / seconds if seconds > 0 else 0.0
