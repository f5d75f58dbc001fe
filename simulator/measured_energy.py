"""What a measurement at a boundary sees of one priced inference.

A profile's energy per inference also holds its host's share: the ops that fell back to the
host and the host's busy power while it calls the device. A board or a SoC holds its host
CPU; a USB stick at its port never does, so what a measurement there sees is the energy
less the host's share.
"""

from __future__ import annotations

from simulator.results import Run, TermKind

HOST_OUTSIDE = frozenset({"usb"})  # boundaries that never hold the accelerator's host


def energy_seen_j(run: Run, boundary: str) -> float:
    """The energy of one inference that a measurement at `boundary` sees."""
    if boundary not in HOST_OUTSIDE:
        return run.energy_j
    host = sum(c.energy_j for c, reason in zip(run.costs, run.reasons, strict=True) if reason)
    return run.energy_j - host - run.power_energy_j(TermKind.HOST_BUSY)
