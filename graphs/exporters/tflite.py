"""`OpGraph` → a runnable TFLite flatbuffer with random weights, fp32 or int8.

Written with the flatbuffer builder of the `tflite` package (the TFLite schema), no
TensorFlow. The file looks like the TFLite converter's output for the network, so LiteRT
runs what it would run on a phone:

- tensors are NHWC; batch norms are folded into the conv or dense layer before them (TFLite
  has no batch-norm op), elsewhere written as a per-channel MUL then ADD; duplicate
  weightless ops (the same op on the same tensors, such as the ReLU each NAS-Bench-201
  conv edge applies to a shared node) are written once, as the converter's common-
  subexpression elimination leaves them; relu and relu6 become the fused activation of the
  op before them where that op has no other consumer (duplicates merged);
- hard-sigmoid is the converter's `ADD(x, 3)` with a fused relu6, then `MUL(·, 1/6)`;
  swish is `x * LOGISTIC(x)`; a global average pool is `MEAN` over H and W;
- int8 (`precision="int8"`): weights symmetric per output channel (conv, depthwise and
  dense), int32 biases at input scale × weight scale, activations per tensor; the float
  input is quantized by a `QUANTIZE` op and each output dequantized by a `DEQUANTIZE`, as
  the converter does for float inputs and outputs. Activation scales are arbitrary (the
  weights are random); the ops whose kernels fix their output range (logistic, softmax)
  get the scale TFLite requires.

Conv and pool padding must be TFLite's SAME or VALID (sizes are checked); grouped convs,
transposes, matmuls of two activations and `unknown` ops cannot be written. The importer
(`graphs.importers.tflite`) reads the file back to the source graph's op kinds, shapes and
MACs, batch norms folded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Builtin
from tflite.TensorType import TensorType

from graphs.errors import EdgesimError
from graphs.files import atomic_file, check_target
from graphs.flat import canonical_ops, merged_consumers
from graphs.graph import OpGraph
from graphs.ops import Kind, Op, Shape

PRECISIONS = ("fp32", "int8")
# Per-tensor activation quantization: any scale runs at the same speed; this one keeps
# O(1) activations in range. Outputs of logistic and softmax must be 1/256, -128.
_ACT_SCALE = 0.05
_UNIT_RANGE = (1 / 256, -128)
_FUSED = {Kind.RELU: 1, Kind.RELU6: 3}  # tflite.ActivationFunctionType
_NCHW_TO_NHWC_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}


def export_tflite(graph: OpGraph, path: str | Path, precision: str = "fp32", seed: int = 0) -> Path:
    """Write `graph` as a TFLite file with seeded random weights; return the path. Written
    to a temporary name and renamed, so a failure leaves nothing behind."""
    path = check_target(path)
    data = to_tflite(graph, precision, seed)
    with atomic_file(path, "wb") as handle:
        handle.write(data)
    return path


def to_tflite(graph: OpGraph, precision: str = "fp32", seed: int = 0) -> bytes:
    """The TFLite flatbuffer of `graph` (see the module docstring)."""
    if precision not in PRECISIONS:
        raise EdgesimError(f"TFLite export precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    writer = _Writer(graph, precision == "int8", np.random.default_rng(seed))
    writer.run()
    return writer.serialize()


def nhwc(shape: Shape) -> Shape:
    return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape)


@dataclass
class _Tensor:
    name: str
    shape: Shape
    type: int
    data: bytes = b""
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    axis: int = 0


@dataclass
class _Operator:
    code: int | str
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None  # (options table name, fields)
    fused: int = 0  # ActivationFunctionType, written into options' FusedActivationFunction


@dataclass
class _Writer:
    graph: OpGraph
    int8: bool
    rng: np.random.Generator
    tensors: list[_Tensor] = field(default_factory=list)
    operators: list[_Operator] = field(default_factory=list)
    produced: dict[str, int] = field(default_factory=dict)  # op/input name → tensor index
    producer_op: dict[str, _Operator] = field(default_factory=dict)

    def run(self) -> None:
        handlers: dict[Kind, Callable[[Op, list[int]], int]] = {
            Kind.CONV2D: self._conv, Kind.DEPTHWISE_CONV2D: self._conv, Kind.DENSE: self._dense,
            Kind.AVG_POOL: self._pool, Kind.MAX_POOL: self._pool, Kind.GLOBAL_AVG_POOL: self._mean,
            Kind.ADD: self._binary, Kind.MUL: self._binary, Kind.BATCH_NORM: self._batch_norm,
            Kind.RELU: self._activation, Kind.RELU6: self._activation, Kind.LEAKY_RELU: self._unary,
            Kind.HARD_SWISH: self._unary, Kind.SIGMOID: self._unary, Kind.TANH: self._unary,
            Kind.GELU: self._unary, Kind.SOFTMAX: self._unary, Kind.SWISH: self._swish,
            Kind.HARD_SIGMOID: self._hard_sigmoid, Kind.CONCAT: self._concat, Kind.RESHAPE: self._reshape,
            Kind.PAD: self._pad, Kind.RESIZE: self._resize,
        }
        # Duplicate weightless ops are written once, as the converter's common-
        # subexpression elimination leaves them; readers are counted after merging.
        ops = self.graph.ops()
        flat = self.graph.flat()
        canon = canonical_ops(flat)
        self.canonical = {op.name: ops[canon[i]].name for i, op in enumerate(ops)}
        self.consumers = dict(zip((op.name for op in ops), merged_consumers(flat, canon), strict=True))
        self.outputs = set(self.graph.outputs())
        self.inputs = []
        for name, shape in self.graph.inputs.items():
            index = self.tensor(name, nhwc(shape), TensorType.FLOAT32)
            if self.int8:
                quantized = self.activation(f"{name}/quantized", nhwc(shape))
                self.operator(Builtin.QUANTIZE, [index], quantized)
                self.produced[name] = quantized
            else:
                self.produced[name] = index
            self.inputs.append(index)
        for op in ops:
            first = self.canonical[op.name]
            if first != op.name:
                self.produced[op.name] = self.produced[first]
                if first in self.producer_op:
                    self.producer_op[op.name] = self.producer_op[first]
                continue
            handler = handlers.get(op.kind)
            if handler is None:
                raise EdgesimError(
                    f"graph {self.graph.name!r}: op {op.name!r} is kind {op.kind.value}; "
                    "edgesim cannot write it to TFLite"
                )
            sources = [self.produced[s] for s in self.graph.sources(op.name)]
            self.produced[op.name] = handler(op, sources)
        self.output_indices = []
        for name in self.graph.outputs():
            index = self.produced[name]
            if self.int8:
                out = self.tensor(f"{name}/float", self.tensors[index].shape, TensorType.FLOAT32)
                self.operator(Builtin.DEQUANTIZE, [index], out)
                index = out
            self.output_indices.append(index)

    def first_source(self, op: Op) -> str:
        """The name of the op's first source, duplicates merged."""
        name = self.graph.sources(op.name)[0]
        return self.canonical.get(name, name)

    # -- tensors and operators ----------------------------------------------------------
    def tensor(self, name: str, shape: Shape, type_: int, data: bytes = b"", **quant) -> int:
        self.tensors.append(_Tensor(name, tuple(int(d) for d in shape), type_, data, **quant))
        return len(self.tensors) - 1

    def activation(self, name: str, shape: Shape, scale: tuple[float, int] | None = None) -> int:
        """An activation tensor: float32, or int8 with per-tensor quantization."""
        if not self.int8:
            return self.tensor(name, shape, TensorType.FLOAT32)
        s, zp = scale or (_ACT_SCALE, 0)
        return self.tensor(name, shape, TensorType.INT8, scale=(s,), zero_point=(zp,))

    def operator(self, code: int, inputs: list[int], output: int, options: tuple[str, dict] | None = None) -> int:
        self.operators.append(_Operator(code, inputs, [output], options))
        return output

    def emit(self, op: Op, code: int, inputs: list[int], options: tuple[str, dict] | None = None,
             scale: tuple[float, int] | None = None) -> int:
        out = self.activation(op.name, nhwc(op.output), scale)
        self.operator(code, inputs, out, options)
        self.producer_op[op.name] = self.operators[-1]
        return out

    def weights(self, name: str, shape: Shape, fan_in: int, channel_axis: int) -> tuple[int, np.ndarray]:
        """He-normal weights; int8 per channel along `channel_axis`. Returns the tensor
        and the per-channel scales (ones in fp32)."""
        values = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
        if not self.int8:
            return self.tensor(name, shape, TensorType.FLOAT32, values.tobytes()), np.ones(shape[channel_axis])
        reduce = tuple(i for i in range(len(shape)) if i != channel_axis)
        scales = np.maximum(np.abs(values).max(axis=reduce), 1e-6) / 127.0
        q = np.clip(np.round(values / np.expand_dims(scales, reduce)), -127, 127).astype(np.int8)
        index = self.tensor(name, shape, TensorType.INT8, q.tobytes(), scale=tuple(scales.tolist()),
                            zero_point=(0,) * len(scales), axis=channel_axis)
        return index, scales

    def bias(self, name: str, channels: int, weight_scales: np.ndarray, input_scale: float) -> int:
        values = self.rng.standard_normal(channels, dtype=np.float32) * np.float32(0.1)
        if not self.int8:
            return self.tensor(name, (channels,), TensorType.FLOAT32, values.tobytes())
        scales = weight_scales * input_scale
        q = np.round(values / scales).astype(np.int32)
        return self.tensor(name, (channels,), TensorType.INT32, q.tobytes(), scale=tuple(scales.tolist()),
                           zero_point=(0,) * channels)

    def constant(self, name: str, value: float) -> int:
        """A scalar operand of an add or mul."""
        if not self.int8:
            return self.tensor(name, (), TensorType.FLOAT32, np.float32(value).tobytes())
        scale = abs(value) / 127 if value else 1.0
        q = np.int8(127 if value > 0 else (-127 if value < 0 else 0))
        return self.tensor(name, (), TensorType.INT8, q.tobytes(), scale=(scale,), zero_point=(0,))

    def ints(self, name: str, values, shape: Shape | None = None) -> int:
        array = np.asarray(values, dtype=np.int32)
        return self.tensor(name, shape or array.shape, TensorType.INT32, array.tobytes())

    def scale_of(self, index: int) -> float:
        return self.tensors[index].scale[0] if self.tensors[index].scale else 1.0

    # -- kinds ------------------------------------------------------------------------
    def _padding(self, op: Op, size: Shape) -> int:
        """tflite.Padding: VALID (1) where it gives the output size, else SAME (0)."""
        out = op.output[2:]
        valid = tuple((i - d * (k - 1) - 1) // s + 1 for i, k, s, d in zip(size, op.kernel, op.stride, op.dilation,
                                                                            strict=True))
        if valid == out:
            return 1
        if tuple(-(-i // s) for i, s in zip(size, op.stride, strict=True)) == out:
            return 0
        raise EdgesimError(
            f"graph {self.graph.name!r}: op {op.name!r} maps {list(size)} to {list(out)}, neither TFLite's "
            "SAME nor VALID padding; edgesim cannot write it to TFLite"
        )

    def _conv(self, op: Op, x: list[int]) -> int:
        c_in, c_out = op.inputs[0][1], op.output[1]
        kh, kw = op.kernel
        fields = {"Padding": self._padding(op, op.inputs[0][2:]), "StrideH": op.stride[0],
                  "StrideW": op.stride[1], "DilationHFactor": op.dilation[0], "DilationWFactor": op.dilation[1]}
        if op.kind == Kind.DEPTHWISE_CONV2D:
            w, scales = self.weights(f"{op.name}/weight", (1, kh, kw, c_out), kh * kw, 3)
            code, options = Builtin.DEPTHWISE_CONV_2D, ("DepthwiseConv2DOptions",
                                                        {**fields, "DepthMultiplier": c_out // c_in})
        else:
            w, scales = self.weights(f"{op.name}/weight", (c_out, kh, kw, c_in), kh * kw * c_in, 0)
            code, options = Builtin.CONV_2D, ("Conv2DOptions", fields)
        b = self.bias(f"{op.name}/bias", c_out, scales, self.scale_of(x[0]))
        return self.emit(op, code, [x[0], w, b], options)

    def _dense(self, op: Op, x: list[int]) -> int:
        if len(op.inputs[0]) != 2:
            raise EdgesimError(
                f"graph {self.graph.name!r}: op {op.name!r} is a dense layer on a rank-{len(op.inputs[0])} "
                "tensor; edgesim writes only (N, K) dense layers to TFLite"
            )
        fan_in, units = op.inputs[0][1], op.output[1]
        w, scales = self.weights(f"{op.name}/weight", (units, fan_in), fan_in, 0)
        b = self.bias(f"{op.name}/bias", units, scales, self.scale_of(x[0]))
        return self.emit(op, Builtin.FULLY_CONNECTED, [x[0], w, b], ("FullyConnectedOptions", {}))

    def _batch_norm(self, op: Op, x: list[int]) -> int:
        """Folded into the conv or dense layer before it (whose bias stands for it), as the
        converter does; elsewhere (after an add) the converter's per-channel MUL and ADD."""
        source = self.first_source(op)
        producer = self.producer_op.get(source)
        if (producer is not None and producer.code in _FOLDING_CODES and self.consumers[source] == 1
                and source not in self.outputs and producer.fused == 0):
            self.producer_op[op.name] = producer
            return x[0]
        channels = op.output[1]
        scaled = self.activation(f"{op.name}/scale", nhwc(op.output))
        self.operator(Builtin.MUL, [x[0], self.vector(f"{op.name}/gamma", channels, 1.0)], scaled, ("MulOptions", {}))
        return self.emit(op, Builtin.ADD, [scaled, self.vector(f"{op.name}/beta", channels, 0.0)], ("AddOptions", {}))

    def vector(self, name: str, channels: int, offset: float) -> int:
        """A per-channel constant operand: offset + 0.1 · N(0, 1)."""
        values = np.float32(offset) + self.rng.standard_normal(channels, dtype=np.float32) * np.float32(0.1)
        if not self.int8:
            return self.tensor(name, (channels,), TensorType.FLOAT32, values.tobytes())
        scale = float(np.abs(values).max()) / 127 or 1.0
        q = np.clip(np.round(values / scale), -127, 127).astype(np.int8)
        return self.tensor(name, (channels,), TensorType.INT8, q.tobytes(), scale=(scale,), zero_point=(0,))

    def _activation(self, op: Op, x: list[int]) -> int:
        source = self.first_source(op)
        producer = self.producer_op.get(source)
        clip = op.attr("clip")
        if (producer is not None and producer.fused == 0 and clip is None and self.consumers[source] == 1
                and source not in self.outputs and producer.code in _FUSING_CODES):
            producer.fused = _FUSED[op.kind]
            self.producer_op[op.name] = producer
            return x[0]
        return self._unary(op, x)

    def _unary(self, op: Op, x: list[int]) -> int:
        code, options, scale = {
            Kind.RELU: (Builtin.RELU, None, None),
            Kind.RELU6: (Builtin.RELU6, None, None),
            Kind.LEAKY_RELU: (Builtin.LEAKY_RELU, ("LeakyReluOptions", {"Alpha": float(op.attr("alpha", 0.01))}),
                              None),
            Kind.HARD_SWISH: (Builtin.HARD_SWISH, None, None),
            Kind.SIGMOID: (Builtin.LOGISTIC, None, _UNIT_RANGE),
            Kind.TANH: (Builtin.TANH, None, (1 / 128, 0)),
            Kind.GELU: (Builtin.GELU, ("GeluOptions", {}), None),
            Kind.SOFTMAX: (Builtin.SOFTMAX, ("SoftmaxOptions", {"Beta": 1.0}), _UNIT_RANGE),
        }[op.kind]
        if op.kind == Kind.RELU6 and op.attr("clip") not in (None, (0.0, 6.0)):
            raise EdgesimError(f"graph {self.graph.name!r}: op {op.name!r} clips to {op.attr('clip')}; "
                               "TFLite has relu6 and relu_n1_to_1 only")
        return self.emit(op, code, x[:1], options, scale)

    def _binary(self, op: Op, x: list[int]) -> int:
        if len(x) > 2:
            raise EdgesimError(f"graph {self.graph.name!r}: op {op.name!r} has {len(x)} inputs; "
                               "TFLite's add and mul take two")
        if len(x) == 1:  # a constant operand: 0 for the `none` edge's multiply
            value = 0.0 if op.tag == "zero" else (0.5 if op.kind == Kind.MUL else 0.25)
            x = [x[0], self.constant(f"{op.name}/const", value)]
        code, options = ((Builtin.ADD, ("AddOptions", {})) if op.kind == Kind.ADD
                         else (Builtin.MUL, ("MulOptions", {})))
        return self.emit(op, code, x, options)

    def _hard_sigmoid(self, op: Op, x: list[int]) -> int:
        shifted = self.activation(f"{op.name}/add", nhwc(op.output))
        self.operator(Builtin.ADD, [x[0], self.constant(f"{op.name}/three", 3.0)], shifted, ("AddOptions", {}))
        self.operators[-1].fused = _FUSED[Kind.RELU6]
        return self.emit(op, Builtin.MUL, [shifted, self.constant(f"{op.name}/sixth", 1 / 6)], ("MulOptions", {}))

    def _swish(self, op: Op, x: list[int]) -> int:
        gate = self.activation(f"{op.name}/sigmoid", nhwc(op.output), _UNIT_RANGE)
        self.operator(Builtin.LOGISTIC, [x[0]], gate)
        return self.emit(op, Builtin.MUL, [x[0], gate], ("MulOptions", {}))

    def _pool(self, op: Op, x: list[int]) -> int:
        fields = {"Padding": self._padding(op, op.inputs[0][2:]), "StrideH": op.stride[0], "StrideW": op.stride[1],
                  "FilterHeight": op.kernel[0], "FilterWidth": op.kernel[1]}
        code = Builtin.MAX_POOL_2D if op.kind == Kind.MAX_POOL else Builtin.AVERAGE_POOL_2D
        return self.emit(op, code, x, ("Pool2DOptions", fields))

    def _mean(self, op: Op, x: list[int]) -> int:
        axes = self.ints(f"{op.name}/axes", [1, 2])
        return self.emit(op, Builtin.MEAN, [x[0], axes], ("ReducerOptions", {"KeepDims": len(op.output) == 4}))

    def _concat(self, op: Op, x: list[int]) -> int:
        axis = int(op.attr("axis", 1))
        if len(op.output) == 4:
            axis = _NCHW_TO_NHWC_AXIS[axis % 4]
        return self.emit(op, Builtin.CONCATENATION, x, ("ConcatenationOptions", {"Axis": axis}))

    def _reshape(self, op: Op, x: list[int]) -> int:
        shape = self.ints(f"{op.name}/shape", nhwc(op.output))
        return self.emit(op, Builtin.RESHAPE, [x[0], shape])

    def _pad(self, op: Op, x: list[int]) -> int:
        pads = op.attr("pads")
        if pads is None or op.attr("mode", "constant") != "constant":
            raise EdgesimError(f"graph {self.graph.name!r}: op {op.name!r} is not a constant spatial pad; "
                               "edgesim cannot write it to TFLite")
        top, bottom, left, right = pads
        paddings = self.ints(f"{op.name}/paddings", [[0, 0], [top, bottom], [left, right], [0, 0]])
        return self.emit(op, Builtin.PAD, [x[0], paddings])

    def _resize(self, op: Op, x: list[int]) -> int:
        size = self.ints(f"{op.name}/size", list(op.output[2:]))
        if str(op.attr("mode", "nearest")) in ("linear", "bilinear"):
            return self.emit(op, Builtin.RESIZE_BILINEAR, [x[0], size], ("ResizeBilinearOptions", {}))
        return self.emit(op, Builtin.RESIZE_NEAREST_NEIGHBOR, [x[0], size], ("ResizeNearestNeighborOptions", {}))

    # -- flatbuffer ---------------------------------------------------------------------
    def serialize(self) -> bytes:
        b = flatbuffers.Builder(1024)
        codes = sorted({o.code for o in self.operators}, key=str)
        code_index = {c: i for i, c in enumerate(codes)}
        # Buffer 0 is the empty sentinel; each constant tensor gets its own buffer.
        buffers = [b""] + [t.data for t in self.tensors if t.data]
        buffer_of, next_buffer = [], 1
        for t in self.tensors:
            buffer_of.append(next_buffer if t.data else 0)
            next_buffer += bool(t.data)
        buffer_offsets = []
        for data in buffers:
            vector = None
            if data:
                b.StartVector(1, len(data), 16)  # aligned so LiteRT can map weights in place
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                vector = b.EndVector()
            tflite.BufferStart(b)
            if vector is not None:
                tflite.BufferAddData(b, vector)
            buffer_offsets.append(tflite.BufferEnd(b))
        tensor_offsets = [self._tensor(b, t, buffer_of[i]) for i, t in enumerate(self.tensors)]
        operator_offsets = [self._operator(b, o, code_index[o.code]) for o in self.operators]
        subgraph = self._subgraph(b, tensor_offsets, operator_offsets)
        code_offsets = []
        for c in codes:  # a str is a custom op's name
            custom = b.CreateString(c) if isinstance(c, str) else None
            builtin = Builtin.CUSTOM if custom else c
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
            tflite.OperatorCodeAddBuiltinCode(b, builtin)
            if custom:
                tflite.OperatorCodeAddCustomCode(b, custom)
            tflite.OperatorCodeAddVersion(b, 1)
            code_offsets.append(tflite.OperatorCodeEnd(b))
        description = b.CreateString(f"edgesim export of {self.graph.name}")
        codes_vec = _vector(b, tflite.ModelStartOperatorCodesVector, code_offsets)
        subgraphs_vec = _vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
        buffers_vec = _vector(b, tflite.ModelStartBuffersVector, buffer_offsets)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, subgraphs_vec)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buffers_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def _tensor(b: flatbuffers.Builder, t: _Tensor, buffer: int) -> int:
        name = b.CreateString(t.name)
        shape = b.CreateNumpyVector(np.asarray(t.shape, dtype=np.int32))
        quant = None
        if t.scale:
            scale = b.CreateNumpyVector(np.asarray(t.scale, dtype=np.float32))
            zero = b.CreateNumpyVector(np.asarray(t.zero_point, dtype=np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zero)
            tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
            quant = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, t.type)
        tflite.TensorAddBuffer(b, buffer)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        return tflite.TensorEnd(b)

    @staticmethod
    def _operator(b: flatbuffers.Builder, o: _Operator, code_index: int) -> int:
        inputs = b.CreateNumpyVector(np.asarray(o.inputs, dtype=np.int32))
        outputs = b.CreateNumpyVector(np.asarray(o.outputs, dtype=np.int32))
        options = None
        if o.options is not None:
            table, fields = o.options
            if o.fused:
                fields = {**fields, "FusedActivationFunction": o.fused}
            getattr(tflite, f"{table}Start")(b)
            for key, value in fields.items():
                getattr(tflite, f"{table}Add{key}")(b, value)
            options = (getattr(tflite.BuiltinOptions, table), getattr(tflite, f"{table}End")(b))
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, code_index)
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, options[0])
            tflite.OperatorAddBuiltinOptions(b, options[1])
        return tflite.OperatorEnd(b)

    def _subgraph(self, b: flatbuffers.Builder, tensors: list[int], operators: list[int]) -> int:
        tensors_vec = _vector(b, tflite.SubGraphStartTensorsVector, tensors)
        inputs = b.CreateNumpyVector(np.asarray(self.inputs, dtype=np.int32))
        outputs = b.CreateNumpyVector(np.asarray(self.output_indices, dtype=np.int32))
        operators_vec = _vector(b, tflite.SubGraphStartOperatorsVector, operators)
        name = b.CreateString(self.graph.name)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_vec)
        tflite.SubGraphAddInputs(b, inputs)
        tflite.SubGraphAddOutputs(b, outputs)
        tflite.SubGraphAddOperators(b, operators_vec)
        tflite.SubGraphAddName(b, name)
        return tflite.SubGraphEnd(b)


_FOLDING_CODES = {Builtin.CONV_2D, Builtin.DEPTHWISE_CONV_2D, Builtin.FULLY_CONNECTED}
_FUSING_CODES = {Builtin.CONV_2D, Builtin.DEPTHWISE_CONV_2D, Builtin.FULLY_CONNECTED, Builtin.ADD, Builtin.MUL,
                 Builtin.AVERAGE_POOL_2D, Builtin.MAX_POOL_2D}


def _vector(b: flatbuffers.Builder, start: Callable, offsets: list[int]) -> int:
    start(b, len(offsets))
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()
