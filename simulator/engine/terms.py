"""The graph-level terms of one inference, built in one place for the whole-graph path
(`pricing.run`) and the segment fast path (`fastpath.SegmentPricer`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphs.ops import Op, Shape
from simulator.costmodels.base import CostModel
from simulator.hardware.profile import Profile
from simulator.results import DEVICE, HOST, Term, TermKind


def inference_terms(
    profile: Profile,
    device: CostModel,
    device_ops: Sequence[Op],
    device_ops_s: float,
    transfers: Sequence[Term] = (),
    host: CostModel | None = None,
    host_ops_s: float = 0.0,
) -> list[Term]:
    """Every graph-level term of one inference, in report order: the device's own terms
    for the ops placed on it (`CostModel.graph_terms`), the link `transfers` and the call
    into an accelerator with a host, then the power terms (busy power of each unit, the
    boundary's idle power). `device_ops_s` and `host_ops_s` are the latencies of the ops
    each unit ran."""
    terms = list(device.graph_terms(device_ops))
    if profile.offload is not None:
        terms += transfers
        if device_ops:
            terms.append(invocation(profile))
    busy = {DEVICE: device_ops_s, HOST: host_ops_s, None: 0.0}
    for t in terms:  # this runs once per candidate in search loops: no formatting here
        busy[t.kind.busy_unit] += t.latency_s
    latency = device_ops_s + host_ops_s + sum(t.latency_s for t in terms)
    return terms + power_terms(profile, busy[DEVICE], host, busy[HOST], latency)


def link_transfer(profile: Profile, kind: TermKind, name: str, shape: Shape) -> Term:
    """Moving one tensor over the accelerator's host link."""
    link = profile.offload
    nbytes = profile.bytes_per_element * math.prod(shape)
    latency = link.link_latency_s + nbytes / link.link_bw_bytes_per_s
    return Term(latency, nbytes * link.link_energy_per_byte_j, kind, name, f"{nbytes} bytes over the host link")


def invocation(profile: Profile) -> Term:
    return Term(profile.offload.invocation_overhead_s, 0.0, TermKind.INVOCATION, "invocation",
                "host call into the accelerator, once per inference")


def power_terms(
    profile: Profile, device_busy_s: float, host: CostModel | None, host_busy_s: float, latency_s: float
) -> list[Term]:
    """Power × time: each unit's busy power (above idle) for the time it works (the
    device: its ops and its own graph terms; the host: fallen-back ops and its calls into
    the device), and the boundary's idle power for the whole inference."""
    energy = profile.energy
    # Notes are constant: reports spread these terms over their rows (`Run.power_shares`).
    terms = [Term(0.0, energy.static_power_w * device_busy_s, TermKind.BUSY, "busy power", BUSY_NOTE)]
    watts = host.profile.energy.static_power_w if host is not None else 0.0
    if watts and host_busy_s:
        terms.append(Term(0.0, watts * host_busy_s, TermKind.HOST_BUSY, "host busy power", HOST_BUSY_NOTE))
    terms.append(Term(0.0, energy.idle_power_w * latency_s, TermKind.IDLE, "idle", IDLE_NOTE))
    return terms


BUSY_NOTE = "the device's busy power above idle × the time it works"
HOST_BUSY_NOTE = "the host's busy power above idle × its fallen-back ops and calls into the device"
IDLE_NOTE = "the boundary's idle power × the latency"
