"""The engine: rewrite the graph as the runtime would, place each op (accelerator or host
fallback), price it, add graph-level costs, and return a `Report`.

`run` is the one pricing path; `simulate` dresses its result as a `Report` and search
loops (`simulator.predictor`) sum it directly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from simulator.costmodels import CostModel, OpCost, Term, model_class
from simulator.profile import Profile, load_profile
from simulator.report import OpRow, Report
from simulator.rewrite import Plan, plan

AFTER_FIRST = "on host: after the first fallback (single-subgraph rule)"


@functools.lru_cache(maxsize=64)
def cost_model(profile: Profile) -> CostModel:
    """The cost model for a profile, one per profile so its op-cost cache is shared."""
    return model_class(profile.kind)(profile)


def host_model(profile: Profile) -> CostModel | None:
    if profile.offload is None:
        return None
    return cost_model(load_profile(profile.offload.host))


@dataclass(frozen=True, slots=True)
class Run:
    """One priced inference: per kept op its cost and why it ran where it did."""

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


def run(graph: FlatGraph, profile: Profile) -> Run:
    """Price one inference of `graph` on `profile`."""
    rewritten = plan(graph, profile.runtime)
    device = cost_model(profile)
    host = host_model(profile)
    ops = graph.ops
    if host is None:
        costs = []
        for i in rewritten.kept:
            op = ops[i]
            reason = device.unsupported(op)
            if reason:
                raise EdgesimError(f"{profile.name} cannot run op {op.name!r} ({op.kind}): {reason}")
            costs.append(device.cost(op))
        # A device without a host still has graph-level costs (a GPU's per-inference
        # synchronisation); the CPU model has none.
        terms: list[Term] = list(device.graph_terms([ops[i] for i in rewritten.kept]))
        reasons = ("",) * len(costs)
        device_busy = sum(c.latency_s for c in costs) + sum(t.latency_s for t in terms)
        host_busy = 0.0
    else:
        on_device, reasons = _place(graph, rewritten, device, profile.offload.fallback)
        costs = [(device if here else host).cost(ops[i]) for i, here in zip(rewritten.kept, on_device, strict=True)]
        device_ops = [ops[i] for i, here in zip(rewritten.kept, on_device, strict=True) if here]
        terms = list(device.graph_terms(device_ops))
        device_busy = sum(c.latency_s for c, here in zip(costs, on_device, strict=True) if here)
        device_busy += sum(t.latency_s for t in terms)
        host_busy = sum(c.latency_s for c, here in zip(costs, on_device, strict=True) if not here)
        terms += _transfers(graph, rewritten, on_device, device, profile)
        if device_ops:
            terms.append(invocation(profile))
    terms += busy_power(profile, device_busy, host, host_busy)
    return Run(rewritten, tuple(costs), tuple(reasons), tuple(terms))


def simulate(graph: OpGraph, profile: Profile, fps: float | None = None, model: str | None = None) -> Report:
    """Latency, energy and power of one inference of `graph` on `profile`, op by op."""
    if fps is not None and not fps > 0:
        raise EdgesimError(f"fps must be positive, not {fps}")
    flat = graph.flat()
    result = run(flat, profile)
    rows = []
    for i, cost, reason in zip(result.plan.kept, result.costs, result.reasons, strict=True):
        op = flat.ops[i]
        merged = result.plan.merged.get(i)
        merged_note = f"merged: {', '.join(flat.ops[m].name for m in merged)}" if merged else ""
        rows.append(OpRow.from_cost(op, cost, "; ".join(filter(None, [cost.note, reason, merged_note]))))
    device_ops = [flat.ops[i] for i, reason in zip(result.plan.kept, result.reasons, strict=True) if not reason]
    summary = cost_model(profile).graph_summary(device_ops)
    if profile.offload is not None:
        summary["handovers"] = sum(1 for t in result.terms if t.name.startswith("hand-over"))
        summary["fallback_ops"] = len(result.reasons) - len(device_ops)
    notes = []
    if result.plan.pruned:
        notes.append(f"{result.plan.pruned} ops removed: no output depends on them")
    return Report(
        model=model or graph.name,
        device=profile.name,
        rows=rows,
        terms=list(result.terms),
        macs=flat.macs,
        params=flat.params,
        idle_power_w=profile.energy.idle_power_w,
        fps=fps,
        summary=summary,
        notes=notes,
    )


def _place(graph: FlatGraph, rewritten: Plan, device: CostModel, rule: str) -> tuple[list[bool], list[str]]:
    """Per kept op: whether it runs on the accelerator, and if not, why."""
    on_device: list[bool] = []
    reasons: list[str] = []
    fallen = False
    for i in rewritten.kept:
        reason = device.unsupported(graph.ops[i])
        if fallen and rule == "after_first_unsupported":
            on_device.append(False)
            reasons.append(AFTER_FIRST)
        elif reason:
            fallen = True
            on_device.append(False)
            reasons.append(f"on host: {reason}")
        else:
            on_device.append(True)
            reasons.append("")
    return on_device, reasons


def _transfers(
    graph: FlatGraph, rewritten: Plan, on_device: list[bool], device: CostModel, profile: Profile
) -> list[Term]:
    """Every tensor that crosses between host and accelerator moves over the link once:
    the graph inputs and outputs when the accelerator reads or writes them, and the
    boundary tensors at each hand-over."""
    here = dict(zip(rewritten.kept, on_device, strict=True))
    crossings: dict[tuple[int, bool], str] = {}
    for i, srcs in zip(rewritten.kept, rewritten.sources, strict=True):
        dest = here[i]
        for s in srcs:
            src_on_device = s >= 0 and here[s]  # graph inputs start on the host
            if src_on_device != dest:
                crossings.setdefault((s, dest), "input" if s < 0 else "hand-over")
    for out in rewritten.outputs:
        if here.get(out):
            crossings.setdefault((out, False), "output")
    terms = []
    for (tensor, dest), kind in crossings.items():
        name = graph.input_names[-1 - tensor] if tensor < 0 else graph.ops[tensor].name
        target = device.unit if dest else "host"
        terms.append(link_transfer(profile, f"{kind} {name} -> {target}", graph.shape_of(tensor)))
    return terms


def link_transfer(profile: Profile, name: str, shape: tuple[int, ...]) -> Term:
    """Moving one tensor over the accelerator's host link."""
    link = profile.offload
    nbytes = profile.bytes_per_element * math.prod(shape)
    latency = link.link_latency_s + nbytes / link.link_bw_bytes_per_s
    return Term(name, latency, nbytes * link.link_energy_per_byte_j, f"{nbytes} bytes over the host link")


def invocation(profile: Profile) -> Term:
    return Term("invocation", profile.offload.invocation_overhead_s, 0.0,
                "host call into the accelerator, once per inference")


def busy_power(profile: Profile, device_busy_s: float, host: CostModel | None, host_busy_s: float) -> list[Term]:
    """Energy of the power a unit draws above idle while it works, beyond what its ops
    and bytes cost: the device's for the time it runs ops (transfers and the host's call
    into it excluded), the host's for the ops that fell back to it."""
    terms = [Term("static", 0.0, profile.energy.static_power_w * device_busy_s,
                  f"{profile.energy.static_power_w:g} W static power × {device_busy_s * 1e3:.4g} ms busy")]
    watts = host.profile.energy.static_power_w if host is not None else 0.0
    if watts and host_busy_s:
        terms.append(Term("host static", 0.0, watts * host_busy_s,
                          f"{watts:g} W host static power × {host_busy_s * 1e3:.4g} ms on the host"))
    return terms
