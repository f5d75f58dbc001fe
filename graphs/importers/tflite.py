"""TFLite flatbuffer → `OpGraph`, read with the `tflite` package (the schema; no TensorFlow).

- Tensors are NHWC in the file and NCHW in the IR: 4-D shapes and axes are converted.
- Each op's element width comes from its output tensor type (int8/uint8 → 8 bits, fp16 →
  16, fp32 → 32); `meta["precision"]` names the precision of the conv and dense weights
  (`int8`, `uint8`, `fp16` for fp16 weights dequantized at load, else `fp32`).
- A fused activation (relu, relu6, relu_n1_to_1, tanh) becomes its own op after the op
  that carries it, as in a graph built by edgesim; the device profile's runtime decides
  whether it is fused again.
- `QUANTIZE` and `DEQUANTIZE` of activations are ops (kinds `quantize`, `dequantize`); a
  `DEQUANTIZE` of a constant (fp16 or int8 weights expanded at load) is folded away.
- Patterns that are one IR op: `x * LOGISTIC(x)` (swish), the converter's hard-sigmoid
  `MUL(ADD(x, 3) with fused relu6, 1/6)` and its unfolded batch norm, a MUL by a
  per-channel constant then an ADD of one.
- A file compiled by the Edge TPU compiler (an `edgetpu-custom-op`) is refused: the ops
  are hidden inside the custom op. Ops without an edgesim kind are an error listing them
  with their counts; `allow_unknown=True` prices each as one elementwise pass.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Builtin
from tflite.TensorType import TensorType

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.importers import unique_name
from graphs.ops import Kind, Op, Shape

EDGETPU_OP = "edgetpu-custom-op"
_BITS = {TensorType.FLOAT32: 32, TensorType.FLOAT16: 16, TensorType.INT8: 8, TensorType.UINT8: 8,
         TensorType.INT16: 16, TensorType.INT32: 32, TensorType.BFLOAT16: 16}
_PRECISION = {TensorType.INT8: "int8", TensorType.UINT8: "uint8", TensorType.FLOAT16: "fp16",
              TensorType.FLOAT32: "fp32"}
# tflite.ActivationFunctionType → (kind, clip attrs)
_FUSED = {1: (Kind.RELU, ()), 2: (Kind.RELU6, (("clip", (-1.0, 1.0)),)), 3: (Kind.RELU6, ()), 4: (Kind.TANH, ())}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_NAMES = {v: k for k, v in vars(Builtin).items() if not k.startswith("_")}
_OPTIONS = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


def load_tflite(path: str | Path, allow_unknown: bool = False) -> OpGraph:
    """Read a .tflite file into a validated `OpGraph` (its first subgraph)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read model file ({exc.strerror})") from None
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise EdgesimError(
            f"{path}: not a TFLite model (no TFL3 flatbuffer identifier); give a .tflite file written "
            "by the TFLite converter or edgesim export --format tflite"
        )
    try:
        reader = _Reader(path, data)
        return reader.run(allow_unknown)
    except EdgesimError:
        raise
    except Exception as exc:  # offsets outside the file: a cut or damaged flatbuffer
        raise EdgesimError(
            f"{path}: truncated or corrupt TFLite file ({len(data)} bytes; {type(exc).__name__} while "
            "reading it); copy or convert the model again"
        ) from None


def nchw(shape: Shape) -> Shape:
    return (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else tuple(shape)


class _Reader:
    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() < 1:
            raise EdgesimError(f"{path}: the TFLite model has no subgraph")
        self.sub = self.model.Subgraphs(0)
        self.codes = [self._code(self.model.OperatorCodes(i)) for i in range(self.model.OperatorCodesLength())]
        self.ops = [self.sub.Operators(i) for i in range(self.sub.OperatorsLength())]
        n = self.sub.TensorsLength()
        self.tensors = [self.sub.Tensors(i) for i in range(n)]
        self.shapes = [tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else () for t in self.tensors]
        self.consts: dict[int, np.ndarray | None] = {}
        for i, t in enumerate(self.tensors):
            buffer = self.model.Buffers(t.Buffer())
            if buffer is not None and (buffer.DataLength() or buffer.Size()):
                self.consts[i] = buffer.DataAsNumpy() if buffer.DataLength() else None
        self.consumers: Counter[int] = Counter(i for op in self.ops for i in self._inputs(op))
        self.outputs = [int(i) for i in self.sub.OutputsAsNumpy()]

    @staticmethod
    def _code(code: Any) -> int | str:
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == Builtin.CUSTOM:
            return (code.CustomCode() or b"custom").decode(errors="replace")
        return builtin

    def _inputs(self, op: Any) -> list[int]:
        return [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []

    def label(self, code: int | str) -> str:
        return code if isinstance(code, str) else _NAMES.get(code, f"builtin {code}")

    # -- the walk ---------------------------------------------------------------------
    def run(self, allow_unknown: bool) -> OpGraph:
        self.allow_unknown = allow_unknown
        custom = [c for c in (self.codes[op.OpcodeIndex()] for op in self.ops) if isinstance(c, str)]
        if EDGETPU_OP in custom:
            raise EdgesimError(
                f"{self.path}: compiled for the Edge TPU (its ops are hidden in {custom.count(EDGETPU_OP)} "
                f"{EDGETPU_OP}); give edgesim the .tflite file from before edgetpu_compiler"
            )
        handlers = self._handlers()
        unknown = Counter(
            self.label(code) for code in (self.codes[op.OpcodeIndex()] for op in self.ops)
            if code not in handlers
        )
        if unknown and not allow_unknown:
            raise EdgesimError(
                f"{self.path}: unsupported TFLite ops: {_counted(unknown)}; "
                "pass allow_unknown=True (--allow-unknown) to price them as elementwise passes"
            )
        inputs = [int(i) for i in self.sub.InputsAsNumpy()]
        self.graph = OpGraph(
            self.path.stem,
            {self.tname(i): nchw(self.shapes[i]) for i in inputs},
            {"source": str(self.path), "format": "tflite", "notes": []},
        )
        self.names: set[str] = set(self.graph.inputs)
        self.producer: dict[int, str] = {i: self.tname(i) for i in inputs}  # tensor → IR op/input
        self.absorbed: set[int] = set()
        self.fused_into: dict[int, tuple[Kind, int, tuple]] = {}
        self._patterns()
        for index, op in enumerate(self.ops):
            if index in self.absorbed:
                continue
            code = self.codes[op.OpcodeIndex()]
            if index in self.fused_into:
                kind, x, attrs = self.fused_into[index]
                self.emit(op, kind, [x], attrs=attrs, fused=self.fused(op))
                continue
            handler = handlers.get(code)
            if handler is None:
                self.emit(op, Kind.UNKNOWN, self.activations(op), tag="unknown",
                          attrs=(("tflite_op", self.label(code)),))
                continue
            handler(op)
        self.graph.meta["precision"] = self._precision()
        return self.graph.validate()

    def _handlers(self) -> dict[int | str, Callable[[Any], None]]:
        h: dict[int | str, Callable[[Any], None]] = {
            Builtin.CONV_2D: self._conv, Builtin.DEPTHWISE_CONV_2D: self._conv,
            Builtin.FULLY_CONNECTED: self._dense, Builtin.BATCH_MATMUL: self._matmul,
            Builtin.AVERAGE_POOL_2D: self._pool, Builtin.MAX_POOL_2D: self._pool, Builtin.MEAN: self._mean,
            Builtin.ADD: self._binary, Builtin.SUB: self._binary, Builtin.MUL: self._binary,
            Builtin.DIV: self._binary, Builtin.CONCATENATION: self._concat,
            Builtin.PAD: self._pad, Builtin.PADV2: self._pad, Builtin.DEQUANTIZE: self._dequantize,
        }
        unary = {
            Builtin.RELU: Kind.RELU, Builtin.RELU6: Kind.RELU6, Builtin.LEAKY_RELU: Kind.LEAKY_RELU,
            Builtin.HARD_SWISH: Kind.HARD_SWISH, Builtin.LOGISTIC: Kind.SIGMOID, Builtin.TANH: Kind.TANH,
            Builtin.GELU: Kind.GELU, Builtin.SOFTMAX: Kind.SOFTMAX, Builtin.QUANTIZE: Kind.QUANTIZE,
            Builtin.RESHAPE: Kind.RESHAPE, Builtin.SQUEEZE: Kind.RESHAPE,
            Builtin.RESIZE_BILINEAR: Kind.RESIZE, Builtin.RESIZE_NEAREST_NEIGHBOR: Kind.RESIZE,
            Builtin.TRANSPOSE: Kind.TRANSPOSE,
        }
        for code, kind in unary.items():
            h[code] = lambda op, kind=kind: self._unary(op, kind)
        h[Builtin.RELU_N1_TO_1] = lambda op: self._unary(op, Kind.RELU6, (("clip", (-1.0, 1.0)),))
        return h

    # -- helpers ----------------------------------------------------------------------
    def tname(self, index: int) -> str:
        name = self.tensors[index].Name()
        return name.decode(errors="replace") if name else f"tensor{index}"

    def activations(self, op: Any) -> list[int]:
        return [i for i in self._inputs(op) if i >= 0 and i not in self.consts]

    def const(self, op: Any, position: int) -> np.ndarray | None:
        """The values of an op's constant input, in the tensor's type and shape."""
        inputs = self._inputs(op)
        if position >= len(inputs) or inputs[position] not in self.consts:
            return None
        index = inputs[position]
        raw = self.consts[index]
        if raw is None:
            return None
        dtype = {TensorType.FLOAT32: np.float32, TensorType.INT32: np.int32, TensorType.INT8: np.int8,
                 TensorType.UINT8: np.uint8, TensorType.INT64: np.int64, TensorType.FLOAT16: np.float16
                 }.get(self.tensors[index].Type())
        if dtype is None:
            return None
        values = np.frombuffer(raw.tobytes(), dtype=dtype)
        quant = self.tensors[index].Quantization()
        if quant is not None and quant.ScaleLength() == 1 and dtype in (np.int8, np.uint8):
            zero = quant.ZeroPoint(0) if quant.ZeroPointLength() else 0
            values = (values.astype(np.float32) - zero) * quant.Scale(0)
        shape = self.shapes[index]
        return values.reshape(shape) if math.prod(shape) == values.size else values

    def options(self, op: Any, name: str) -> Any:
        table = op.BuiltinOptions()
        if table is None or _OPTIONS.get(op.BuiltinOptionsType()) != name:
            return None
        options = getattr(tflite, name)()
        options.Init(table.Bytes, table.Pos)
        return options

    def fused(self, op: Any) -> int:
        """The op's fused activation (tflite.ActivationFunctionType), 0 for none."""
        name = _OPTIONS.get(op.BuiltinOptionsType())
        options = self.options(op, name) if name else None
        return options.FusedActivationFunction() if hasattr(options, "FusedActivationFunction") else 0

    def emit(self, op: Any, kind: Kind, inputs: list[int], *, output: int | None = None, **fields: Any) -> str:
        out = int(op.OutputsAsNumpy()[0]) if output is None else output
        sources = [self.producer[i] for i in inputs]
        if not fields.get("tag") and sources and all(
            s in self.graph and self.graph.op(s).tag == "zero" for s in sources
        ):
            fields["tag"] = "zero"
        name = self._name(self.tname(out))
        fused = fields.pop("fused", 0)
        ir = Op(
            name=name, kind=kind, inputs=tuple(self.graph.shape_of(s) for s in sources),
            output=nchw(self.shapes[out]), bits=_BITS.get(self.tensors[out].Type(), 32), **fields,
        )
        self.producer[out] = self.graph.add(ir, sources)
        if fused in _FUSED:  # the fused activation as its own op
            act, attrs = _FUSED[fused]
            follow = Op(name=self._name(f"{name}/{act.value}"), kind=act, inputs=(ir.output,), output=ir.output,
                        bits=ir.bits, attrs=attrs)
            self.producer[out] = self.graph.add(follow, [self.producer[out]])
        return self.producer[out]

    def _name(self, base: str) -> str:
        return unique_name(base, self.names)

    def _precision(self) -> str:
        weights = Counter()
        for op in self.ops:
            if self.codes[op.OpcodeIndex()] in (Builtin.CONV_2D, Builtin.DEPTHWISE_CONV_2D, Builtin.FULLY_CONNECTED):
                w = self._inputs(op)[1]
                weights[self.tensors[self.dequantized.get(w, w)].Type()] += 1
        if not weights:
            return "fp32"
        return _PRECISION.get(weights.most_common(1)[0][0], "fp32")

    # -- patterns ---------------------------------------------------------------------
    def _patterns(self) -> None:
        """swish and hard-sigmoid (see the module docstring); constant DEQUANTIZEs."""
        self.dequantized: dict[int, int] = {}  # dequantized weight tensor → stored tensor
        made_by = {int(o): k for k, op in enumerate(self.ops) for o in op.OutputsAsNumpy()}
        for k, op in enumerate(self.ops):
            code = self.codes[op.OpcodeIndex()]
            ins = self._inputs(op)
            if code == Builtin.DEQUANTIZE and ins and ins[0] in self.consts:
                out = int(op.OutputsAsNumpy()[0])
                self.consts[out] = None  # a weight: its values are not needed, only that it is constant
                self.dequantized[out] = ins[0]
                self.absorbed.add(k)
        for k, op in enumerate(self.ops):
            code = self.codes[op.OpcodeIndex()]
            if code != Builtin.MUL or k in self.absorbed:
                continue
            ins = self._inputs(op)
            for x, gate in ((ins[0], ins[1]), (ins[1], ins[0])):
                g = made_by.get(gate)
                if g is None or self.consumers[gate] != 1:
                    continue
                gate_op = self.ops[g]
                if self.codes[gate_op.OpcodeIndex()] == Builtin.LOGISTIC and self._inputs(gate_op)[:1] == [x]:
                    self.absorbed.add(g)
                    self.fused_into[k] = (Kind.SWISH, x, ())
                    break
            if k not in self.fused_into:
                self._batch_norm(k, op, made_by)
            sixth = self._scalar(op, Builtin.MUL)
            if k in self.fused_into or sixth is None or not math.isclose(sixth[1], 1 / 6, rel_tol=1e-2):
                continue
            a = made_by.get(sixth[0])
            if a is None or self.consumers[sixth[0]] != 1:
                continue
            add = self.ops[a]
            three = self._scalar(add, Builtin.ADD)
            opts = self.options(add, "AddOptions")
            if three and math.isclose(three[1], 3.0, rel_tol=1e-2) and opts and opts.FusedActivationFunction() == 3:
                self.absorbed.add(a)
                self.fused_into[k] = (Kind.HARD_SIGMOID, three[0], ())

    def _batch_norm(self, k: int, mul: Any, made_by: dict[int, int]) -> None:
        """MUL by a per-channel constant, then ADD of one, with nothing else reading the MUL."""
        scale = self._channel_const(mul)
        if scale is None:
            return
        out = int(mul.OutputsAsNumpy()[0])
        add_index = next((j for j, o in enumerate(self.ops) if out in self._inputs(o)), None)
        if add_index is None or self.consumers[out] != 1 or out in self.outputs:
            return
        add = self.ops[add_index]
        if self.codes[add.OpcodeIndex()] != Builtin.ADD or self._channel_const(add) is None:
            return
        self.absorbed.add(k)
        self.fused_into[add_index] = (Kind.BATCH_NORM, scale[0], ())

    def _channel_const(self, op: Any) -> tuple[int, int] | None:
        """(activation input, channels) of a binary op with a constant of one value per channel."""
        ins = self._inputs(op)
        if len(ins) != 2:
            return None
        for x, c in ((ins[0], ins[1]), (ins[1], ins[0])):
            shape = self.shapes[x]
            if c in self.consts and x not in self.consts and len(shape) == 4 and self.shapes[c] in (
                (shape[3],), (1, 1, 1, shape[3])
            ):
                return x, shape[3]
        return None

    def _scalar(self, op: Any, code: int) -> tuple[int, float] | None:
        """(activation input, constant) of a binary op of `code` with a one-element constant."""
        if self.codes[op.OpcodeIndex()] != code:
            return None
        ins = self._inputs(op)
        for position, x in ((1, ins[0]), (0, ins[1])):
            value = self.const(op, position)
            if value is not None and value.size == 1 and x not in self.consts:
                return x, float(value.reshape(-1)[0])
        return None

    # -- handlers ---------------------------------------------------------------------
    def _conv(self, op: Any) -> None:
        x, w = self._inputs(op)[:2]
        filt = self.shapes[w]
        code = self.codes[op.OpcodeIndex()]
        c_in = nchw(self.shapes[x])[1]
        if code == Builtin.DEPTHWISE_CONV_2D:
            o = self.options(op, "DepthwiseConv2DOptions")
            kind, groups = Kind.DEPTHWISE_CONV2D, c_in
        else:
            o = self.options(op, "Conv2DOptions")
            groups = c_in // filt[3]
            kind = Kind.CONV2D if groups == 1 else Kind.GROUPED_CONV2D
        ins = self._inputs(op)
        self.emit(
            op, kind, [x], kernel=(filt[1], filt[2]), stride=(o.StrideH(), o.StrideW()),
            dilation=(o.DilationHFactor(), o.DilationWFactor()), groups=groups,
            bias=len(ins) > 2 and ins[2] >= 0, fused=o.FusedActivationFunction(),
        )

    def _dense(self, op: Any) -> None:
        ins = self._inputs(op)
        x = ins[0]
        o = self.options(op, "FullyConnectedOptions")
        fan_in = self.shapes[ins[1]][-1]
        if len(self.shapes[x]) != 2:  # TFLite flattens the input to (N, K) itself
            flat = (math.prod(self.shapes[x]) // fan_in, fan_in)
            index = len(self.shapes)
            self.shapes.append(flat)
            self.tensors.append(self.tensors[x])
            reshape = Op(name=self._name(f"{self.tname(x)}/flatten"), kind=Kind.RESHAPE,
                         inputs=(self.graph.shape_of(self.producer[x]),), output=flat,
                         bits=_BITS.get(self.tensors[x].Type(), 32))
            self.producer[index] = self.graph.add(reshape, [self.producer[x]])
            x = index
        self.emit(op, Kind.DENSE, [x], bias=len(ins) > 2 and ins[2] >= 0,
                  fused=o.FusedActivationFunction() if o else 0)

    def _matmul(self, op: Any) -> None:
        self.emit(op, Kind.MATMUL, self.activations(op))

    def _pool(self, op: Any) -> None:
        o = self.options(op, "Pool2DOptions")
        kind = Kind.MAX_POOL if self.codes[op.OpcodeIndex()] == Builtin.MAX_POOL_2D else Kind.AVG_POOL
        self.emit(op, kind, self.activations(op)[:1], kernel=(o.FilterHeight(), o.FilterWidth()),
                  stride=(o.StrideH(), o.StrideW()), fused=o.FusedActivationFunction())

    def _mean(self, op: Any) -> None:
        x = self._inputs(op)[0]
        axes = self.const(op, 1)
        shape = self.shapes[x]
        if len(shape) != 4 or axes is None or sorted(int(a) % 4 for a in axes.reshape(-1)) != [1, 2]:
            self._unsupported(op, "MEAN (over other axes than height and width)")
            return
        self.emit(op, Kind.GLOBAL_AVG_POOL, [x], kernel=(shape[1], shape[2]))

    def _binary(self, op: Any) -> None:
        code = self.codes[op.OpcodeIndex()]
        kind = Kind.ADD if code in (Builtin.ADD, Builtin.SUB) else Kind.MUL
        consts = [self.const(op, p) for p in range(2) if self._inputs(op)[p] in self.consts]
        zero = code == Builtin.MUL and any(c is not None and not np.any(c) for c in consts)
        table = {Builtin.ADD: "AddOptions", Builtin.SUB: "SubOptions", Builtin.MUL: "MulOptions",
                 Builtin.DIV: "DivOptions"}[code]
        o = self.options(op, table)
        self.emit(op, kind, self.activations(op), tag="zero" if zero else "",
                  fused=o.FusedActivationFunction() if o else 0)

    def _unary(self, op: Any, kind: Kind, attrs: tuple = ()) -> None:
        if kind == Kind.LEAKY_RELU:
            o = self.options(op, "LeakyReluOptions")
            attrs = (("alpha", float(o.Alpha()) if o else 0.2),)
        if kind == Kind.RESIZE:
            mode = "bilinear" if self.codes[op.OpcodeIndex()] == Builtin.RESIZE_BILINEAR else "nearest"
            attrs = (("mode", mode),)
        self.emit(op, kind, self.activations(op)[:1], attrs=attrs)

    def _dequantize(self, op: Any) -> None:  # of an activation; constant ones are folded
        self.emit(op, Kind.DEQUANTIZE, self.activations(op))

    def _concat(self, op: Any) -> None:
        o = self.options(op, "ConcatenationOptions")
        out = int(op.OutputsAsNumpy()[0])
        rank = len(self.shapes[out])
        axis = o.Axis() % rank
        if rank == 4:
            axis = _NHWC_TO_NCHW_AXIS[axis]
        self.emit(op, Kind.CONCAT, self.activations(op), attrs=(("axis", axis),),
                  fused=o.FusedActivationFunction())

    def _pad(self, op: Any) -> None:
        x = self._inputs(op)[0]
        pads = self.const(op, 1)
        attrs: tuple = ()
        if pads is not None and pads.shape == (4, 2) and not pads[0].any() and not pads[3].any():
            attrs = (("pads", (int(pads[1][0]), int(pads[1][1]), int(pads[2][0]), int(pads[2][1]))),)
        self.emit(op, Kind.PAD, [x], attrs=attrs)

    def _unsupported(self, op: Any, what: str) -> None:
        """An op of a supported type used in a way the IR cannot express."""
        if not self.allow_unknown:
            raise EdgesimError(
                f"{self.path}: unsupported TFLite ops: {what} ×1; "
                "pass allow_unknown=True (--allow-unknown) to price them as elementwise passes"
            )
        self.emit(op, Kind.UNKNOWN, self.activations(op), tag="unknown", attrs=(("tflite_op", what),))


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))
