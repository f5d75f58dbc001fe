"""`OpGraph` → a runnable ONNX model with random weights (opset 17, float32).

The model is for timing, not for predictions: weights are seeded He-normal draws (batch
norm near identity) so activations stay O(1) and no denormals slow the run down. Every
op becomes the ONNX node(s) that `graphs.importers.onnx.load_onnx` lowers back to the same
op kind, shapes and MACs:

- convolution and pooling pads are derived from the input and output sizes, split as
  TensorFlow's "same" does (the odd pixel at the end);
- dense is `Gemm` on (N, K) inputs and `MatMul` (+ `Add` for the bias) on higher ranks;
- swish is `x * Sigmoid(x)`, gelu the erf form `0.5 · x · (1 + erf(x / √2))`, relu6 a
  `Clip`; a channel shuffle is ShuffleNet's Reshape → Transpose → Reshape;
- a one-input add/mul adds/multiplies a constant: 0 for an op tagged "zero" (the
  NAS-Bench-201 `none` edge), otherwise a value runtimes cannot drop as a no-op.

Tensors are written as float32 whatever `Op.bits` says; ops of kind `unknown` cannot be
exported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from graphs.errors import EdgesimError
from graphs.files import atomic_file, check_target
from graphs.graph import OpGraph
from graphs.ops import CONV_KINDS, Kind, Op, Shape

OPSET = 17
# IR version 8 is the oldest that carries opset 17, so onnxruntime ≥ 1.14 loads the file.
IR_VERSION = 8
_RESIZE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear",
                 "cubic": "cubic", "bicubic": "cubic"}


def export_onnx(graph: OpGraph, path: str | Path, seed: int = 0) -> Path:
    """Write `graph` as an ONNX model with seeded random weights; return the path.

    The file is written to a temporary name first and renamed, so a failure leaves no
    partial file behind.
    """
    path = check_target(path)
    model = to_onnx(graph, seed)
    with atomic_file(path, "wb") as handle:
        handle.write(model.SerializeToString())
    return path


def to_onnx(graph: OpGraph, seed: int = 0) -> onnx.ModelProto:
    """The ONNX model of `graph` (see the module docstring), its shapes checked by ONNX."""
    writer = _Writer(graph)
    for op in graph.ops():
        writer.write(op)
    writer.check()
    return writer.model(np.random.default_rng(seed))


@dataclass(frozen=True)
class _Weight:
    """A random initializer drawn at the end: offset + scale · N(0, 1) (absolute if
    `positive`, for batch-norm variances)."""

    name: str
    shape: Shape
    scale: float
    offset: float = 0.0
    positive: bool = False

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        values = rng.standard_normal(self.shape, dtype=np.float32)
        if self.positive:
            np.abs(values, out=values)
        values *= self.scale  # in place: VGG-16's weights are 553 MB
        values += self.offset
        return values


def _pads(op: Op, size: Shape, out: Shape, dilation: tuple[int, int]) -> list[int]:
    """ONNX pads [top, left, bottom, right] that map `size` to `out`, extra pixel at the end."""
    begins, ends = [], []
    for i, o, k, s, d in zip(size, out, op.kernel, op.stride, dilation, strict=True):
        total = max(0, (o - 1) * s + d * (k - 1) + 1 - i)
        if (i + total - d * (k - 1) - 1) // s + 1 != o:
            raise EdgesimError(
                f"op {op.name!r}: no padding maps size {i} to {o} with kernel {k}, stride {s}; "
                "the graph cannot be exported"
            )
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


class _Writer:
    def __init__(self, graph: OpGraph) -> None:
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.consts: list[TensorProto] = []
        self.weights: list[_Weight] = []
        self.handlers: dict[Kind, Callable[[Op, list[str]], None]] = {
            **dict.fromkeys(CONV_KINDS, self._conv),
            Kind.DENSE: self._dense, Kind.MATMUL: self._simple,
            Kind.AVG_POOL: self._pool, Kind.MAX_POOL: self._pool,
            Kind.GLOBAL_AVG_POOL: self._global_pool,
            Kind.ADD: self._binary, Kind.MUL: self._binary,
            Kind.RELU: self._simple, Kind.RELU6: self._relu6, Kind.LEAKY_RELU: self._simple,
            Kind.HARD_SWISH: self._simple, Kind.HARD_SIGMOID: self._simple,
            Kind.SIGMOID: self._simple, Kind.TANH: self._simple, Kind.SOFTMAX: self._simple,
            Kind.SWISH: self._swish, Kind.GELU: self._gelu, Kind.BATCH_NORM: self._batch_norm,
            Kind.CONCAT: self._simple, Kind.RESIZE: self._resize, Kind.RESHAPE: self._reshape,
            Kind.TRANSPOSE: self._transpose, Kind.PAD: self._pad,
        }

    # -- plumbing ---------------------------------------------------------------------
    def write(self, op: Op) -> None:
        handler = self.handlers.get(op.kind)
        if handler is None:
            raise EdgesimError(
                f"graph {self.graph.name!r}: op {op.name!r} has kind {op.kind.value} "
                f"({op.attr('onnx_op', 'no ONNX type')}); edgesim cannot export it"
            )
        handler(op, list(self.graph.sources(op.name)))

    def node(self, op_type: str, inputs: list[str], output: str, name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def const(self, name: str, value: np.ndarray) -> str:
        self.consts.append(numpy_helper.from_array(value, name))
        return name

    def ints(self, name: str, values: Shape) -> str:
        return self.const(name, np.asarray(values, dtype=np.int64))

    def scalar(self, name: str, value: float) -> str:
        return self.const(name, np.asarray(value, dtype=np.float32))

    def weight(self, name: str, shape: Shape, fan_in: int | None = None, **kw) -> str:
        # He-normal keeps ReLU-network activations at unit scale layer after layer.
        scale = kw.pop("scale", math.sqrt(2.0 / fan_in) if fan_in else 0.1)
        self.weights.append(_Weight(name, tuple(shape), scale, **kw))
        return name

    def _interface(self) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
        inputs = [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
            for name, shape in self.graph.inputs.items()
        ]
        outputs = [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, self.graph.op(name).output)
            for name in self.graph.outputs()
        ]
        return inputs, outputs

    def _model(self, graph: onnx.GraphProto) -> onnx.ModelProto:
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgesim"
        )
        model.ir_version = IR_VERSION
        return model

    def check(self) -> None:
        """Run ONNX's checker and shape inference on the model without weight data (the
        weights enter as typed inputs) and compare every op's shape with the graph's."""
        inputs, outputs = self._interface()
        shape_only = [
            helper.make_tensor_value_info(w.name, TensorProto.FLOAT, w.shape) for w in self.weights
        ]
        view = self._model(
            helper.make_graph(
                self.nodes, self.graph.name, inputs + shape_only, outputs, self.consts
            )
        )
        try:
            onnx.checker.check_model(view)
            inferred = onnx.shape_inference.infer_shapes(view, strict_mode=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise EdgesimError(
                f"graph {self.graph.name!r}: ONNX rejects the export ({first})"
            ) from None
        got = {
            v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
            for v in [*inferred.graph.value_info, *inferred.graph.output]
        }
        for op in self.graph.ops():
            if got.get(op.name) != op.output:
                raise EdgesimError(
                    f"graph {self.graph.name!r}: op {op.name!r} ({op.kind.value}) exports to "
                    f"ONNX with output shape {list(got.get(op.name, ()))}, not {list(op.output)}"
                )

    def model(self, rng: np.random.Generator) -> onnx.ModelProto:
        inputs, outputs = self._interface()
        weights = [numpy_helper.from_array(w.draw(rng), w.name) for w in self.weights]
        graph = helper.make_graph(
            self.nodes, self.graph.name, inputs, outputs, [*self.consts, *weights]
        )
        return self._model(graph)

    # -- kinds ------------------------------------------------------------------------
    def _conv(self, op: Op, x: list[str]) -> None:
        _, c_in, h, w = op.inputs[0]
        c_out = op.output[1]
        fan_in = c_in // op.groups * op.kernel[0] * op.kernel[1]
        inputs = [*x, self.weight(f"{op.name}/weight", (c_out, fan_in // math.prod(op.kernel),
                                                         *op.kernel), fan_in)]
        if op.bias:
            inputs.append(self.weight(f"{op.name}/bias", (c_out,), scale=0.1))
        self.node(
            "Conv", inputs, op.name, op.name, kernel_shape=list(op.kernel),
            strides=list(op.stride), dilations=list(op.dilation), group=op.groups,
            pads=_pads(op, (h, w), op.output[2:], op.dilation),
        )

    def _dense(self, op: Op, x: list[str]) -> None:
        fan_in, units = op.inputs[0][-1], op.output[-1]
        weight = self.weight(f"{op.name}/weight", (fan_in, units), fan_in)
        bias = [self.weight(f"{op.name}/bias", (units,), scale=0.1)] if op.bias else []
        if len(op.inputs[0]) == 2:
            self.node("Gemm", [*x, weight, *bias], op.name, op.name)
        elif bias:
            product = self.node("MatMul", [*x, weight], f"{op.name}/nobias", op.name)
            self.node("Add", [product, *bias], op.name, f"{op.name}/bias")
        else:
            self.node("MatMul", [*x, weight], op.name, op.name)

    def _simple(self, op: Op, x: list[str]) -> None:
        """Kinds that are one ONNX node with at most one attribute."""
        op_type, attrs = {
            Kind.MATMUL: ("MatMul", {}),
            Kind.RELU: ("Relu", {}),
            Kind.LEAKY_RELU: ("LeakyRelu", {"alpha": float(op.attr("alpha", 0.01))}),
            Kind.HARD_SWISH: ("HardSwish", {}),
            # torch's hardsigmoid constants (ONNX's default alpha is 0.2).
            Kind.HARD_SIGMOID: ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
            Kind.SIGMOID: ("Sigmoid", {}),
            Kind.TANH: ("Tanh", {}),
            Kind.SOFTMAX: ("Softmax", {"axis": int(op.attr("axis", -1))}),
            Kind.CONCAT: ("Concat", {"axis": int(op.attr("axis", 1))}),
        }[op.kind]
        self.node(op_type, x, op.name, op.name, **attrs)

    def _pool(self, op: Op, x: list[str]) -> None:
        attrs = {
            "kernel_shape": list(op.kernel), "strides": list(op.stride),
            "pads": _pads(op, op.inputs[0][2:], op.output[2:], op.dilation),
        }
        if op.kind == Kind.MAX_POOL:
            if op.dilation != (1, 1):
                attrs["dilations"] = list(op.dilation)
            self.node("MaxPool", x, op.name, op.name, **attrs)
        else:
            self.node("AveragePool", x, op.name, op.name, **attrs)

    def _global_pool(self, op: Op, x: list[str]) -> None:
        if len(op.output) == 4:
            self.node("GlobalAveragePool", x, op.name, op.name)
        else:  # (N, C) output: the keepdims=0 mean the importer reads back as one op
            self.node("ReduceMean", x, op.name, op.name, axes=[2, 3], keepdims=0)

    def _binary(self, op: Op, x: list[str]) -> None:
        op_type = "Add" if op.kind == Kind.ADD else "Mul"
        if len(x) == 1:
            # 0.5 and 0.25 rather than 1 and 0, which onnxruntime removes as no-ops.
            value = 0.0 if op.tag == "zero" else (0.5 if op.kind == Kind.MUL else 0.25)
            x = [*x, self.scalar(f"{op.name}/const", value)]
        elif len(x) > 2:
            op_type = "Sum" if op.kind == Kind.ADD else op_type
            if op_type == "Mul":
                raise EdgesimError(f"op {op.name!r}: a mul of {len(x)} inputs cannot be exported")
        self.node(op_type, x, op.name, op.name)

    def _relu6(self, op: Op, x: list[str]) -> None:
        low, high = op.attr("clip", (0.0, 6.0))
        bounds = [self.scalar(f"{op.name}/min", low), self.scalar(f"{op.name}/max", high)]
        self.node("Clip", [*x, *bounds], op.name, op.name)

    def _swish(self, op: Op, x: list[str]) -> None:
        gate = self.node("Sigmoid", x, f"{op.name}/sigmoid", f"{op.name}/sigmoid")
        self.node("Mul", [*x, gate], op.name, op.name)

    def _gelu(self, op: Op, x: list[str]) -> None:
        scaled = self.node("Div", [*x, self.scalar(f"{op.name}/sqrt2", math.sqrt(2))],
                           f"{op.name}/div", f"{op.name}/div")
        erf = self.node("Erf", [scaled], f"{op.name}/erf", f"{op.name}/erf")
        one_plus = self.node("Add", [erf, self.scalar(f"{op.name}/one", 1.0)],
                             f"{op.name}/add", f"{op.name}/add")
        product = self.node("Mul", [*x, one_plus], f"{op.name}/mul", f"{op.name}/mul")
        self.node("Mul", [product, self.scalar(f"{op.name}/half", 0.5)], op.name, op.name)

    def _batch_norm(self, op: Op, x: list[str]) -> None:
        c = (op.output[1],)
        params = [
            self.weight(f"{op.name}/scale", c, scale=0.1, offset=1.0),
            self.weight(f"{op.name}/shift", c, scale=0.1),
            self.weight(f"{op.name}/mean", c, scale=0.1),
            self.weight(f"{op.name}/var", c, scale=0.1, offset=1.0, positive=True),
        ]
        self.node("BatchNormalization", [*x, *params], op.name, op.name)

    def _resize(self, op: Op, x: list[str]) -> None:
        mode = _RESIZE_MODES.get(str(op.attr("mode", "nearest")), "nearest")
        sizes = self.ints(f"{op.name}/sizes", op.output)
        self.node("Resize", [*x, "", "", sizes], op.name, op.name, mode=mode)

    def _reshape(self, op: Op, x: list[str]) -> None:
        self.node("Reshape", [*x, self.ints(f"{op.name}/shape", op.output)], op.name, op.name)

    def _transpose(self, op: Op, x: list[str]) -> None:
        groups = op.attr("shuffle_groups")
        if groups:
            n, c, h, w = op.inputs[0]
            split_shape = self.ints(f"{op.name}/split", (n, groups, c // groups, h, w))
            split = self.node("Reshape", [*x, split_shape], f"{op.name}/grouped",
                              f"{op.name}/grouped")
            swapped = self.node("Transpose", [split], f"{op.name}/swapped", f"{op.name}/swapped",
                                perm=[0, 2, 1, 3, 4])
            merged_shape = self.ints(f"{op.name}/merge", op.output)
            self.node("Reshape", [swapped, merged_shape], op.name, op.name)
            return
        perm = op.attr("perm")
        if perm is None:  # any permutation that gives the output shape prices the same
            shape = op.inputs[0]
            perm = next(
                (p for p in itertools.permutations(range(len(shape)))
                 if tuple(shape[i] for i in p) == op.output),
                None,
            )
            if perm is None:
                raise EdgesimError(
                    f"op {op.name!r}: no transpose maps {list(shape)} to {list(op.output)}"
                )
        self.node("Transpose", x, op.name, op.name, perm=list(perm))

    def _pad(self, op: Op, x: list[str]) -> None:
        if op.attr("onnx_pads") is not None:
            pads = tuple(op.attr("onnx_pads"))
        else:
            top, bottom, left, right = op.attr("pads")
            pads = (0, 0, top, left, 0, 0, bottom, right)
        mode = str(op.attr("mode", "constant"))
        self.node("Pad", [*x, self.ints(f"{op.name}/pads", pads)], op.name, op.name, mode=mode)
