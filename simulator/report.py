"""`Report`: totals plus one row per op, as a table, JSON or CSV (SI inside, ms/mJ/W out)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphs.ops import Op
from simulator.power import AveragePower, average_power
from simulator.results import OpCost, Run, Term
from simulator.textfmt import format_table


@dataclass(frozen=True, slots=True)
class OpRow:
    """One kept op of a report: the op, its cost, and notes on how it ran (merges,
    fallback)."""

    op: Op
    cost: OpCost
    note: str

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def kind(self) -> str:
        return self.op.kind.value

    @property
    def unit(self) -> str:
        return self.cost.unit

    @property
    def latency_s(self) -> float:
        return self.cost.latency_s


@dataclass(frozen=True, slots=True)
class EnergyRow:
    """One row of an inference's accounts, an op or a graph term, with its energy by
    cause. The rows of a report add up to its latency and its energy."""

    name: str
    kind: str
    unit: str
    latency_s: float
    compute_j: float  # MACs
    onchip_j: float  # bytes in caches / SRAM
    offchip_j: float  # bytes in DRAM
    link_j: float  # bytes over the host link (transfers, parameter streaming)
    busy_j: float  # the working unit's busy power above idle × the row's time
    idle_j: float  # the boundary's idle power × the row's time
    note: str
    op: OpRow | None = None  # for an op row, the op and its cost

    @property
    def energy_j(self) -> float:
        return self.compute_j + self.onchip_j + self.offchip_j + self.link_j + self.busy_j + self.idle_j


# Energy causes, as `EnergyRow` fields -> what reports call them.
CAUSES = {
    "compute_j": "compute", "onchip_j": "on-chip memory", "offchip_j": "off-chip memory",
    "link_j": "host link", "busy_j": "busy power", "idle_j": "idle",
}
CSV_COLUMNS = (
    "name", "kind", "unit", "latency_ms", "energy_mj", "compute_mj", "onchip_mj", "offchip_mj",
    "link_mj", "busy_mj", "idle_mj", "compute_ms", "memory_ms", "overhead_ms", "bound", "macs",
    "params", "utilisation", "tag", "note",
)


@dataclass
class Report:
    """One inference of `model` on `device`, over a batch of `batch` samples: the priced
    `run`, one row per kept op, and `summary`, model-specific figures such as
    parameter-cache use or bytes streamed."""

    model: str
    device: str
    run: Run
    rows: list[OpRow]
    macs: int
    params: int
    idle_power_w: float
    fps: float | None = None
    summary: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    batch: int = 1

    @property
    def latency_per_sample_s(self) -> float:
        return self.latency_s / self.batch

    @property
    def throughput_per_s(self) -> float:
        """Samples per second, one batch after another."""
        return self.batch / self.latency_s if self.latency_s > 0 else math.inf

    @property
    def terms(self) -> tuple[Term, ...]:
        """Graph-level costs: transfers, parameter streaming, invocation, busy and idle power."""
        return self.run.terms

    @property
    def latency_s(self) -> float:
        return self.run.latency_s

    @property
    def energy_j(self) -> float:
        return self.run.energy_j

    def energy_rows(self) -> list[EnergyRow]:
        """The op rows, then the graph terms other than power × time, each carrying its
        share of the busy and idle power: they add up to `latency_s` and `energy_j`."""
        op_shares, term_shares = self.run.power_shares()
        out = []
        for r, share in zip(self.rows, op_shares, strict=True):
            c = r.cost
            out.append(EnergyRow(r.name, r.kind, c.unit, c.latency_s, c.compute_j, c.onchip_j, c.offchip_j, 0.0,
                                 share.busy_j, share.idle_j, r.note, r))
        for t, share in zip(self.terms, term_shares, strict=True):
            if not t.kind.is_power:
                unit = t.kind.busy_unit or "link"
                out.append(EnergyRow(t.name, t.kind.value, unit, t.latency_s, 0.0, 0.0, 0.0, t.energy_j,
                                     share.busy_j, share.idle_j, t.note))
        return out

    def energy_by_cause(self) -> dict[str, float]:
        """Energy per inference by cause (joules), in `CAUSES` order; it sums to `energy_j`."""
        rows = self.energy_rows()
        return {name: sum(getattr(r, key) for r in rows) for key, name in CAUSES.items()}

    @property
    def dynamic_energy_j(self) -> float:
        """What the work itself costs: MACs and bytes (busy and idle power left out)."""
        by_cause = self.energy_by_cause()
        return self.energy_j - by_cause["busy power"] - by_cause["idle"]

    @property
    def max_fps(self) -> float:
        """The sustainable rate: one inference after another."""
        return 1.0 / self.latency_s

    @property
    def power(self) -> AveragePower | None:
        """Average power at `fps` (`simulator.power`), None without a frame rate."""
        if self.fps is None:
            return None
        return average_power(self.energy_j, self.latency_s, self.idle_power_w, self.fps)

    @property
    def fps_met(self) -> bool | None:
        return None if self.fps is None else self.power.kept_up

    @property
    def avg_power_w(self) -> float | None:
        """idle × (1 − fps × latency) + fps × energy per inference; at the sustainable rate
        when the requested one cannot be met."""
        return None if self.fps is None else self.power.watts

    def by_kind(self) -> dict[str, dict[str, float]]:
        """Latency, energy (busy and idle shares included) and op count per op kind."""
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"latency_s": 0.0, "energy_j": 0.0, "ops": 0})
        for r in self.energy_rows():
            if r.op is not None:
                entry = out[r.kind]
                entry["latency_s"] += r.latency_s
                entry["energy_j"] += r.energy_j
                entry["ops"] += 1
        return dict(out)

    def by_unit(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for r in self.rows:
            out[r.unit] += r.latency_s
        return dict(out)

    # -- output -----------------------------------------------------------------------
    def to_dict(self, per_op: bool = True) -> dict[str, Any]:
        """Totals and, with `per_op`, the rows: `ops` then `terms` (graph terms), each with
        its energy by cause; together they add up to `latency_ms` and `energy_mj`."""
        data: dict[str, Any] = {
            "model": self.model,
            "device": self.device,
            "batch": self.batch,
            "latency_ms": self.latency_s * 1e3,
            "latency_per_sample_ms": self.latency_per_sample_s * 1e3,
            "throughput_per_s": self.throughput_per_s,
            "energy_mj": self.energy_j * 1e3,
            "dynamic_energy_mj": self.dynamic_energy_j * 1e3,
            "energy_by_cause_mj": {k: v * 1e3 for k, v in self.energy_by_cause().items()},
            "idle_power_w": self.idle_power_w,
            "avg_power_w": self.avg_power_w,
            "fps": self.fps,
            "fps_met": self.fps_met,
            "max_fps": self.max_fps,
            "macs": self.macs,
            "params": self.params,
            "by_unit_ms": {k: v * 1e3 for k, v in self.by_unit().items()},
            "by_kind": {
                k: {"latency_ms": v["latency_s"] * 1e3, "energy_mj": v["energy_j"] * 1e3, "ops": v["ops"]}
                for k, v in self.by_kind().items()
            },
            "summary": self.summary,
            "notes": self.notes,
        }
        if per_op:
            rows = self.energy_rows()
            data["ops"] = [dict(zip(CSV_COLUMNS, _row_values(r), strict=True)) for r in rows if r.op is not None]
            data["terms"] = [dict(zip(CSV_COLUMNS, _row_values(r), strict=True)) for r in rows if r.op is None]
        return data

    def to_json(self, per_op: bool = True) -> str:
        from simulator.tabular import to_json

        return to_json(self.to_dict(per_op))

    def to_csv(self) -> str:
        """One row per op, then one per graph term (the rows add up to the totals), in the
        CSV style every command writes."""
        from simulator.tabular import format_table_csv

        return format_table_csv(CSV_COLUMNS, [_row_values(r) for r in self.energy_rows()])

    def to_frame(self) -> Any:
        """The CSV's rows (ops, then graph terms; full precision) as a pandas DataFrame;
        needs `pip install 'edgesim[frames]'`."""
        from simulator.tabular import to_frame

        return to_frame(CSV_COLUMNS, [_row_values(r) for r in self.energy_rows()])

    def table(self, per_op: bool = False) -> str:
        parts = []
        if per_op:
            rows = self.energy_rows()
            header = ["op", "kind", "unit", "ms", "mJ", "MACs mJ", "on-chip", "off-chip", "link", "busy", "idle",
                      "bound", "util", "note"]
            parts.append(format_table(header, [_short_row(r) for r in rows if r.op is not None]))
            terms = [r for r in rows if r.op is None]
            if terms:
                parts.append(format_table(["graph term", "unit", "ms", "mJ", "link", "busy", "idle", "note"], [
                    [r.name, r.unit, _ms(r.latency_s), _mj(r.energy_j), _mj(r.link_j), _mj(r.busy_j), _mj(r.idle_j),
                     r.note] for r in terms]))
            parts.append("ops and graph terms add up to the totals below (busy and idle power spread over "
                         "the rows by their time)")
        parts.append(self.summary_text())
        return "\n\n".join(parts)

    def summary_text(self) -> str:
        causes = ", ".join(f"{name} {v * 1e3:.3g}" for name, v in self.energy_by_cause().items() if v)
        lines = [
            f"model    {self.model}",
            f"device   {self.device}",
            f"latency  {self.latency_s * 1e3:.3f} ms   ({self.max_fps:.1f} fps sustainable)",
        ]
        if self.batch > 1:
            lines[-1] = (
                f"latency  {self.latency_s * 1e3:.3f} ms per batch of {self.batch}, "
                f"{self.latency_per_sample_s * 1e3:.4f} ms per sample "
                f"({self.max_fps:.1f} batches/s sustainable)"
            )
            lines.append(f"through  {self.throughput_per_s:.1f} samples/s")
        lines += [
            f"energy   {self.energy_j * 1e3:.3f} mJ per {'batch' if self.batch > 1 else 'inference'} ({causes} mJ)",
            f"work     {self.macs / 1e6:.1f} M MACs, {self.params / 1e6:.3f} M params",
        ]
        power = self.power
        if power is not None:
            line = (f"power    {power.watts:.3f} W average at {power.fps:.1f} fps "
                    f"({self.idle_power_w:g} W idle)")
            if not power.kept_up:
                line += (f"; {power.requested_fps:g} fps cannot be kept up: the sustainable rate is "
                         f"{power.sustainable_fps:.1f} fps")
            lines.append(line)
        units = self.by_unit()
        if len(units) > 1:
            lines.append("units    " + ", ".join(f"{u} {t * 1e3:.3f} ms" for u, t in units.items()))
        for key, value in self.summary.items():
            lines.append(f"{key}: {value:g}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4f}"


def _mj(joules: float) -> str:
    return f"{joules * 1e3:.4f}"


def _row_values(r: EnergyRow) -> Sequence[Any]:
    energy = (r.latency_s * 1e3, r.energy_j * 1e3, r.compute_j * 1e3, r.onchip_j * 1e3, r.offchip_j * 1e3,
              r.link_j * 1e3, r.busy_j * 1e3, r.idle_j * 1e3)
    if r.op is None:
        return (r.name, r.kind, r.unit, *energy, None, None, None, "", None, None, None, "", r.note)
    op, cost = r.op.op, r.op.cost
    return (
        r.name, r.kind, r.unit, *energy, cost.compute_s * 1e3, cost.memory_s * 1e3, cost.overhead_s * 1e3,
        cost.bound, op.macs, op.params, cost.utilisation, op.tag, r.note,
    )


def _short_row(r: EnergyRow) -> list[str]:
    cost = r.op.cost
    util = "" if cost.utilisation is None else f"{cost.utilisation:.0%}"
    return [r.name, r.kind, r.unit, _ms(r.latency_s), _mj(r.energy_j), _mj(r.compute_j), _mj(r.onchip_j),
            _mj(r.offchip_j), _mj(r.link_j), _mj(r.busy_j), _mj(r.idle_j), cost.bound, util, r.note]
