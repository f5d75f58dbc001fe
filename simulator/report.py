"""`Report`: totals plus one row per op, as a table, JSON or CSV (SI inside, ms/mJ/W out)."""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphs.ops import Op
from simulator.results import OpCost, Run, Term
from simulator.textfmt import format_table, write_csv


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

    @property
    def energy_j(self) -> float:
        return self.cost.energy_j


CSV_COLUMNS = (
    "name", "kind", "unit", "latency_ms", "energy_mj", "compute_ms", "memory_ms",
    "overhead_ms", "bound", "macs", "params", "utilisation", "tag", "note",
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
        """Graph-level costs: transfers, parameter streaming, invocation, static energy."""
        return self.run.terms

    @property
    def latency_s(self) -> float:
        return self.run.latency_s

    @property
    def energy_j(self) -> float:
        return self.run.energy_j

    @property
    def static_energy_j(self) -> float:
        """Static power while busy (the device's, and the host's for fallen-back ops)."""
        return self.run.static_energy_j

    @property
    def dynamic_energy_j(self) -> float:
        return self.energy_j - self.static_energy_j

    @property
    def max_fps(self) -> float:
        return 1.0 / self.latency_s

    @property
    def fps_met(self) -> bool | None:
        return None if self.fps is None else self.fps <= self.max_fps

    @property
    def avg_power_w(self) -> float | None:
        """Dynamic energy × frame rate + idle power; at the achievable rate when the
        requested one cannot be met."""
        if self.fps is None:
            return None
        return self.dynamic_energy_j * min(self.fps, self.max_fps) + self.idle_power_w

    def by_kind(self) -> dict[str, dict[str, float]]:
        """Latency, energy and op count per op kind."""
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"latency_s": 0.0, "energy_j": 0.0, "ops": 0})
        for r in self.rows:
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
        data: dict[str, Any] = {
            "model": self.model,
            "device": self.device,
            "batch": self.batch,
            "latency_ms": self.latency_s * 1e3,
            "latency_per_sample_ms": self.latency_per_sample_s * 1e3,
            "throughput_per_s": self.throughput_per_s,
            "energy_mj": self.energy_j * 1e3,
            "dynamic_energy_mj": self.dynamic_energy_j * 1e3,
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
            "terms": [
                {"name": t.name, "latency_ms": t.latency_s * 1e3, "energy_mj": t.energy_j * 1e3, "note": t.note}
                for t in self.terms
            ],
            "summary": self.summary,
            "notes": self.notes,
        }
        if per_op:
            data["ops"] = [dict(zip(CSV_COLUMNS, _row_values(r), strict=True)) for r in self.rows]
        return data

    def to_json(self, per_op: bool = True, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(per_op), indent=indent)

    def to_csv(self) -> str:
        buf = io.StringIO()
        write_csv(CSV_COLUMNS, [_row_values(r) for r in self.rows], buf)
        return buf.getvalue()

    def table(self, per_op: bool = False) -> str:
        parts = []
        if per_op:
            header = ["op", "kind", "unit", "ms", "mJ", "bound", "util", "note"]
            parts.append(format_table(header, [_short_row(r) for r in self.rows]))
            if self.terms:
                parts.append(
                    format_table(
                        ["graph term", "ms", "mJ", "note"],
                        [[t.name, f"{t.latency_s * 1e3:.4f}", f"{t.energy_j * 1e3:.4f}", t.note] for t in self.terms],
                    )
                )
        parts.append(self.summary_text())
        return "\n\n".join(parts)

    def summary_text(self) -> str:
        lines = [
            f"model    {self.model}",
            f"device   {self.device}",
            f"latency  {self.latency_s * 1e3:.3f} ms   ({self.max_fps:.1f} fps max)",
        ]
        if self.batch > 1:
            lines[-1] = (
                f"latency  {self.latency_s * 1e3:.3f} ms per batch of {self.batch}, "
                f"{self.latency_per_sample_s * 1e3:.4f} ms per sample "
                f"({self.max_fps:.1f} batches/s max)"
            )
            lines.append(f"through  {self.throughput_per_s:.1f} samples/s")
        lines += [
            f"energy   {self.energy_j * 1e3:.3f} mJ per {'batch' if self.batch > 1 else 'inference'} "
            f"({self.dynamic_energy_j * 1e3:.3f} mJ dynamic)",
            f"work     {self.macs / 1e6:.1f} M MACs, {self.params / 1e6:.3f} M params",
        ]
        if self.fps is not None:
            power = f"power    {self.avg_power_w:.3f} W average at {min(self.fps, self.max_fps):.1f} fps"
            if not self.fps_met:
                power += f" ({self.fps:g} fps cannot be met: at most {self.max_fps:.1f} fps)"
            lines.append(power)
        units = self.by_unit()
        if len(units) > 1:
            lines.append("units    " + ", ".join(f"{u} {t * 1e3:.3f} ms" for u, t in units.items()))
        for key, value in self.summary.items():
            lines.append(f"{key}: {value:g}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _row_values(r: OpRow) -> Sequence[Any]:
    op, cost = r.op, r.cost
    return (
        op.name, r.kind, cost.unit, cost.latency_s * 1e3, cost.energy_j * 1e3, cost.compute_s * 1e3,
        cost.memory_s * 1e3, cost.overhead_s * 1e3, cost.bound, op.macs, op.params, cost.utilisation,
        op.tag, r.note,
    )


def _short_row(r: OpRow) -> list[str]:
    cost = r.cost
    util = "" if cost.utilisation is None else f"{cost.utilisation:.0%}"
    return [r.name, r.kind, cost.unit, f"{cost.latency_s * 1e3:.4f}", f"{cost.energy_j * 1e3:.4f}", cost.bound, util,
            r.note]
