"""Pricing a network segment by segment, for search loops.

A network written as a chain of segments (`graphs.segments`) costs the sum of its
segments' op costs plus the graph-level terms, provided nothing the engine does crosses a
segment boundary. `SegmentPricer` prices each distinct segment once (per input shape) and
returns None whenever that proviso fails, so the caller falls back to `engine.run` on the
whole graph: an op the device cannot run (placement and hand-overs are graph-wide), a
segment whose output does not depend on its input (liveness is graph-wide), a boundary
where a batch norm or activation would fold or fuse into the op that ends the previous
segment, or a segment with a second output.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from graphs.builder import Trace
from graphs.flat import FlatGraph, canonical_ops
from graphs.ops import MAC_KINDS, Kind, Op, Shape
from graphs.segments import Segment, replayed_segment_graph, segment_graph, traced_segment_graph
from simulator.engine.pricing import cost_model, host_model
from simulator.engine.rewrite import kinds, plan
from simulator.engine.terms import inference_terms, link_transfer
from simulator.hardware.profile import Profile
from simulator.results import Term, TermKind


@dataclass(frozen=True, slots=True)
class SegmentCost:
    latency_s: float  # of its ops
    energy_j: float
    device_ops: tuple[Op, ...]  # the ops that run, in order
    output_shape: Shape
    empty: bool  # no ops: the input passes through
    # the producer kinds its input's only reader would fold or fuse into upstream
    input_merges_into: frozenset[Kind]
    output_kind: Kind  # of the op its output comes from (merges included)


_NOTHING: frozenset[Kind] = frozenset()  # one object for every segment's "merges into nothing"


class SegmentPricer:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.device = cost_model(profile)
        self.host = host_model(profile)  # it pays for the call into the device
        self._cache: dict[tuple, SegmentCost | None] = {}
        self.offload = profile.offload is not None
        self._links: dict[tuple[Shape, Shape], tuple[Term, ...]] = {}
        self._trace: tuple[Hashable, Trace | None] = (None, None)  # the last generic segment's key and trace

    def price(self, segments: Sequence[Segment], input_shape: Shape) -> tuple[float, float] | None:
        """(latency in s, energy in J) of the chain, or None where it must be priced whole."""
        shape = input_shape
        latency = energy = 0.0
        device_ops: list[Op] = []
        tail = None
        key = seen = cost = None
        for segment in segments:
            if segment.key is not key or shape != seen:  # not the last segment again (a stage's cells)
                key, seen = segment.key, shape
                cost = self._cache.get((key, shape), False)  # `segment_cost`, inlined: this loop runs per candidate
                if cost is False:
                    cost = self._cache[key, shape] = self._segment(segment, shape)
                if cost is None:
                    return None
            if cost.empty:
                continue
            if tail in cost.input_merges_into:
                return None
            latency += cost.latency_s  # floats, not `Cost +`: this loop runs per candidate
            energy += cost.energy_j
            device_ops.extend(cost.device_ops)
            shape = cost.output_shape
            tail = cost.output_kind
        terms = inference_terms(self.profile, self.device, device_ops, latency, self.link_terms(input_shape, shape),
                                self.host)
        return latency + sum(t.latency_s for t in terms), energy + sum(t.energy_j for t in terms)

    def segment_cost(self, segment: Segment, input_shape: Shape) -> SegmentCost | None:
        """One segment on an input of `input_shape`, as `price` costs it (None: not alone)."""
        key = (segment.key, input_shape)
        cost = self._cache.get(key, False)
        if cost is False:
            cost = self._cache[key] = self._segment(segment, input_shape)
        return cost

    def link_terms(self, input_shape: Shape, output_shape: Shape) -> tuple[Term, ...]:
        """The input and output over the host link (none without one)."""
        if not self.offload:
            return ()
        links = self._links.get((input_shape, output_shape))
        if links is None:
            links = self._links[input_shape, output_shape] = self._new_link_terms(input_shape, output_shape)
        return links

    def _new_link_terms(self, input_shape: Shape, output_shape: Shape) -> tuple[Term, ...]:
        """Every op ran on the device, so the only link traffic is the input and the output."""
        return (
            link_transfer(self.profile, TermKind.INPUT, "input", input_shape),
            link_transfer(self.profile, TermKind.OUTPUT, "output", output_shape),
        )

    def _graph(self, segment: Segment, input_shape: Shape) -> FlatGraph:
        """The segment's graph; a generic one (a cell) priced at another shape just before
        is appended from its parts' records, not built (an arch's cells come one stage
        after another, so the last trace is the one kept)."""
        if not segment.generic:
            return segment_graph(segment, input_shape)
        if self._trace[0] == segment.key:
            graph = replayed_segment_graph(segment, self._trace[1], input_shape)
            if graph is not None:
                return graph
        graph, trace = traced_segment_graph(segment, input_shape)
        if trace is not None:
            self._trace = (segment.key, trace)
        return graph

    def _segment(self, segment: Segment, input_shape: Shape) -> SegmentCost | None:
        graph = self._graph(segment, input_shape)
        if not graph.ops:
            return SegmentCost(0.0, 0.0, (), input_shape, True, _NOTHING, Kind.UNKNOWN)
        runtime = self.profile.runtime
        rewritten = plan(graph, runtime)
        last = len(graph.ops) - 1
        if graph.outputs != (last,):
            return None
        if runtime.prune_dead_ops and not (
            rewritten.kept
            and rewritten.outputs == (rewritten.kept[-1],)
            and any(-1 in srcs for srcs in rewritten.sources)
        ):
            return None  # the output is dead or constant: liveness crosses the boundary
        ops = [graph.ops[i] for i in rewritten.kept]
        device = self.device
        latency = energy = 0.0  # floats, in op order, as `pricing.run` sums them
        for op in ops:
            if device.unsupported(op):
                return None
            cost = device.cost(op)
            latency += cost.latency_s
            energy += cost.energy_j
        # The ops reading the input, duplicates merged as the runtime merges them.
        canon = canonical_ops(graph) if runtime.merge_duplicates else range(len(graph.ops))
        readers = {canon[i] for i, srcs in enumerate(graph.sources) if -1 in srcs}
        merges_into = _NOTHING
        if len(readers) == 1 and graph.sources[reader := readers.pop()] == (-1,):
            first = graph.ops[reader]
            if first.kind == Kind.BATCH_NORM and runtime.fold_batch_norm:
                merges_into = MAC_KINDS
            elif first.kind in runtime.fused_activations:
                merges_into = kinds(runtime.fuse_into)
        return SegmentCost(
            latency,
            energy,
            tuple(ops),
            graph.ops[last].output,
            False,
            merges_into,
            graph.ops[rewritten.outputs[0]].kind,
        )

