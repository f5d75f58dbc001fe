"""Model specs: the one parser for `name`, `name(key=value, ...)` and graph file paths.

Used by the CLI, the Python API and reference CSV files alike.
"""

from __future__ import annotations

import ast
import keyword
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphs.batch import DYNAMIC_BATCH_META, check_batch, with_batch
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Shape
from graphs.registry import ModelEntry, entry

GRAPH_SUFFIXES = (".json", ".onnx", ".tflite")
# The longest spec the parser reads: search-space points take ~200 characters; a longer
# text is a mistake, and echoing it would bury the error line.
MAX_SPEC = 2000
# A model is a spec string, a path, an OpGraph, an onnx.ModelProto or a torch.nn.Module.
Model = str | os.PathLike | OpGraph | Any
# Input shapes: one shape (a model with one input), input name → shape, or for a torch
# module with several inputs one shape per forward argument.
InputShape = Shape | Mapping[str, Shape] | Sequence[Shape]


def is_path_spec(spec: str) -> bool:
    return spec.strip().lower().endswith(GRAPH_SUFFIXES)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split `name(key=value, ...)` into the name and its options (Python literals).

    A bare word as a value is read as a string, so `ssdlite(backbone=mobilenet_v2)` works.
    """
    if not isinstance(spec, str):
        raise EdgesimError(f"a model spec is a string or an OpGraph, not {type(spec).__name__}")
    text = spec.strip()
    if len(text) > MAX_SPEC:
        raise EdgesimError(f"model spec {text[:60]!r}… is {len(text)} characters long; at most {MAX_SPEC}")
    simple = _simple_spec(text)
    if simple is not None:
        return simple
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise EdgesimError(
            f"model spec {spec!r} is not `name` or `name(key=value, ...)`"
        ) from None
    if isinstance(tree, ast.Name):
        return tree.id, {}
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name) or tree.args:
        raise EdgesimError(
            f"model spec {spec!r}: write options as keywords, e.g. name(width=0.75)"
        )
    options: dict[str, Any] = {}
    for kw in tree.keywords:
        if kw.arg is None:
            raise EdgesimError(f"model spec {spec!r}: `**` is not allowed")
        if kw.arg in options:
            raise EdgesimError(f"model spec {spec!r}: option {kw.arg!r} is given twice")
        if isinstance(kw.value, ast.Name):
            options[kw.arg] = kw.value.id
            continue
        try:
            options[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise EdgesimError(
                f"model spec {spec!r}: the value of {kw.arg!r} is not a literal"
            ) from None
        if not _finite(options[kw.arg]):
            raise EdgesimError(f"model spec {spec!r}: option {kw.arg}={options[kw.arg]!r} is not a finite number")
    return tree.func.id, options


# `name` or `name(key='text', ...)`, as `format_spec` writes search-space points, read
# without `ast` (4x faster: search loops parse thousands of new specs), giving what `ast`
# gives; anything else (other literals, escapes, keywords, repeats) takes `ast`.
_OPTION = r"([A-Za-z_][A-Za-z0-9_]*)='([^'\\\n\r\x00]*)'"
_SIMPLE_SPEC = re.compile(rf"([A-Za-z_][A-Za-z0-9_]*)\(((?:{_OPTION}(?:, {_OPTION})*)?)\)")
_SIMPLE_OPTION = re.compile(_OPTION)


def _simple_spec(text: str) -> tuple[str, dict[str, Any]] | None:
    if text.isascii() and text.isidentifier():
        return None if keyword.iskeyword(text) else (text, {})
    match = _SIMPLE_SPEC.fullmatch(text)
    if match is None:
        return None
    pairs = _SIMPLE_OPTION.findall(match[2])
    options = dict(pairs)
    if len(options) != len(pairs) or any(keyword.iskeyword(w) for w in (match[1], *options)):
        return None  # an option given twice, or a keyword: `ast` says what is wrong
    return match[1], options


def _finite(value: Any) -> bool:
    """False for inf/nan floats and complex numbers, also inside lists, tuples and sets."""
    if isinstance(value, complex):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple | set | frozenset):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(k) and _finite(v) for k, v in value.items())
    return True


def _type_matches(value: Any, default: Any) -> bool:
    """Whether an option value fits the type of the builder's default (an int is a float)."""
    if default is None:
        return True
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _check_options(model: ModelEntry, options: dict[str, Any]) -> dict[str, Any]:
    defaults = model.defaults()
    valid = ", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "none"
    for key, value in options.items():
        if key not in defaults:
            raise EdgesimError(f"{model.name}: unknown option {key!r}; valid options: {valid}")
        want = defaults[key]
        ok = _type_matches(value, want)
        if not ok:
            raise EdgesimError(
                f"{model.name}: option {key}={value!r} should be a {type(want).__name__}; "
                f"valid options: {valid}"
            )
    return options


def canonical(spec: str) -> str:
    """The spec with its options sorted and those equal to the defaults dropped."""
    if is_path_spec(spec):
        return spec.strip()
    name, options = parse_spec(spec)
    model = entry(name)
    batch = _batch_option(spec, options)
    _check_options(model, options)
    defaults = model.defaults()
    kept = {k: v for k, v in sorted(options.items()) if defaults.get(k) != v}
    if batch != 1:
        kept = dict(sorted({**kept, "batch": batch}.items()))
    if not kept:
        return name
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kept.items())})"


def build(
    model: Model, allow_unknown: bool = False, input_shape: InputShape | None = None, batch: int | None = None
) -> OpGraph:
    """The graph of a model: a spec string (zoo model, search-space point, or a .json,
    .onnx or .tflite path), a `pathlib.Path`, an `OpGraph`, an `onnx.ModelProto`, or a
    `torch.nn.Module` (exported to ONNX in memory, then read like an ONNX file), or a
    search space's numpy integer code (`code_spec`).

    `allow_unknown`: ONNX/TFLite ops without an edgesim kind become `unknown` ops instead of
    an error. `input_shape` fixes an ONNX model's dynamic input dimensions and is required
    for a torch module (the shape of the example input it is traced with). The batch size
    is the spec's `batch=B` option or `batch` (they must agree); a model file or object
    takes one only where its input's batch axis was dynamic."""
    if batch is not None:
        check_batch(batch, "--batch")
    model = code_spec(model)
    if isinstance(model, str) and not is_path_spec(model):
        _no_input_shape(input_shape, f"model {model!r}", "zoo models take resolution=")
        return _build_spec(model, batch)
    if isinstance(model, OpGraph):
        _no_input_shape(input_shape, f"graph {model.name!r}", "its shapes are fixed")
        return model if batch is None else with_batch(model, batch)
    graph = _read_model(model, allow_unknown, input_shape)
    if batch in (None, 1):
        return graph
    if not graph.meta.get(DYNAMIC_BATCH_META):
        raise EdgesimError(
            f"{graph.meta.get('source', graph.name)}: its input has a fixed batch size; export it "
            f"with a dynamic batch axis to price batch {batch}"
        )
    return with_batch(graph, batch)


def _build_spec(spec: str, batch: int | None) -> OpGraph:
    name, options = parse_spec(spec)
    model = entry(name)
    spec_batch = _batch_option(spec, options)
    if batch is not None and "batch" in parse_spec(spec)[1] and batch != spec_batch:
        raise EdgesimError(f"{spec}: batch={spec_batch} in the spec but batch {batch} asked for")
    try:
        graph = model.builder(**_check_options(model, options))
    except (ValueError, KeyError, IndexError, OverflowError, ZeroDivisionError, MemoryError) as exc:
        raise EdgesimError(f"{spec}: {exc}") from None
    return with_batch(graph, spec_batch if batch is None else batch)


def _batch_option(spec: str, options: dict[str, Any]) -> int:
    """Remove the `batch` option every model spec accepts from `options`; its value (1
    when absent)."""
    return check_batch(options.pop("batch", 1), f"{spec.strip()}: batch")


def _read_model(model: Model, allow_unknown: bool, input_shape: InputShape | None) -> OpGraph:
    """The graph of a model file (path) or of an in-memory ONNX model or torch module."""
    if isinstance(model, str | os.PathLike):
        return _load_file(Path(str(model).strip()), allow_unknown, input_shape)
    onnx = sys.modules.get("onnx")  # a ModelProto can only exist if onnx is imported
    if onnx is not None and isinstance(model, onnx.ModelProto):
        from graphs.importers.onnx import load_onnx

        return load_onnx(model, allow_unknown, named_shapes(input_shape))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        from graphs.importers.pytorch import load_module

        return load_module(model, input_shape, allow_unknown)
    raise EdgesimError(
        "a model is a spec string, a path to a .json/.onnx/.tflite file, an OpGraph, an "
        f"onnx.ModelProto or a torch.nn.Module, not {type(model).__name__}"
    )


def code_spec(model: Model) -> Model:
    """A search-space point given as a numpy array of integer codes (`graphs.spaces.<space>.encode`)
    as its model spec, with the space's default options (`graphs.spaces.code_space` names the
    space). Anything else is returned as it is."""
    numpy = sys.modules.get("numpy")  # an array can only exist if numpy is imported
    if numpy is None or not isinstance(model, numpy.ndarray):
        return model
    if model.ndim != 1 or model.dtype.kind not in "iu":
        raise EdgesimError(
            f"a numpy array as a model must be one search-space code (1-D integers), not a "
            f"{model.ndim}-D {model.dtype} array"
        )
    from graphs.spaces import spec_of_code

    return spec_of_code(model)


def named_shapes(input_shape: InputShape | None) -> dict[str | None, Shape]:
    """Input name → shape; a single shape is keyed `None` (the model's only input)."""
    if input_shape is None:
        return {}
    if isinstance(input_shape, Mapping):
        return {name: tuple(shape) for name, shape in input_shape.items()}
    if all(isinstance(d, int) for d in input_shape):
        return {None: tuple(input_shape)}
    raise EdgesimError(
        f"input_shape {input_shape!r}: give one shape such as (1, 3, 224, 224) or a dict "
        "input name → shape"
    )


def parse_input_shapes(texts: Sequence[str]) -> dict[str | None, Shape]:
    """`--input-shape` values, `NAME=1x3x224x224` or `1x3x224x224` (the only input)."""
    shapes: dict[str | None, Shape] = {}
    for text in texts:
        name, _, dims = text.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            shape = ()
        if not shape or any(d <= 0 for d in shape):
            raise EdgesimError(
                f"--input-shape {text!r}: write NAME=1x3x224x224 (positive sizes joined by x)"
            )
        shapes[name or None] = shape
    return shapes


def _no_input_shape(input_shape: InputShape | None, what: str, why: str) -> None:
    if input_shape:
        raise EdgesimError(f"{what}: an input shape applies to ONNX models and torch modules; {why}")


def published_accuracy(spec: str) -> tuple[float, str, str] | None:
    """(value, metric, source) of the published accuracy of a zoo variant, if any."""
    if is_path_spec(spec):
        return None
    name, options = parse_spec(spec)
    options.pop("batch", None)  # accuracy is per sample
    key = canonical(f"{name}({', '.join(f'{k}={v!r}' for k, v in options.items())})")
    model = entry(name)
    if key not in model.accuracy:
        return None
    return model.accuracy[key], model.metric, model.accuracy_source


def _load_file(path: Path, allow_unknown: bool, input_shape: InputShape | None) -> OpGraph:
    suffix = path.suffix.lower()
    if suffix not in GRAPH_SUFFIXES:
        raise EdgesimError(
            f"{path}: unknown model file type {suffix or '(no suffix)'!r}; "
            f"edgesim reads {', '.join(GRAPH_SUFFIXES)} files"
        )
    if not path.exists():
        raise EdgesimError(f"{path}: no such model file")
    if suffix == ".json":
        _no_input_shape(input_shape, str(path), "a saved graph's shapes are fixed")
        return OpGraph.load(path)
    if suffix == ".tflite":
        _no_input_shape(input_shape, str(path), "a TFLite file's shapes are fixed")
        try:
            from graphs.importers.tflite import load_tflite
        except ImportError:
            raise EdgesimError(
                f"{path}: reading TFLite needs the tflite extra: pip install 'edgesim[tflite]'"
            ) from None
        return load_tflite(path, allow_unknown=allow_unknown)
    try:
        from graphs.importers.onnx import load_onnx
    except ImportError:
        raise EdgesimError(
            f"{path}: reading ONNX needs the onnx extra: pip install 'edgesim[onnx]'"
        ) from None
    return load_onnx(path, allow_unknown=allow_unknown, input_shapes=named_shapes(input_shape))
