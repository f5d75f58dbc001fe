"""Pricing one inference: rewrite the graph as the runtime would, place each op
(accelerator or host fallback), price it, add the graph-level terms.

`run` is the one pricing path; `simulate` dresses its result as a `Report` and search
loops (`simulator.predictor`) sum it directly.
"""

from __future__ import annotations

import functools

from graphs.batch import per_sample
from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from simulator.costmodels import CostModel, model_class
from simulator.engine.placement import place, transfers
from simulator.engine.rewrite import plan
from simulator.engine.terms import inference_terms
from simulator.hardware.profile import Profile, load_profile
from simulator.report import OpRow, Report
from simulator.results import Run, TermKind


@functools.lru_cache(maxsize=64)
def cost_model(profile: Profile) -> CostModel:
    """The cost model for a profile, one per profile so its op-cost cache is shared."""
    return model_class(profile.kind)(profile)


@functools.lru_cache(maxsize=64)
def host_model(profile: Profile) -> CostModel | None:
    if profile.offload is None:
        return None
    host = load_profile(profile.offload.host)
    if host.offload is not None:  # ops fall back to a host because the accelerator cannot run them
        raise EdgesimError(f"{profile.path}: key 'offload.host' names {profile.offload.host!r}, an accelerator "
                           "itself; name a CPU profile")
    return cost_model(host)


def run(graph: FlatGraph, profile: Profile) -> Run:
    """Price one inference of `graph` on `profile` (of a batch: on a device whose runtime
    invokes a one-sample model per sample, one sample repeated)."""
    device = cost_model(profile)
    if device.batch_as_invocations:
        split = per_sample(graph)
        if split is not None:
            return run(split[0], profile).repeated(split[1])
    rewritten = plan(graph, profile.runtime)
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
        terms = inference_terms(profile, device, [ops[i] for i in rewritten.kept], sum(c.latency_s for c in costs))
        reasons = ("",) * len(costs)
    else:
        on_device, reasons = place(graph, rewritten, device, profile.offload.fallback)
        costs = [(device if here else host).cost(ops[i]) for i, here in zip(rewritten.kept, on_device, strict=True)]
        device_ops = [ops[i] for i, here in zip(rewritten.kept, on_device, strict=True) if here]
        terms = inference_terms(
            profile, device, device_ops,
            sum(c.latency_s for c, here in zip(costs, on_device, strict=True) if here),
            transfers(graph, rewritten, on_device, device, profile),
            host,
            sum(c.latency_s for c, here in zip(costs, on_device, strict=True) if not here),
        )
    return Run(rewritten, tuple(costs), tuple(reasons), tuple(terms))


def simulate(graph: OpGraph, profile: Profile, fps: float | None = None, model: str | None = None) -> Report:
    """Latency, energy and power of one inference of `graph` on `profile`, op by op."""
    if fps is not None and not fps > 0:
        raise EdgesimError(f"fps must be positive, not {fps}")
    flat = graph.flat()
    result = run(flat, profile)
    rows = []
    for i, cost, reason in zip(result.plan.kept, result.costs, result.reasons, strict=True):
        merged = result.plan.merged.get(i)
        merged_note = f"merged: {', '.join(flat.ops[m].name for m in merged)}" if merged else ""
        rows.append(OpRow(flat.ops[i], cost, "; ".join(filter(None, [cost.note, reason, merged_note]))))
    device_ops = [flat.ops[i] for i, reason in zip(result.plan.kept, result.reasons, strict=True) if not reason]
    summary = cost_model(profile).graph_summary(device_ops)
    if profile.offload is not None:
        summary["handovers"] = sum(1 for t in result.terms if t.kind is TermKind.HANDOVER)
        summary["fallback_ops"] = len(result.reasons) - len(device_ops)
    notes = []
    if result.plan.pruned:
        notes.append(f"{result.plan.pruned} ops removed: no output depends on them")
    return Report(
        model=model or graph.name,
        device=profile.name,
        run=result,
        rows=rows,
        macs=flat.macs,
        params=flat.params,
        idle_power_w=profile.energy.idle_power_w,
        fps=fps,
        summary=summary,
        notes=notes,
        batch=flat.inputs[0][0] if flat.inputs and flat.inputs[0] else 1,
    )
