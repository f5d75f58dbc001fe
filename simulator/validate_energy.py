"""Score a profile's energy on measured energies, like with like.

A measured energy per inference is compared with the profile's only when both cover the
same boundary: a row's `boundary` (or, where the row leaves it empty, the profile's own)
must be the profile's `[energy] boundary`; rows measured elsewhere are listed, not scored.

Two figures per row. Energy per inference (mJ) is what the profile predicts, so its error
carries the latency error too. Power while running back to back (energy / latency, W) is
the energy model's own error: where a campaign measured power and derived energy as power
× its own latency (DeepEdgeBench), it is the quantity that was measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphs.errors import EdgesimError
from simulator.engine import run
from simulator.hardware.profile import Profile
from simulator.measured_energy import energy_seen_j
from simulator.reference import ReferenceRow, reference_graphs
from simulator.validate import Metrics, metrics


@dataclass(frozen=True)
class EnergyRowResult:
    row: ReferenceRow
    predicted_mj: float
    predicted_ms: float

    @property
    def measured_power_w(self) -> float:
        return self.row.energy_mj / self.row.latency_ms

    @property
    def predicted_power_w(self) -> float:
        return self.predicted_mj / self.predicted_ms

    @property
    def energy_error(self) -> float:
        """Signed: (predicted − measured) / measured."""
        return self.predicted_mj / self.row.energy_mj - 1.0

    @property
    def power_error(self) -> float:
        return self.predicted_power_w / self.measured_power_w - 1.0


@dataclass(frozen=True)
class EnergyValidation:
    device: str
    boundary: str
    energy: Metrics  # energy per inference, mJ
    power: Metrics  # power while running back to back, W
    rows: tuple[EnergyRowResult, ...]
    elsewhere: tuple[ReferenceRow, ...]  # measured at another boundary: not scored

    @property
    def median_abs_energy_error(self) -> float:
        return float(np.median([abs(r.energy_error) for r in self.rows]))

    @property
    def median_abs_power_error(self) -> float:
        return float(np.median([abs(r.power_error) for r in self.rows]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "boundary": self.boundary,
            "energy": {**self.energy.to_dict(), "median_abs_error": self.median_abs_energy_error},
            "power": {**self.power.to_dict(), "median_abs_error": self.median_abs_power_error},
            "rows": [
                {"model": r.row.model, "line": r.row.line, "boundary": r.row.boundary or self.boundary,
                 "measured_mj": r.row.energy_mj, "predicted_mj": r.predicted_mj,
                 "measured_w": r.measured_power_w, "predicted_w": r.predicted_power_w,
                 "energy_error": r.energy_error, "power_error": r.power_error}
                for r in self.rows
            ],
            "other_boundary": [{"model": r.model, "line": r.line, "boundary": r.boundary} for r in self.elsewhere],
        }


def energy_rows(rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """The rows with a measured energy; a one-line error when there are none."""
    chosen = [r for r in rows if r.energy_mj is not None]
    if not chosen:
        origin = rows[0].file if rows else "reference"
        raise EdgesimError(f"{origin}: no measured energy (energy_mj is empty on every row): "
                           "nothing to score or fit energy on")
    return chosen


def validate_energy(profile: Profile, rows: Sequence[ReferenceRow]) -> EnergyValidation:
    """Predict every row with a measured energy at the profile's boundary and score it."""
    measured = energy_rows(rows)
    boundary = profile.energy.boundary
    like = [r for r in measured if (r.boundary or boundary) == boundary]
    elsewhere = tuple(r for r in measured if (r.boundary or boundary) != boundary)
    if not like:
        found = ", ".join(sorted({r.boundary for r in elsewhere}))
        raise EdgesimError(f"{profile.name} covers the {boundary!r} boundary; the measured energies of "
                           f"{measured[0].file} are at {found}: nothing like with like to score")
    runs = [run(g.flat(), profile) for g in reference_graphs(like)]
    results = tuple(EnergyRowResult(r, energy_seen_j(x, boundary) * 1e3, x.latency_s * 1e3)
                    for r, x in zip(like, runs, strict=True))
    return EnergyValidation(
        device=profile.name,
        boundary=boundary,
        energy=metrics([r.predicted_mj for r in results], [r.row.energy_mj for r in results]),
        power=metrics([r.predicted_power_w for r in results], [r.measured_power_w for r in results]),
        rows=results,
        elsewhere=elsewhere,
    )
