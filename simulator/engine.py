"""The engine: rewrite the graph as the runtime would, place each op (accelerator or host
fallback), price it, add graph-level costs, and return a `Report`."""

from __future__ import annotations

import functools

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from simulator.costmodels import CostModel, Term, model_class
from simulator.profile import Profile, load_profile
from simulator.report import OpRow, Report
from simulator.rewrite import Plan, plan


@functools.lru_cache(maxsize=64)
def cost_model(profile: Profile) -> CostModel:
    """The cost model for a profile, one per profile so its op-cost cache is shared."""
    return model_class(profile.kind)(profile)


def host_model(profile: Profile) -> CostModel | None:
    if profile.offload is None:
        return None
    return cost_model(load_profile(profile.offload.host))


def simulate(
    graph: OpGraph, profile: Profile, fps: float | None = None, model: str | None = None
) -> Report:
    """Latency, energy and power of one inference of `graph` on `profile`."""
    if fps is not None and not fps > 0:
        raise EdgesimError(f"fps must be positive, not {fps}")
    rewritten = plan(graph, profile.runtime)
    device = cost_model(profile)
    host = host_model(profile)
    units = _place(rewritten, device, host)

    rows: list[OpRow] = []
    on_device = []
    for planned, (where, reason) in zip(rewritten.ops, units, strict=True):
        op = planned.op
        if where is device:
            on_device.append(op)
        cost = where.cost(op)
        note = "; ".join(filter(None, [cost.note, reason, _merged_note(planned.merged)]))
        rows.append(OpRow.from_cost(op, cost, note))

    terms: list[Term] = []
    summary: dict[str, float] = {}
    if host is not None:
        device_terms, summary = device.graph_terms(on_device)
        terms += device_terms
        terms += _transfers(graph, rewritten, units, device, profile)
        summary["handovers"] = sum(1 for t in terms if t.name.startswith("hand-over"))
        summary["fallback_ops"] = sum(1 for where, _ in units if where is not device)
        if on_device:
            terms.append(Term("invocation", profile.offload.invocation_overhead_s, 0.0,
                              "host call into the accelerator, once per inference"))
    busy = sum(r.latency_s for r in rows) + sum(t.latency_s for t in terms)
    static = profile.energy.static_power_w * busy
    terms.append(Term("static", 0.0, static, "static power × latency"))
    notes = []
    if rewritten.pruned:
        notes.append(f"{len(rewritten.pruned)} ops removed: no output depends on them")
    return Report(
        model=model or graph.name,
        device=profile.name,
        rows=rows,
        terms=terms,
        macs=graph.macs,
        params=graph.params,
        idle_power_w=profile.energy.idle_power_w,
        fps=fps,
        summary=summary,
        notes=notes,
    )


def _merged_note(merged: tuple[str, ...]) -> str:
    return f"merged: {', '.join(merged)}" if merged else ""


def _place(
    rewritten: Plan, device: CostModel, host: CostModel | None
) -> list[tuple[CostModel, str]]:
    """(cost model, reason) per op. Without a host every op must run on the device."""
    placed = []
    fallen = False
    for planned in rewritten.ops:
        op = planned.op
        reason = device.unsupported(op)
        if host is None:
            if reason:
                raise EdgesimError(
                    f"{device.profile.name} cannot run op {op.name!r} ({op.kind}): {reason}"
                )
            placed.append((device, ""))
            continue
        if fallen and device.profile.offload.fallback == "after_first_unsupported":
            placed.append((host, "on host: after the first fallback (single-subgraph rule)"))
        elif reason:
            fallen = True
            placed.append((host, f"on host: {reason}"))
        else:
            placed.append((device, ""))
    return placed


def _transfers(
    graph: OpGraph,
    rewritten: Plan,
    units: list[tuple[CostModel, str]],
    device: CostModel,
    profile: Profile,
) -> list[Term]:
    """Every tensor that crosses between host and accelerator moves over the link once:
    the graph inputs and outputs when the accelerator reads or writes them, and the
    boundary tensors at each hand-over."""
    link = profile.offload
    unit_of = {p.op.name: where for p, (where, _) in zip(rewritten.ops, units, strict=True)}
    shapes = {p.op.name: p.op.output for p in rewritten.ops}
    crossings: dict[tuple[str, str], str] = {}
    for planned in rewritten.ops:
        dest = unit_of[planned.op.name]
        for src in planned.sources:
            src_unit = unit_of.get(src)  # None: a graph input, which starts on the host
            if (src_unit is device) != (dest is device):
                kind = "input" if src_unit is None else "hand-over"
                crossings.setdefault((src, dest.unit), kind)
    for out in rewritten.outputs:
        if unit_of.get(out) is device:
            crossings.setdefault((out, "host"), "output")
    terms = []
    for (tensor, dest), kind in crossings.items():
        shape = graph.inputs.get(tensor) or shapes[tensor]
        nbytes = profile.bytes_per_element * _elements(shape)
        latency = link.link_latency_s + nbytes / link.link_bw_bytes_per_s
        terms.append(
            Term(f"{kind} {tensor} -> {dest}", latency, nbytes * link.link_energy_per_byte_j,
                 f"{nbytes} bytes over the host link")
        )
    return terms


def _elements(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
