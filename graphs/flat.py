"""`FlatGraph`: an op graph reduced to what pricing needs, for the hot path.

Ops in topological order and, per op, the indices of its producers; graph input k is
index -1 - k. No networkx, no names to resolve: a search loop prices thousands of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from graphs.ops import Op, Shape


@dataclass(frozen=True, slots=True)
class FlatGraph:
    name: str
    ops: tuple[Op, ...]
    sources: tuple[tuple[int, ...], ...]
    inputs: tuple[Shape, ...]
    input_names: tuple[str, ...]
    consumers: tuple[int, ...] = field(init=False)  # number of ops reading each op's output
    outputs: tuple[int, ...] = field(init=False)  # ops nobody reads

    def __post_init__(self) -> None:
        counts = [0] * len(self.ops)
        for srcs in self.sources:
            for s in srcs:
                if s >= 0:
                    counts[s] += 1
        object.__setattr__(self, "consumers", tuple(counts))
        object.__setattr__(self, "outputs", tuple(i for i, n in enumerate(counts) if n == 0))

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def params(self) -> int:
        return sum(op.params for op in self.ops)

    def shape_of(self, index: int) -> Shape:
        return self.inputs[-1 - index] if index < 0 else self.ops[index].output


def canonical_ops(graph: FlatGraph, skip: Sequence[bool] | None = None) -> list[int]:
    """Per op, the first op computing the same value, as a converter's common-subexpression
    elimination merges them: an op without weights of the same kind, shapes, attributes
    and tag on the same (merged) tensors; the op itself otherwise. Ops marked in `skip`
    (dead ones) merge with nothing."""
    canon = list(range(len(graph.ops)))
    seen: dict[tuple, int] = {}
    for i, op in enumerate(graph.ops):
        if op.params or (skip is not None and skip[i]):
            continue
        key = (op.signature, op.tag, tuple(s if s < 0 else canon[s] for s in graph.sources[i]))
        canon[i] = seen.setdefault(key, i)
    return canon


def merged_consumers(graph: FlatGraph, canon: Sequence[int]) -> list[int]:
    """`FlatGraph.consumers` once duplicates are merged (`canonical_ops`): the readers of
    each op's output that remain."""
    counts = [0] * len(graph.ops)
    for i, srcs in enumerate(graph.sources):
        if canon[i] == i:
            for s in srcs:
                if s >= 0:
                    counts[canon[s]] += 1
    return counts
