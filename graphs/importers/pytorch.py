"""torch.nn.Module → `OpGraph`: exported to ONNX in memory, then read by the ONNX importer.

The TorchScript exporter (`dynamo=False`) traces the module once with zero inputs of the
given shapes; it needs no onnxscript and keeps every layer as the module wrote it.
Constant folding is left to edgesim's importer: torch's own folding would merge batch
norms into the convs before them, and whether that happens is the device runtime's
choice (the profile's `[runtime] fold_batch_norm`), not the model's.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from typing import Any

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Shape


def load_module(module: Any, input_shape: Any, allow_unknown: bool = False) -> OpGraph:
    """The graph of a `torch.nn.Module` traced at `input_shape`: one shape, or one shape
    per positional argument of `forward`."""
    import onnx
    import torch

    name = type(module).__name__
    shapes = _shapes(input_shape, name)
    names = ["input"] if len(shapes) == 1 else [f"input{i}" for i in range(len(shapes))]
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
            torch.onnx.export(
                module, tuple(torch.zeros(s) for s in shapes), buffer, dynamo=False,
                training=torch.onnx.TrainingMode.EVAL, do_constant_folding=False,
                input_names=names,
            )
    except Exception as exc:  # a forward that fails at this shape, an op ONNX lacks, ...
        first = (str(exc).strip().splitlines() or [""])[0]
        raise EdgesimError(
            f"torch module {name}: export to ONNX at input shape "
            f"{', '.join('x'.join(map(str, s)) for s in shapes)} failed ({type(exc).__name__}: {first})"
        ) from None
    model = onnx.load_from_string(buffer.getvalue())
    model.graph.name = name
    from graphs.importers.onnx import load_onnx

    graph = load_onnx(model, allow_unknown=allow_unknown)
    graph.meta["source"] = f"torch module {name}"
    graph.meta["format"] = "torch"
    return graph


def _shapes(input_shape: Any, name: str) -> list[Shape]:
    if input_shape is None or isinstance(input_shape, Mapping):
        raise EdgesimError(
            f"torch module {name}: give input_shape=(1, 3, 224, 224) (one shape per "
            "forward argument for several), the shape it is traced at"
        )
    shapes = [input_shape] if all(isinstance(d, int) for d in input_shape) else list(input_shape)
    for shape in shapes:
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            raise EdgesimError(f"torch module {name}: input shape {shape!r} must be positive integers")
    return [tuple(s) for s in shapes]
