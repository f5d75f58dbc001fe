"""Batch size: one graph of B samples from a batch-1 graph.

Every tensor of the IR leads with the batch axis (NCHW activations, N×F dense features),
so B samples are the batch-1 graph with that axis scaled by B on every op: MACs and
activation bytes scale with B, weights do not (an op reads its weights once per batch).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph

BATCH_META = "batch"
DYNAMIC_BATCH_META = "dynamic_batch"  # set by importers whose input's batch axis was symbolic


def check_batch(value: Any, where: str = "batch") -> int:
    """`value` as a batch size: an int of at least 1 (one-line error otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise EdgesimError(f"{where} must be a whole number of samples (1, 2, ...), not {value!r}")
    if value < 1:
        raise EdgesimError(f"{where} must be at least 1, not {value}")
    return value


def with_batch(graph: OpGraph, batch: int) -> OpGraph:
    """`graph` (batch 1: every input and op output leads with 1) at batch `batch`."""
    batch = check_batch(batch)
    if batch == 1:
        return graph
    for name, shape in graph.inputs.items():
        if not shape or shape[0] != 1:
            raise EdgesimError(
                f"graph {graph.name!r}: input {name!r} has shape {list(shape)}, not batch 1; "
                "a batch size applies to batch-1 graphs"
            )
    scaled = OpGraph(
        graph.name,
        {name: _scaled(shape, batch) for name, shape in graph.inputs.items()},
        {**graph.meta, BATCH_META: batch},
    )
    for op in graph.ops():
        if any(not s or s[0] != 1 for s in (*op.inputs, op.output)):
            raise EdgesimError(
                f"graph {graph.name!r}: op {op.name!r} has a tensor that does not lead with "
                "the batch axis; this graph cannot take a batch size"
            )
        scaled.add(
            dataclasses.replace(
                op, inputs=tuple(_scaled(s, batch) for s in op.inputs), output=_scaled(op.output, batch)
            ),
            graph.sources(op.name),
        )
    return scaled


def per_sample(graph: FlatGraph) -> tuple[FlatGraph, int] | None:
    """(`graph` at one sample, its batch size) where every tensor leads with the batch size
    B > 1 of its first input; None for a batch-1 graph or one whose tensors do not all
    lead with B (then it cannot be split into B samples)."""
    batch = graph.inputs[0][0] if graph.inputs and graph.inputs[0] else 1
    if batch <= 1 or any(not s or s[0] != batch for s in graph.inputs):
        return None
    ops = []
    for op in graph.ops:
        if any(not s or s[0] != batch for s in (*op.inputs, op.output)):
            return None
        ops.append(dataclasses.replace(
            op, inputs=tuple(_scaled(s, 1, batch) for s in op.inputs), output=_scaled(op.output, 1, batch)))
    inputs = tuple(_scaled(s, 1, batch) for s in graph.inputs)
    return FlatGraph(graph.name, tuple(ops), graph.sources, inputs, graph.input_names), batch


def _scaled(shape: tuple[int, ...], batch: int, of: int = 1) -> tuple[int, ...]:
    """`shape` with its leading axis from `of` samples to `batch`."""
    return (shape[0] // of * batch, *shape[1:])
