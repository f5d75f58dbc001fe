"""Networks written as a chain of segments, so that search loops can price a segment once
and reuse it wherever it recurs (the cells of a NAS-Bench-201 stage, an FBNet block choice
at a position).

A segment reads the builder's current tensor and leaves its output current; its `key`
says which ops it appends given the shape of that input, so two segments with equal keys
on equal input shapes append identical ops. The full graph and the per-segment graphs
come from the same `build` functions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from graphs.builder import NetBuilder, Trace, replay_parts
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from graphs.ops import Shape


@dataclass(frozen=True)
class Segment:
    key: Hashable
    scope: str  # prefix of its op names in the full graph
    build: Callable[[NetBuilder], Any]
    # It appends the same parts (`NetBuilder.part`), wired alike, at every input shape (a
    # cell): built once, it is appended at another shape from its parts' records.
    generic: bool = False


def assemble(name: str, input_shape: Shape, segments: Sequence[Segment], meta: dict[str, Any]) -> OpGraph:
    """The full graph: every segment in order on one builder."""
    b = NetBuilder(name, input_shape, meta=meta)
    for segment in segments:
        with b.scope(segment.scope):
            segment.build(b)
    return b.build()


def segment_graph(segment: Segment, input_shape: Shape) -> FlatGraph:
    """One segment alone, reading a graph input of `input_shape`."""
    return traced_segment_graph(segment, input_shape)[0]


def traced_segment_graph(segment: Segment, input_shape: Shape) -> tuple[FlatGraph, Trace | None]:
    """`segment_graph` and the parts it appended, if only parts (`replayed_segment_graph`)."""
    b = NetBuilder(segment.scope, input_shape, trace=segment.generic)
    segment.build(b)
    return b.graph.flat(), b.trace()


def replayed_segment_graph(segment: Segment, trace: Trace, input_shape: Shape) -> FlatGraph | None:
    """`segment_graph` of a generic segment whose build at some shape gave `trace`, from
    its parts' records at `input_shape` (None where one is missing)."""
    parts = replay_parts(trace, input_shape)
    return None if parts is None else FlatGraph(segment.scope, *parts, (tuple(input_shape),), ("input",))
