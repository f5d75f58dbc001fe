"""ONNX → `OpGraph`: fix the input size, fold constant subgraphs, lower each node to the IR.

Steps:

1. Read the file (a truncated file and a file that is not ONNX are told apart).
2. Fix the input size: shapes given as `input_shapes` replace the declared ones; a
   dynamic batch dimension left becomes 1 (noted in `graph.meta["notes"]`); any other
   dynamic dimension is an error naming the input, since op costs depend on it.
3. Fold constants: `Constant` nodes, nodes whose inputs are all constants (initializer-only
   computations such as weight transposes) and `Shape`/`Size` of tensors of known shape,
   so the `Shape → Gather → Unsqueeze → Concat → Reshape` chains of PyTorch exports leave
   no ops behind. ONNX shape inference and folding alternate until nothing more folds.
4. Recognise patterns that are one op in the IR: `x * Sigmoid(x)` (swish),
   `x * HardSigmoid(x)` (hard swish), the erf form of GELU, ShuffleNet's
   Reshape → Transpose → Reshape channel shuffle, and MatMul + constant Add (dense with
   bias).
5. Lower every remaining node; IR input shapes are always their producer's output shape,
   so the result passes `validate()`.

Lowering choices worth knowing:

- `Clip(0, 6)` is relu6 and `Clip(0, ∞)` relu; any other clip range is lowered to relu6
  with `attrs["clip"] = (low, high)` (the same elementwise work, different bounds).
- `Sub` lowers to add and `Div` to mul. A binary op with one constant operand becomes a
  one-input op; a `Mul` by an all-zero constant is tagged "zero" (the NAS-Bench-201 `none`
  edge), and so is every op all of whose inputs come from "zero" ops: its value does not
  depend on the network input (the convention of `graphs.spaces.nasbench201`).
- `ReduceMean` over H and W is global_avg_pool; `GlobalMaxPool` is a max_pool whose window
  is the whole map.
- `Identity` and `Dropout` are aliases, not ops.
- An op the IR has no kind for is an error listing every such op type and its count; with
  `allow_unknown=True` it becomes an op of kind `unknown` tagged "unknown" with
  `attrs["onnx_op"]` naming the ONNX type (cost models price it as one elementwise pass).
  A multi-output unknown node gives one such op per output it feeds forward.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, external_data_helper, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from graphs.batch import DYNAMIC_BATCH_META
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.importers import unique_name
from graphs.ops import Kind, Op, Shape

_BITS = {
    TensorProto.FLOAT: 32, TensorProto.DOUBLE: 64, TensorProto.FLOAT16: 16,
    TensorProto.BFLOAT16: 16, TensorProto.INT8: 8, TensorProto.UINT8: 8,
}
# Initializers larger than this are handed to shape inference as typed inputs without
# data: only their shape matters to it, and copying a VGG's 550 MB of weights on every
# inference round would dominate the import time.
_SHAPE_ONLY_ELEMENTS = 4096
_NUMERIC = set(_BITS) | {TensorProto.INT32, TensorProto.INT64, TensorProto.UINT16, TensorProto.INT16,
                         TensorProto.UINT32, TensorProto.UINT64, TensorProto.BOOL}
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
               "Multinomial", "Bernoulli"}


def load_onnx(
    source: str | Path | onnx.ModelProto,
    allow_unknown: bool = False,
    input_shapes: Mapping[str | None, Shape] | None = None,
) -> OpGraph:
    """Read an ONNX model (a file or a `ModelProto`) into a validated `OpGraph` (batch 1,
    static shapes). `input_shapes` fixes dynamic input dimensions: input name → shape, or
    `None` → shape for a model with a single input."""
    if isinstance(source, onnx.ModelProto):
        model, label, name = source, f"ONNX model {source.graph.name or 'graph'!r}", source.graph.name
        origin = "<ModelProto>"
    else:
        path = Path(source)
        model, label, name, origin = _read(path), str(path), path.stem, str(path)
    notes: list[str] = []
    opset = next(
        (imp.version for imp in model.opset_import if imp.domain in ("", "ai.onnx")), 0
    )
    if not opset:
        raise EdgesimError(f"{label}: the model declares no ONNX opset; re-export it")
    _check_structure(model.graph, label)
    inputs, dynamic_batch = _fixed_inputs(model.graph, label, notes, dict(input_shapes or {}))
    folded = _Folded.run(model.graph, inputs, opset, label, notes)
    meta = {
        "source": origin,
        "format": "onnx",
        "onnx_opset": opset,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "notes": notes,
        DYNAMIC_BATCH_META: dynamic_batch,
    }
    graph = OpGraph(name or "model", {n: shape for n, (shape, _) in inputs.items()}, meta)
    _Lowering(graph, folded, label, allow_unknown).run()
    return graph.validate()


# -- reading --------------------------------------------------------------------------
def _read(path: Path) -> onnx.ModelProto:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read model file ({exc.strerror})") from None
    # A serialized ModelProto starts with field 1 (ir_version, a varint): tag byte 0x08.
    # Anything else (text, JSON, an image, a TFLite flatbuffer) is not ONNX at all.
    if not data or data[0] != 0x08:
        raise EdgesimError(
            f"{path}: not an ONNX model (it does not start like a serialized ONNX "
            "ModelProto); give a .onnx file exported by torch.onnx, tf2onnx or edgesim export"
        )
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError:
        model = None
    # Protobuf fields are written in field order, so a file cut after the graph still
    # parses but has lost the opset list that follows it.
    if model is None or not model.HasField("graph") or not model.opset_import:
        raise EdgesimError(
            f"{path}: truncated or corrupt ONNX file ({len(data)} bytes cannot be parsed "
            "completely); copy or export the model again"
        )
    if any(_is_external(t) for t in model.graph.initializer):
        try:  # models over 2 GB keep their weights in files next to the model
            external_data_helper.load_external_data_for_model(model, str(path.parent))
        except (OSError, onnx.checker.ValidationError) as exc:
            raise EdgesimError(
                f"{path}: cannot read its external weight file ({exc}); keep the files "
                "that came with the model next to it"
            ) from None
    return model


def _check_structure(graph: onnx.GraphProto, label: str | Path) -> None:
    """What the importer relies on, as one-line errors naming the node or input: at least
    one node; numeric inputs whose fixed sizes are positive; every tensor a node reads
    defined earlier (a graph input, an initializer or an earlier node's output: ONNX keeps
    nodes in topological order, so this also rules out cycles); no tensor written twice."""
    if not graph.node:
        raise EdgesimError(f"{label}: the graph has no nodes")
    names = [v.name for v in (*graph.input, *graph.output, *graph.initializer)]
    names += [t for n in graph.node for t in (n.name, n.op_type, n.domain, *n.input, *n.output)]
    if not all(isinstance(name, str) for name in names):  # protobuf hands invalid UTF-8 back as bytes
        raise EdgesimError(f"{label}: a tensor or node name is not UTF-8 text; the file is corrupt")
    initializers = {t.name for t in graph.initializer}
    for value in graph.input:
        if value.name in initializers:
            continue
        ttype = value.type.tensor_type
        if not value.type.HasField("tensor_type") or ttype.elem_type not in _NUMERIC:
            kind = TensorProto.DataType.Name(ttype.elem_type) if ttype.elem_type else "not a tensor"
            raise EdgesimError(f"{label}: input {value.name!r} is {kind}; edgesim prices numeric tensors only")
        for axis, dim in enumerate(ttype.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value <= 0:
                what = "batch size" if axis == 0 else f"size on dimension {axis}"
                raise EdgesimError(f"{label}: input {value.name!r} has {what} {dim.dim_value}; sizes are positive")
    defined = initializers | {v.name for v in graph.input}
    for node in graph.node:
        name = node.name or (node.output[0] if node.output else "")
        where = f"{label}: node {name!r} ({node.op_type})"
        for tensor in node.input:
            if tensor and tensor not in defined:
                later = any(tensor in n.output for n in graph.node)
                why = ("a later node computes it: the nodes form a cycle or are out of topological order"
                       if later else "no input, initializer or node defines it")
                raise EdgesimError(f"{where} reads tensor {tensor!r}, but {why}")
        for tensor in node.output:
            if tensor and tensor in defined:
                raise EdgesimError(f"{where} writes tensor {tensor!r}, which is already defined")
            defined.add(tensor)
    for value in graph.output:
        if value.name not in defined:
            raise EdgesimError(f"{label}: output {value.name!r} is not computed by any node")


def _is_external(tensor: TensorProto) -> bool:
    return tensor.data_location == TensorProto.EXTERNAL


def _fixed_inputs(
    graph: onnx.GraphProto, label: str, notes: list[str], given: dict[str | None, Shape]
) -> tuple[dict[str, tuple], bool]:
    """Graph inputs (not initializers) → (static shape, element type): the shapes the user
    gave, else the declared ones with a dynamic batch set to 1; and whether a batch axis
    was dynamic and is 1 (the graph can then take any batch size)."""
    initializers = {t.name for t in graph.initializer}
    values = [v for v in graph.input if v.name not in initializers]  # IR < 4 lists weights too
    names = [v.name for v in values]
    if None in given:
        if len(values) != 1:
            raise EdgesimError(
                f"{label}: the model has {len(values)} inputs ({', '.join(names)}); "
                "name the one each shape is for: NAME=1x3x224x224"
            )
        given = {names[0]: given.pop(None), **given}
    for name in given:
        if name not in names:
            raise EdgesimError(
                f"{label}: an input shape is given for {name!r}, which is not an input; "
                f"inputs: {', '.join(names)}"
            )
    out: dict[str, tuple] = {}
    dynamic_batch = False
    for value in values:
        ttype = value.type.tensor_type
        shape = given.get(value.name)
        if shape is not None:
            out[value.name] = (_given_shape(value, tuple(shape), label), ttype.elem_type)
            batch_axis = ttype.shape.dim[0] if ttype.HasField("shape") else None
            dynamic_batch |= shape[0] == 1 and not (batch_axis is not None and batch_axis.dim_value > 0)
            continue
        if not ttype.HasField("shape"):
            raise EdgesimError(
                f"{label}: input {value.name!r} has no shape; give one "
                f"(--input-shape {value.name}=1x3x224x224, or input_shape= in Python)"
            )
        dims = []
        for axis, dim in enumerate(ttype.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                dims.append(dim.dim_value)
                continue
            label_dim = dim.dim_param or "?"
            if axis == 0:
                dims.append(1)
                dynamic_batch = True
                notes.append(f"input {value.name!r}: dynamic batch dimension {label_dim!r} set to 1")
                continue
            declared = "x".join(d.dim_param or str(d.dim_value or "?") for d in ttype.shape.dim)
            raise EdgesimError(
                f"{label}: input {value.name!r} ({declared}) has a dynamic dimension {axis} "
                f"({label_dim!r}); costs depend on it: give the shape "
                f"(--input-shape {value.name}=1x3x224x224, or input_shape= in Python)"
            )
        out[value.name] = (tuple(dims), ttype.elem_type)
    return out, dynamic_batch


def _given_shape(value: onnx.ValueInfoProto, shape: Shape, label: str) -> Shape:
    """A user's shape for an input: positive, of the declared rank, equal on static axes."""
    if not shape or any(not isinstance(d, int | np.integer) or d <= 0 for d in shape):
        raise EdgesimError(f"{label}: input shape {shape} for {value.name!r} must be positive integers")
    ttype = value.type.tensor_type
    if not ttype.HasField("shape"):
        return tuple(int(d) for d in shape)
    declared = ttype.shape.dim
    if len(declared) != len(shape):
        raise EdgesimError(
            f"{label}: input {value.name!r} has {len(declared)} dimensions, the shape given "
            f"{'x'.join(map(str, shape))} has {len(shape)}"
        )
    for axis, (dim, want) in enumerate(zip(declared, shape, strict=True)):
        if dim.HasField("dim_value") and dim.dim_value > 0 and dim.dim_value != want:
            raise EdgesimError(
                f"{label}: input {value.name!r} has a fixed dimension {axis} of {dim.dim_value}; "
                f"the shape given sets it to {want}"
            )
    return tuple(int(d) for d in shape)


# -- constant folding and shapes ------------------------------------------------------
@dataclass
class _Folded:
    """The graph after folding: remaining nodes, constants, static shapes, element types."""

    nodes: list[onnx.NodeProto]
    consts: dict[str, np.ndarray]
    shapes: dict[str, Shape | None]
    types: dict[str, int]
    outputs: list[str]
    opset: int
    notes: list[str] = field(default_factory=list)
    unfoldable: set[int] = field(default_factory=set)  # ids of nodes that failed to fold

    @classmethod
    def run(
        cls,
        graph: onnx.GraphProto,
        inputs: dict[str, tuple],
        opset: int,
        path: str,
        notes: list[str],
    ) -> _Folded:
        consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for name in inputs:
            consts.pop(name, None)
        state = cls(list(graph.node), consts, {}, {}, [o.name for o in graph.output], opset, notes)
        while True:
            state._infer(graph, inputs, path)
            if not state._fold_pass():
                return state

    def _infer(self, graph: onnx.GraphProto, inputs: dict[str, tuple], path: str) -> None:
        used = {name for node in self.nodes for name in node.input if name in self.consts}
        small, shape_only = [], []
        for name in sorted(used):
            value = self.consts[name]
            if value.size > _SHAPE_ONLY_ELEMENTS and value.dtype.kind == "f":
                elem = helper.np_dtype_to_tensor_dtype(value.dtype)
                shape_only.append(helper.make_tensor_value_info(name, elem, value.shape))
            else:
                small.append(numpy_helper.from_array(value, name))
        outputs = []
        for value in graph.output:
            if value.name not in self.consts:
                out = onnx.ValueInfoProto()
                out.CopyFrom(value)
                out.type.tensor_type.ClearField("shape")  # stale or symbolic: re-inferred
                outputs.append(out)
        view = helper.make_graph(
            self.nodes,
            graph.name or "graph",
            [helper.make_tensor_value_info(n, t, s) for n, (s, t) in inputs.items()] + shape_only,
            outputs,
            small,
        )
        model = helper.make_model(view, opset_imports=[helper.make_opsetid("", self.opset)])
        model.opset_import.extend(
            helper.make_opsetid(d, 1)
            for d in sorted({n.domain for n in self.nodes} - {"", "ai.onnx"})
        )
        model.ir_version = onnx.IR_VERSION
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise EdgesimError(f"{path}: ONNX shape inference failed ({first})") from None
        g = inferred.graph
        self.shapes, self.types = {}, {}
        for value in [*g.input, *g.value_info, *g.output]:
            ttype = value.type.tensor_type
            if ttype.elem_type:
                self.types[value.name] = ttype.elem_type
            if not ttype.HasField("shape"):
                continue
            dims = [d.dim_value if d.HasField("dim_value") else 0 for d in ttype.shape.dim]
            self.shapes[value.name] = tuple(dims) if all(d > 0 for d in dims) else None

    def _fold_pass(self) -> bool:
        kept, folded = [], False
        for node in self.nodes:
            values = self._evaluate(node)
            if values is None:
                kept.append(node)
                continue
            self.consts.update(values)
            folded = True
        self.nodes = kept
        return folded

    def _evaluate(self, node: onnx.NodeProto) -> dict[str, np.ndarray] | None:
        """The node's outputs if they do not depend on the graph's input values."""
        if node.domain not in ("", "ai.onnx") or node.op_type in _NEVER_FOLD:
            return None
        names = [n for n in node.input if n]
        if node.op_type in ("Shape", "Size") and names[0] not in self.consts:
            shape = self.shapes.get(names[0])
            if shape is None:
                return None
            if node.op_type == "Size":
                return {node.output[0]: np.array(math.prod(shape), dtype=np.int64)}
            attrs = _attrs(node)
            dims = np.array(shape, dtype=np.int64)
            return {node.output[0]: dims[attrs.get("start", 0) : attrs.get("end", len(shape))]}
        if not all(n in self.consts for n in names) or (not names and node.op_type != "Constant"):
            return None
        if id(node) in self.unfoldable:
            return None
        outputs = [o for o in node.output if o]
        try:
            # A one-node model rather than the bare node: only a model carries the opset,
            # and operators changed between opsets (Unsqueeze's axes became an input in 13).
            graph = helper.make_graph(
                [node], "fold",
                [
                    helper.make_tensor_value_info(
                        n, helper.np_dtype_to_tensor_dtype(self.consts[n].dtype), None
                    )
                    for n in dict.fromkeys(names)
                ],
                [helper.make_value_info(o, onnx.TypeProto()) for o in outputs],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
            values = ReferenceEvaluator(model).run(None, {n: self.consts[n] for n in names})
            return dict(zip(outputs, values, strict=True))
        except Exception as exc:  # any failure leaves the node to be lowered, with a note
            self.unfoldable.add(id(node))
            self.notes.append(
                f"constant {node.op_type} node {node.name or node.output[0]!r} was not folded "
                f"({type(exc).__name__}); it is lowered as an op"
            )
            return None


# -- pattern recognition --------------------------------------------------------------
@dataclass(frozen=True)
class _Fused:
    """Several ONNX nodes lowered as one IR op, emitted at the last node of the pattern."""

    kind: Kind
    inputs: tuple[str, ...]
    name_node: onnx.NodeProto
    fields: dict[str, Any]


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Patterns:
    """Finds the multi-node patterns that the IR has one op kind for."""

    def __init__(self, folded: _Folded) -> None:
        self.f = folded
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in folded.nodes:
            for out in node.output:
                self.producer[out] = node
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.absorbed: set[int] = set()
        self.fused: dict[int, _Fused] = {}
        for node in folded.nodes:
            for finder in (self._gated, self._gelu, self._shuffle, self._dense_bias):
                if id(node) not in self.absorbed and id(node) not in self.fused:
                    finder(node)

    def _single_use(self, tensor: str) -> bool:
        return len(self.consumers.get(tensor, [])) == 1 and tensor not in self.f.outputs

    def _only_consumer(self, tensor: str, op_type: str) -> onnx.NodeProto | None:
        if not self._single_use(tensor):
            return None
        node = self.consumers[tensor][0]
        return node if node.op_type == op_type and node.domain in ("", "ai.onnx") else None

    def _made_by(self, tensor: str, op_type: str) -> onnx.NodeProto | None:
        node = self.producer.get(tensor)
        return node if node is not None and node.op_type == op_type else None

    def _const_operand(self, node: onnx.NodeProto, value: float) -> str | None:
        """The non-constant operand of a binary node whose other operand is ≈ `value`."""
        a, b = node.input[0], node.input[1]
        for x, c in ((a, b), (b, a)):
            if c in self.f.consts and x not in self.f.consts:
                const = self.f.consts[c]
                if const.size == 1 and math.isclose(_scalar(const), value, rel_tol=1e-3):
                    return x
        return None

    def _fuse(
        self, last: onnx.NodeProto, absorbed: Iterable[onnx.NodeProto], fused: _Fused
    ) -> None:
        self.absorbed.update(id(n) for n in absorbed)
        self.fused[id(last)] = fused

    def _gated(self, node: onnx.NodeProto) -> None:
        """x * Sigmoid(x) → swish, x * HardSigmoid(x) → hard_swish (torch's constants)."""
        if node.op_type != "Mul":
            return
        a, b = node.input
        for x, g in ((a, b), (b, a)):
            gate = self.producer.get(g)
            if gate is None or gate.input[:1] != [x] or not self._single_use(g):
                continue
            if gate.op_type == "Sigmoid":
                kind = Kind.SWISH
            elif gate.op_type == "HardSigmoid" and _is_torch_hard_sigmoid(gate):
                kind = Kind.HARD_SWISH
            else:
                continue
            self._fuse(node, [gate], _Fused(kind, (x,), node, {}))
            return

    def _gelu(self, erf: onnx.NodeProto) -> None:
        """0.5 · x · (1 + erf(x / √2)), in the operand orders torch and TF write it."""
        if erf.op_type != "Erf" or not self._single_use(erf.input[0]):
            return
        scale = self.producer.get(erf.input[0])
        if scale is None or scale.op_type not in ("Div", "Mul"):
            return
        x = self._const_operand(scale, math.sqrt(2) if scale.op_type == "Div" else 1 / math.sqrt(2))
        add = self._only_consumer(erf.output[0], "Add")
        if x is None or add is None or self._const_operand(add, 1.0) != erf.output[0]:
            return
        mul = self._only_consumer(add.output[0], "Mul")
        if mul is None:
            return
        other = mul.input[1] if mul.input[0] == add.output[0] else mul.input[0]
        if other == x:  # (x · (1 + erf)) · 0.5
            half = self._only_consumer(mul.output[0], "Mul")
            if half is not None and self._const_operand(half, 0.5) == mul.output[0]:
                self._fuse(half, [scale, erf, add, mul], _Fused(Kind.GELU, (x,), half, {}))
            return
        half = self._made_by(other, "Mul")  # (x · 0.5) · (1 + erf)
        if half is not None and self._single_use(other) and self._const_operand(half, 0.5) == x:
            self._fuse(mul, [scale, erf, add, half], _Fused(Kind.GELU, (x,), mul, {}))

    def _shuffle(self, transpose: onnx.NodeProto) -> None:
        """Reshape (N,C,H,W)→(N,g,C/g,H,W), Transpose (0,2,1,3,4), Reshape back."""
        if transpose.op_type != "Transpose" or tuple(_attrs(transpose).get("perm", ())) != (
            0, 2, 1, 3, 4,
        ):
            return
        first = self._made_by(transpose.input[0], "Reshape")
        last = self._only_consumer(transpose.output[0], "Reshape")
        if first is None or last is None or not self._single_use(first.output[0]):
            return
        x = first.input[0]
        shape, split, back = (self.f.shapes.get(t) for t in (x, first.output[0], last.output[0]))
        if shape is None or split is None or len(shape) != 4 or back != shape:
            return
        n, c, h, w = shape
        g = split[1]
        if split != (n, g, c // g, h, w) or c % g:
            return
        self._fuse(
            last, [first, transpose],
            _Fused(Kind.TRANSPOSE, (x,), last, {"attrs": (("shuffle_groups", g),)}),
        )

    def _dense_bias(self, matmul: onnx.NodeProto) -> None:
        """MatMul by a constant 2-D weight, then Add of a constant bias: one dense op."""
        if matmul.op_type != "MatMul":
            return
        x, w = matmul.input
        weight = self.f.consts.get(w)
        if x in self.f.consts or weight is None or weight.ndim != 2:
            return
        add = self._only_consumer(matmul.output[0], "Add")
        if add is None:
            return
        bias = next((i for i in add.input if i != matmul.output[0]), None)
        value = self.f.consts.get(bias) if bias is not None else None
        if value is None or value.size != weight.shape[1] or value.shape[-1:] != weight.shape[1:]:
            return
        self._fuse(add, [matmul], _Fused(Kind.DENSE, (x,), matmul, {"bias": True}))


def _is_torch_hard_sigmoid(node: onnx.NodeProto) -> bool:
    attrs = _attrs(node)
    return math.isclose(attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-3) and math.isclose(
        attrs.get("beta", 0.5), 0.5, rel_tol=1e-3
    )


# -- lowering -------------------------------------------------------------------------
class _Unsupported(Exception):
    """A supported op type used in a way the IR cannot express; `str` says how."""


class _Lowering:
    def __init__(self, graph: OpGraph, folded: _Folded, path: str, allow_unknown: bool) -> None:
        self.graph = graph
        self.f = folded
        self.path = path
        self.allow_unknown = allow_unknown
        self.tensors: dict[str, str] = {name: name for name in graph.inputs}
        self.names: set[str] = set(graph.inputs)
        self.failures: Counter[str] = Counter()
        self.handlers: dict[str, Callable[[onnx.NodeProto], None]] = {
            "Conv": self._conv, "Gemm": self._gemm, "MatMul": self._matmul,
            "MaxPool": self._pool, "AveragePool": self._pool,
            "GlobalAveragePool": self._global_pool, "GlobalMaxPool": self._global_pool,
            "ReduceMean": self._reduce_mean,
            "Add": self._binary, "Sub": self._binary, "Sum": self._binary,
            "Mul": self._binary, "Div": self._binary,
            "Relu": self._unary, "LeakyRelu": self._unary, "HardSwish": self._unary,
            "HardSigmoid": self._unary, "Sigmoid": self._unary, "Gelu": self._unary,
            "Tanh": self._unary, "Softmax": self._unary, "BatchNormalization": self._unary,
            "Clip": self._clip, "Concat": self._concat,
            "Resize": self._resize, "Upsample": self._resize,
            "Reshape": self._reshape, "Flatten": self._reshape, "Squeeze": self._reshape,
            "Unsqueeze": self._reshape, "Transpose": self._transpose, "Pad": self._pad,
            "Identity": self._alias, "Dropout": self._alias,
        }

    def run(self) -> None:
        patterns = _Patterns(self.f)
        unknown = Counter(
            _op_label(n) for n in self.f.nodes
            if id(n) not in patterns.absorbed and id(n) not in patterns.fused
            and (n.domain not in ("", "ai.onnx") or n.op_type not in self.handlers)
        )
        if unknown and not self.allow_unknown:
            raise EdgesimError(
                f"{self.path}: unsupported ONNX ops: {_counted(unknown)}; "
                "pass --allow-unknown (allow_unknown=True in Python) to price them as elementwise passes"
            )
        for node in self.f.nodes:
            if id(node) in patterns.absorbed:
                continue
            fused = patterns.fused.get(id(node))
            if fused is not None:
                self._emit(
                    node, fused.kind, fused.inputs, name_node=fused.name_node, **fused.fields
                )
                continue
            handler = self.handlers.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if handler is None:
                self._unknown(node)
                continue
            try:
                if not self.activations(node):
                    raise _Unsupported("constant computation that could not be folded")
                handler(node)
            except _Unsupported as exc:
                self.failures[f"{node.op_type} ({exc})"] += 1
                self._unknown(node)
        if self.failures and not self.allow_unknown:
            raise EdgesimError(
                f"{self.path}: unsupported ONNX ops: {_counted(self.failures)}; "
                "pass --allow-unknown (allow_unknown=True in Python) to price them as elementwise passes"
            )

    # -- helpers --------------------------------------------------------------------
    def shape(self, tensor: str) -> Shape:
        shape = self.f.shapes.get(tensor)
        if shape is None:
            raise EdgesimError(
                f"{self.path}: cannot infer a static shape for tensor {tensor!r}; "
                "re-export the model with fixed input sizes"
            )
        return shape

    def const(self, tensor: str, what: str) -> np.ndarray:
        if tensor not in self.f.consts:
            raise _Unsupported(f"computed {what}")
        return self.f.consts[tensor]

    def activations(self, node: onnx.NodeProto) -> list[str]:
        return [t for t in node.input if t and t not in self.f.consts]

    def _name(self, base: str) -> str:
        return unique_name(base, self.names)

    def _emit(
        self,
        node: onnx.NodeProto,
        kind: Kind,
        inputs: Sequence[str],
        *,
        output: str | None = None,
        name_node: onnx.NodeProto | None = None,
        suffix: str = "",
        **fields: Any,
    ) -> str:
        output = node.output[0] if output is None else output
        base = name_node or node
        sources = [self.tensors[t] for t in inputs]
        if not fields.get("tag") and _all_zero(self.graph, sources):
            fields["tag"] = "zero"
        op = Op(
            name=self._name((base.name or base.output[0]) + suffix),
            kind=kind,
            inputs=tuple(self.graph.shape_of(s) for s in sources),
            output=self.shape(output),
            bits=_BITS.get(self.f.types.get(output, TensorProto.FLOAT), 32),
            **fields,
        )
        self.tensors[output] = self.graph.add(op, sources)
        return output

    def _unknown(self, node: onnx.NodeProto) -> None:
        inputs = [t for t in self.activations(node) if t in self.tensors]
        for index, out in enumerate(node.output):
            if not out or (index and out not in self.f.outputs and not self._consumed(out)):
                continue
            self._emit(
                node, Kind.UNKNOWN, inputs, output=out, suffix=f":{index}" if index else "",
                tag="unknown", attrs=(("onnx_op", _op_label(node)),),
            )

    def _consumed(self, tensor: str) -> bool:
        return any(tensor in n.input for n in self.f.nodes)

    def _only_first_output(self, node: onnx.NodeProto) -> None:
        if any(o and (o in self.f.outputs or self._consumed(o)) for o in node.output[1:]):
            raise _Unsupported("extra outputs used")

    # -- handlers -------------------------------------------------------------------
    def _conv(self, node: onnx.NodeProto) -> None:
        x, w = node.input[0], node.input[1]
        weight = self.const(w, "weights")
        if weight.ndim != 4:
            raise _Unsupported(f"{weight.ndim - 2}-D")
        attrs = _attrs(node)
        groups = int(attrs.get("group", 1))
        c_in, c_out = self.shape(x)[1], weight.shape[0]
        if groups < 1 or weight.shape[1] * groups != c_in or c_out % groups:
            raise EdgesimError(
                f"{self.path}: Conv node {node.name or node.output[0]!r}: its weights {list(weight.shape)} "
                f"with group={groups} take {weight.shape[1] * groups} input channels, but the input has {c_in}"
            )
        if groups == 1:
            kind = Kind.CONV2D
        elif groups == c_in and c_out % c_in == 0:
            kind = Kind.DEPTHWISE_CONV2D
        else:
            kind = Kind.GROUPED_CONV2D
        self._emit(
            node, kind, [x], kernel=tuple(weight.shape[2:]),
            stride=tuple(attrs.get("strides", (1, 1))),
            dilation=tuple(attrs.get("dilations", (1, 1))), groups=groups,
            bias=len(node.input) > 2 and bool(node.input[2]),
        )

    def _gemm(self, node: onnx.NodeProto) -> None:
        a, b = node.input[0], node.input[1]
        attrs = _attrs(node)
        if a in self.f.consts:
            raise _Unsupported("constant first operand")
        if attrs.get("transA", 0):
            # Lower A^T as its own transpose so that dense reads (M, K) as it expects.
            m_k = self.shape(a)[::-1]
            t_out = f"{node.output[0]}/transA"
            self.f.shapes[t_out] = m_k
            self._emit(node, Kind.TRANSPOSE, [a], output=t_out, suffix="/transA",
                       attrs=(("perm", (1, 0)),))
            a = t_out
        bias = len(node.input) > 2 and bool(node.input[2])
        if b in self.f.consts:
            self._emit(node, Kind.DENSE, [a], bias=bias)
        else:
            self._emit(node, Kind.MATMUL, [a, b])

    def _matmul(self, node: onnx.NodeProto) -> None:
        a, b = node.input
        if a in self.f.consts:
            raise _Unsupported("constant first operand")
        if b not in self.f.consts:
            self._emit(node, Kind.MATMUL, [a, b])
        elif self.f.consts[b].ndim == 2:
            self._emit(node, Kind.DENSE, [a], bias=False)
        else:
            raise _Unsupported(f"{self.f.consts[b].ndim}-D constant weight")

    def _pool(self, node: onnx.NodeProto) -> None:
        self._only_first_output(node)
        attrs = _attrs(node)
        kernel = tuple(attrs["kernel_shape"])
        if len(kernel) != 2:
            raise _Unsupported(f"{len(kernel)}-D")
        kind = Kind.MAX_POOL if node.op_type == "MaxPool" else Kind.AVG_POOL
        self._emit(
            node, kind, [node.input[0]], kernel=kernel,
            stride=tuple(attrs.get("strides", (1, 1))),
            dilation=tuple(attrs.get("dilations", (1, 1))),
        )

    def _global_pool(self, node: onnx.NodeProto) -> None:
        x = node.input[0]
        shape = self.shape(x)
        if len(shape) != 4:
            raise _Unsupported(f"{len(shape) - 2}-D")
        hw = tuple(shape[2:])
        if node.op_type == "GlobalMaxPool":
            self._emit(node, Kind.MAX_POOL, [x], kernel=hw, stride=hw)
        else:
            self._emit(node, Kind.GLOBAL_AVG_POOL, [x], kernel=hw)

    def _reduce_mean(self, node: onnx.NodeProto) -> None:
        x = node.input[0]
        shape = self.shape(x)
        attrs = _attrs(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1], "axes").tolist()
        axes = sorted(a % len(shape) for a in (axes or range(len(shape))))
        if len(shape) != 4 or axes != [2, 3]:
            raise _Unsupported(f"over axes {axes}")
        # keepdims=0 gives an (N, C) output: one op still, its consumers read (N, C).
        self._emit(node, Kind.GLOBAL_AVG_POOL, [x], kernel=tuple(shape[2:]))

    def _binary(self, node: onnx.NodeProto) -> None:
        kind = Kind.ADD if node.op_type in ("Add", "Sub", "Sum") else Kind.MUL
        consts = [self.f.consts[t] for t in node.input if t in self.f.consts]
        zero = node.op_type == "Mul" and any(not np.any(c) for c in consts)
        self._emit(node, kind, self.activations(node), tag="zero" if zero else "")

    def _unary(self, node: onnx.NodeProto) -> None:
        kinds = {
            "Relu": Kind.RELU, "LeakyRelu": Kind.LEAKY_RELU, "HardSwish": Kind.HARD_SWISH,
            "HardSigmoid": Kind.HARD_SIGMOID, "Sigmoid": Kind.SIGMOID, "Gelu": Kind.GELU,
            "Tanh": Kind.TANH, "Softmax": Kind.SOFTMAX, "BatchNormalization": Kind.BATCH_NORM,
        }
        self._only_first_output(node)
        attrs: tuple = ()
        if node.op_type == "LeakyRelu":
            attrs = (("alpha", float(_attrs(node).get("alpha", 0.01))),)
        self._emit(node, kinds[node.op_type], [node.input[0]], attrs=attrs)

    def _clip(self, node: onnx.NodeProto) -> None:
        attrs = _attrs(node)
        low, high = attrs.get("min"), attrs.get("max")  # opset < 11 keeps them as attributes
        if len(node.input) > 1 and node.input[1]:
            low = _scalar(self.const(node.input[1], "min"))
        if len(node.input) > 2 and node.input[2]:
            high = _scalar(self.const(node.input[2], "max"))
        low = -math.inf if low is None else float(low)
        high = math.inf if high is None else float(high)
        x = node.input[0]
        if low == 0 and high == 6:
            self._emit(node, Kind.RELU6, [x])
        elif low == 0 and high == math.inf:
            self._emit(node, Kind.RELU, [x])
        else:
            self._emit(node, Kind.RELU6, [x], attrs=(("clip", (low, high)),))

    def _concat(self, node: onnx.NodeProto) -> None:
        axis = int(_attrs(node)["axis"]) % len(self.shape(node.output[0]))
        self._emit(node, Kind.CONCAT, self.activations(node), attrs=(("axis", axis),))

    def _resize(self, node: onnx.NodeProto) -> None:
        mode = _attrs(node).get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        self._emit(node, Kind.RESIZE, [node.input[0]], attrs=(("mode", mode),))

    def _reshape(self, node: onnx.NodeProto) -> None:
        self._emit(node, Kind.RESHAPE, [node.input[0]])

    def _transpose(self, node: onnx.NodeProto) -> None:
        rank = len(self.shape(node.input[0]))
        perm = tuple(int(p) for p in _attrs(node).get("perm", range(rank - 1, -1, -1)))
        self._emit(node, Kind.TRANSPOSE, [node.input[0]], attrs=(("perm", perm),))

    def _pad(self, node: onnx.NodeProto) -> None:
        attrs = _attrs(node)
        if len(node.input) > 3 and node.input[3]:
            raise _Unsupported("axes input")
        pads = attrs.get("pads")
        if len(node.input) > 1 and node.input[1]:
            pads = self.const(node.input[1], "pads").tolist()
        pads = tuple(int(p) for p in pads)
        rank = len(pads) // 2
        fields: list[tuple[str, Any]] = []
        if rank == 4 and not any(pads[i] for i in (0, 1, 4, 5)):
            # (top, bottom, left, right), as NetBuilder.pad writes them
            fields.append(("pads", (pads[2], pads[6], pads[3], pads[7])))
        else:
            fields.append(("onnx_pads", pads))
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode != "constant":
            fields.append(("mode", mode))
        self._emit(node, Kind.PAD, [node.input[0]], attrs=tuple(sorted(fields)))

    def _alias(self, node: onnx.NodeProto) -> None:
        self._only_first_output(node)
        self.tensors[node.output[0]] = self.tensors[node.input[0]]


def _all_zero(graph: OpGraph, sources: Sequence[str]) -> bool:
    """Whether every source is an op tagged "zero", so this op's value is constant too."""
    return bool(sources) and all(s in graph and graph.op(s).tag == "zero" for s in sources)


def _scalar(value: np.ndarray) -> float:
    return float(value.reshape(-1)[0])


def _op_label(node: onnx.NodeProto) -> str:
    domain = node.domain if node.domain not in ("", "ai.onnx") else ""
    return f"{domain}.{node.op_type}" if domain else node.op_type


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))
