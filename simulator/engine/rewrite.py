"""Graph rewrites a runtime applies before running a graph (profile `[runtime]` table):
remove ops the outputs do not depend on, merge duplicate ops (a converter's common-
subexpression elimination), fold batch norm into the producing conv/dense, fuse
activations into their producer."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from graphs.flat import FlatGraph, canonical_ops, merged_consumers
from graphs.ops import MAC_KINDS, Kind, Op
from simulator.hardware.common import RuntimeSpec


@dataclass(frozen=True, slots=True)
class Plan:
    """What runs: indices into the graph's ops, each op's producers after rewriting (as
    indices; graph inputs negative), and for each kept op the ops merged into it."""

    kept: tuple[int, ...]
    sources: tuple[tuple[int, ...], ...]  # per kept op
    merged: dict[int, list[int]]  # kept op -> ops folded or fused into it
    pruned: int  # ops removed because no output depends on them
    outputs: tuple[int, ...]  # producers of the graph's outputs, after rewriting


# Plans by (runtime, graph structure): search loops and calibration price the same
# structures again and again (a cell's at every stage shape, a graph under every candidate
# profile). Bounded: the oldest plan goes first.
_PLANS: dict[tuple, Plan] = {}
_MAX_PLANS = 1 << 14


def plan(graph: FlatGraph, runtime: RuntimeSpec) -> Plan:
    """What `runtime` runs of `graph`. A plan depends on the ops' kinds and tags and on
    the wiring only, never on shapes, so graphs of one structure share it (read only);
    merging duplicates also compares the ops' attributes and whether they have weights."""
    ops = graph.ops
    key = (runtime, graph.sources, tuple([(op.kind, op.tag) for op in ops]))
    if runtime.merge_duplicates:
        key += (tuple([(op.kernel, op.stride, op.dilation, op.groups, op.attrs, op.params > 0) for op in ops]),)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) >= _MAX_PLANS:
            del _PLANS[next(iter(_PLANS))]
        found = _PLANS[key] = _new_plan(graph, runtime)
    return found


def _new_plan(graph: FlatGraph, runtime: RuntimeSpec) -> Plan:
    ops = graph.ops
    live = _live_ops(graph) if runtime.prune_dead_ops else None
    canon = canonical_ops(graph, None if live is None else [not x for x in live]) if runtime.merge_duplicates \
        else None
    consumers = graph.consumers if canon is None else merged_consumers(graph, canon)
    fold_bn = runtime.fold_batch_norm
    fused = runtime.fused_activations
    fuse_into = kinds(runtime.fuse_into)
    alias: dict[int, int] = {}  # removed op -> op that now produces its result
    merged: dict[int, list[int]] = {}
    kept: list[int] = []
    kept_sources: list[tuple[int, ...]] = []
    for i, op in enumerate(ops):
        if live is not None and not live[i]:
            continue
        srcs = graph.sources[i]
        if canon is not None:
            if canon[i] != i:  # a duplicate: its value is the first one's
                alias[i] = producer = alias.get(canon[i], canon[i])
                merged.setdefault(producer, []).append(i)
                continue
            srcs = tuple(s if s < 0 else canon[s] for s in srcs)
        if len(srcs) == 1 and srcs[0] >= 0 and consumers[srcs[0]] == 1 and (live is None or live[srcs[0]]):
            # `op` folds into the op whose result only it reads (through its source,
            # which may itself have been folded into that op): batch norm into a
            # conv/dense, an activation into a `fuse_into` kind. A removed (constant)
            # source takes nothing in.
            producer = alias.get(srcs[0], srcs[0])
            kind = ops[producer].kind
            if (op.kind == Kind.BATCH_NORM and fold_bn and kind in MAC_KINDS) or (
                op.kind in fused and kind in fuse_into
            ):
                alias[i] = producer
                merged.setdefault(producer, []).append(i)
                continue
        kept.append(i)
        kept_sources.append(
            tuple(alias.get(s, s) for s in srcs if live is None or s < 0 or live[s])
        )
    outputs = tuple(alias.get(i, i) for i in graph.outputs if live is None or live[i])
    pruned = 0 if live is None else len(ops) - sum(live)
    return Plan(tuple(kept), tuple(kept_sources), merged, pruned, outputs)


@functools.cache
def kinds(names: tuple[str, ...]) -> frozenset[Kind]:
    return frozenset(map(Kind, names))


def _live_ops(graph: FlatGraph) -> list[bool]:
    """Ops some graph output needs. A zero edge (a one-input "zero"-tagged `mul`: x·0, the
    NAS-Bench-201 `none` op) is a constant, so it and the branches that only feed it are
    not needed; ops that compute on such constants still run, as the HW-NAS-Bench
    measurements show (they are not folded away). One reverse pass: the order is
    topological, so every consumer is decided before its producers."""
    ops = graph.ops
    live = [False] * len(ops)
    for i in graph.outputs:
        live[i] = not _zero_edge(ops[i])
    for i in range(len(ops) - 1, -1, -1):
        if live[i]:
            for s in graph.sources[i]:
                if s >= 0 and not _zero_edge(ops[s]):
                    live[s] = True
    return live


def _zero_edge(op: Op) -> bool:
    return op.tag == "zero" and op.kind == Kind.MUL and len(op.inputs) == 1
