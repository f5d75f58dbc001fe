"""The graph-level terms of one inference, built in one place for the whole-graph path
(`pricing.run`) and the segment fast path (`fastpath.SegmentPricer`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphs.ops import Op, Shape
from simulator.costmodels.base import CostModel
from simulator.hardware.profile import Profile
from simulator.results import Term, TermKind


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
    into an accelerator with a host, then static power. `device_ops_s` and `host_ops_s`
    are the latencies of the ops each unit ran."""
    terms = list(device.graph_terms(device_ops))
    device_busy = device_ops_s + sum(t.latency_s for t in terms)
    if profile.offload is not None:
        terms += transfers
        if device_ops:
            terms.append(invocation(profile))
    terms += busy_power(profile, device_busy, host, host_ops_s)
    return terms


def link_transfer(profile: Profile, kind: TermKind, name: str, shape: Shape) -> Term:
    """Moving one tensor over the accelerator's host link."""
    link = profile.offload
    nbytes = profile.bytes_per_element * math.prod(shape)
    latency = link.link_latency_s + nbytes / link.link_bw_bytes_per_s
    return Term(latency, nbytes * link.link_energy_per_byte_j, kind, name, f"{nbytes} bytes over the host link")


def invocation(profile: Profile) -> Term:
    return Term(profile.offload.invocation_overhead_s, 0.0, TermKind.INVOCATION, "invocation",
                "host call into the accelerator, once per inference")


def busy_power(profile: Profile, device_busy_s: float, host: CostModel | None, host_busy_s: float) -> list[Term]:
    """Energy of the power a unit draws above idle while it works, beyond what its ops
    and bytes cost: the device's for the time it runs ops (transfers and the host's call
    into it excluded), the host's for the ops that fell back to it."""
    terms = [Term(0.0, profile.energy.static_power_w * device_busy_s, TermKind.STATIC, "static",
                  f"{profile.energy.static_power_w:g} W static power × {device_busy_s * 1e3:.4g} ms busy")]
    watts = host.profile.energy.static_power_w if host is not None else 0.0
    if watts and host_busy_s:
        terms.append(Term(0.0, watts * host_busy_s, TermKind.HOST_STATIC, "host static",
                          f"{watts:g} W host static power × {host_busy_s * 1e3:.4g} ms on the host"))
    return terms
