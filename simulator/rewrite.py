"""Graph rewrites a runtime applies before running a graph (profile `[runtime]` table):
remove ops the outputs do not depend on, fold batch norm into the producing conv/dense,
fuse activations into it."""

from __future__ import annotations

from dataclasses import dataclass

from graphs.graph import OpGraph
from graphs.ops import MAC_KINDS, Kind, Op
from simulator.profile import RuntimeSpec


@dataclass(frozen=True, slots=True)
class PlannedOp:
    """An op that will run: its producers after rewriting and the ops merged into it."""

    op: Op
    sources: tuple[str, ...]
    merged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    ops: tuple[PlannedOp, ...]
    pruned: tuple[str, ...]  # ops removed because no output depends on them
    outputs: tuple[str, ...]  # producers of the graph's outputs, after rewriting


def plan(graph: OpGraph, runtime: RuntimeSpec) -> Plan:
    ops = graph.ops()
    live = _live_ops(graph) if runtime.prune_dead_ops else None
    fused = frozenset(runtime.fused_activations)
    alias: dict[str, str] = {}  # removed op -> op that now produces its result
    merged: dict[str, list[str]] = {}
    planned: dict[str, PlannedOp] = {}
    pruned = []
    for op in ops:
        name = op.name
        if live is not None and name not in live:
            pruned.append(name)
            continue
        sources = graph.sources(name)
        if len(sources) == 1:
            producer = alias.get(sources[0], sources[0])
            if producer in planned and _merges(graph, op, sources[0], producer, planned, runtime, fused):
                alias[name] = producer
                merged.setdefault(producer, []).append(name)
                continue
        srcs = tuple(alias.get(s, s) for s in sources if live is None or s in live or s in graph.inputs)
        planned[name] = PlannedOp(op, srcs)
    result = tuple(
        PlannedOp(p.op, p.sources, tuple(merged[n])) if n in merged else p
        for n, p in planned.items()
    )
    outputs = tuple(alias.get(n, n) for n in graph.outputs() if live is None or n in live)
    return Plan(result, tuple(pruned), outputs)


def _merges(
    graph: OpGraph,
    op: Op,
    source: str,
    producer: str,
    planned: dict[str, PlannedOp],
    runtime: RuntimeSpec,
    fused: frozenset[str],
) -> bool:
    """Whether `op` folds into `producer`: a conv/dense whose result only `op` reads
    (through `source`, which may itself have been folded into `producer`)."""
    if planned[producer].op.kind not in MAC_KINDS or len(graph.consumers(source)) != 1:
        return False
    if op.kind == Kind.BATCH_NORM:
        return runtime.fold_batch_norm
    return op.kind in fused


def _live_ops(graph: OpGraph) -> set[str]:
    """Ops some graph output depends on through a path that avoids "zero"-tagged ops
    (constant-zero values, such as NAS-Bench-201's `none` edge)."""
    nxg = graph.nx
    stack = [n for n in graph.outputs() if graph.op(n).tag != "zero"]
    live = set(stack)
    while stack:
        for pred in nxg.predecessors(stack.pop()):
            if pred not in live and graph.op(pred).tag != "zero":
                live.add(pred)
                stack.append(pred)
    return live
