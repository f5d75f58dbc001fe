"""Fit energy fields to measured energy per inference, with latency held.

Once latency is fixed, energy per inference is linear in each energy field: the compute
part scales with the energy per MAC, the on-chip and off-chip memory parts with the energy
per byte of their level, the busy part with the busy power; the idle floor, the host link
and the host's own work do not move. So the linearised fit of `simulator.selection` (the
cross-validated model selection latency calibration uses) is exact here, and it chooses,
by leave-one-model-out over the training rows, among nested energy parameter sets

    energy scale            one multiplier on every energy field the rows see
    busy + dynamic          busy power on its own, MAC and byte energies sharing one
    all energy fields       each on its own

and the strength of the pull toward the base. Every latency field stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphs.errors import EdgesimError
from simulator import selection
from simulator.costmodels import FreeParameter
from simulator.engine import run
from simulator.hardware.profile import Profile, profile_from_mapping
from simulator.measured_energy import energy_seen_j
from simulator.reference import ReferenceRow, reference_graphs
from simulator.selection import Design, ParamSet
from simulator.validate import Metrics, metrics
from simulator.validate_energy import energy_rows

# How far a fit may move an energy field either way: an order of magnitude. Ten times below
# a module- or board-level estimate per MAC is the bare arithmetic (an fp32 FMA costs about
# 1-4 pJ, Horowitz ISSCC 2014, against the 24-200 pJ the profiles hold with data movement);
# a fit that wants more than that is absorbing work the model does not hold, not energy.
MAX_FACTOR = 10.0
BUSY = "energy.static_power_w"


@dataclass(frozen=True)
class EnergyFit:
    profile: Profile  # the fitted profile, its `[calibration] energy` record included
    fitted: dict[str, tuple[float, float]]  # field -> (before, after)
    chosen: str  # the parameter set and prior strength cross-validation chose
    base: Metrics  # energy per inference of the base profile on the training rows
    metrics: Metrics  # of the fitted profile on the same rows


def energy_parameters(profile: Profile) -> list[FreeParameter]:
    """The energy fields a fit may move (a zero field stays zero; an Edge TPU has no DRAM field)."""
    dram = () if profile.energy.dram_energy_per_byte_j is None else ("energy.dram_energy_per_byte_j",)
    paths = (f"energy.energy_per_mac_j.{profile.precision}", "energy.sram_energy_per_byte_j", *dram, BUSY)
    out = []
    for path in paths:
        value = float(profile.get(path))
        if value > 0:
            out.append(FreeParameter(path, value / MAX_FACTOR, value * MAX_FACTOR))
    return out


def energy_sets(fields: Sequence[selection.Field], seen: Sequence[bool]) -> list[ParamSet]:
    """The nested energy parameter sets over the fields the rows see, smallest first."""
    on = [i for i, s in enumerate(seen) if s]
    busy = tuple(i for i in on if fields[i].path == BUSY)
    dynamic = tuple(i for i in on if fields[i].path != BUSY)
    return selection.nested([
        ("energy scale", (tuple(on),)),
        ("busy power + dynamic energy", (busy, dynamic)),
        ("all energy fields", tuple((i,) for i in on)),
    ])


def calibrate_energy(profile: Profile, rows: Sequence[ReferenceRow], *, reference: str | None = None) -> EnergyFit:
    """Fit `profile`'s energy fields to the measured energies of `rows`, latency held.
    Rows measured at another boundary than the profile's are refused, not fitted."""
    rows = energy_rows(rows)
    boundary = profile.energy.boundary
    elsewhere = sorted({r.boundary for r in rows if (r.boundary or boundary) != boundary})
    if elsewhere:
        raise EdgesimError(f"{profile.name} covers the {boundary!r} boundary; rows of {rows[0].file} were "
                           f"measured at {', '.join(elsewhere)}: fit like with like")
    graphs = reference_graphs(rows)
    y = np.array([r.energy_mj for r in rows])
    groups = np.unique([r.model for r in rows], return_inverse=True)[1]

    def predict(p: Profile) -> np.ndarray:
        return np.array([energy_seen_j(run(g.flat(), p), boundary) * 1e3 for g in graphs])

    params = energy_parameters(profile)
    fields = selection.make_fields(profile, params)
    lin = selection.linearise(profile, fields, np.ones(len(fields)), predict)
    seen = selection.seen(lin)
    if not any(seen):
        raise EdgesimError(f"{profile.name}: no energy field changes these rows' energy")
    cands = selection.candidates([Design(lin, s) for s in energy_sets(fields, seen)], y, groups)
    chosen = selection.choose(cands, ceiling=cands[0].cv.mape)
    final = selection.refit(profile, chosen, y, predict)
    best = selection.apply(profile, final.fields, final.m)

    before = {p.path: float(profile.get(p.path)) for p in params}
    after = {p.path: float(best.get(p.path)) for p in params}
    base_m, fit_m = metrics(lin.p, y), metrics(predict(best), y)
    record = dict(best.calibration or {})
    record["energy"] = {
        "reference": reference or ", ".join(sorted({r.file for r in rows})),
        "rows": len(rows),
        "fitted_rows": [r.line for r in rows],
        "boundary": boundary,
        "method": "energy fields by bounded ridge regression on relative error (exact: energy is linear "
                  "in them with latency held); parameter set and prior weight chosen by leave-one-out",
        "chosen": chosen.design.pset.name,
        "prior_weight": chosen.prior_weight,
        "cv": {"base scale": cands[0].cv.to_dict(), "fit": chosen.cv.to_dict()},
        "before": before,
        "after": after,
        "train": {k: v for k, v in fit_m.to_dict().items() if v is not None},
    }
    sources = dict(best.sources)
    sources["calibration.energy"] = (f"energy fields ({', '.join(after)}) fitted to the measured energies of "
                                     f"{len(rows)} rows of {record['energy']['reference']}; see [calibration]")
    data = best.to_mapping()
    data.update(sources=sources, calibration=record)
    return EnergyFit(profile_from_mapping(data, best.path or f"<{best.name}>"),
                     {p: (before[p], after[p]) for p in before}, chosen.label, base_m, fit_m)
