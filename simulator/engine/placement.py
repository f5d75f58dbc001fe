"""Where each op runs when an accelerator has a host: placement by the profile's fallback
rule, and the tensors that cross the host link because of it."""

from __future__ import annotations

from graphs.flat import FlatGraph
from simulator.costmodels.base import CostModel
from simulator.engine.rewrite import Plan
from simulator.engine.terms import link_transfer
from simulator.hardware.profile import Profile
from simulator.results import Term, TermKind

AFTER_FIRST = "on host: after the first fallback (single-subgraph rule)"


def place(graph: FlatGraph, rewritten: Plan, device: CostModel, rule: str) -> tuple[list[bool], list[str]]:
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


def transfers(
    graph: FlatGraph, rewritten: Plan, on_device: list[bool], device: CostModel, profile: Profile
) -> list[Term]:
    """Every tensor that crosses between host and accelerator moves over the link once:
    the graph inputs and outputs when the accelerator reads or writes them, and the
    boundary tensors at each hand-over."""
    here = dict(zip(rewritten.kept, on_device, strict=True))
    crossings: dict[tuple[int, bool], TermKind] = {}
    for i, srcs in zip(rewritten.kept, rewritten.sources, strict=True):
        dest = here[i]
        for s in srcs:
            src_on_device = s >= 0 and here[s]  # graph inputs start on the host
            if src_on_device != dest:
                crossings.setdefault((s, dest), TermKind.INPUT if s < 0 else TermKind.HANDOVER)
    for out in rewritten.outputs:
        if here.get(out):
            crossings.setdefault((out, False), TermKind.OUTPUT)
    terms = []
    for (tensor, dest), kind in crossings.items():
        name = graph.input_names[-1 - tensor] if tensor < 0 else graph.ops[tensor].name
        target = device.unit if dest else "host"
        terms.append(link_transfer(profile, kind, f"{kind.value} {name} -> {target}", graph.shape_of(tensor)))
    return terms
