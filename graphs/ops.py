"""The op record of the IR and the one place where an op's work is derived.

Activation tensors are NCHW (batch first); dense/matmul tensors end in the feature axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from graphs.errors import EdgesimError

Shape = tuple[int, ...]


class Kind(StrEnum):
    CONV2D = "conv2d"
    DEPTHWISE_CONV2D = "depthwise_conv2d"
    GROUPED_CONV2D = "grouped_conv2d"
    DENSE = "dense"
    MATMUL = "matmul"
    AVG_POOL = "avg_pool"
    MAX_POOL = "max_pool"
    GLOBAL_AVG_POOL = "global_avg_pool"
    ADD = "add"
    MUL = "mul"
    RELU = "relu"
    RELU6 = "relu6"
    LEAKY_RELU = "leaky_relu"
    HARD_SWISH = "hard_swish"
    HARD_SIGMOID = "hard_sigmoid"
    SIGMOID = "sigmoid"
    SWISH = "swish"
    GELU = "gelu"
    TANH = "tanh"
    BATCH_NORM = "batch_norm"
    CONCAT = "concat"
    RESIZE = "resize"
    RESHAPE = "reshape"
    TRANSPOSE = "transpose"
    PAD = "pad"
    SOFTMAX = "softmax"
    QUANTIZE = "quantize"  # float → int8/uint8 (TFLite QUANTIZE)
    DEQUANTIZE = "dequantize"  # int8/uint8 → float
    DETECTION_POSTPROCESS = "detection_postprocess"  # SSD box decode + NMS (TFLite_Detection_PostProcess)
    UNKNOWN = "unknown"


CONV_KINDS = frozenset({Kind.CONV2D, Kind.DEPTHWISE_CONV2D, Kind.GROUPED_CONV2D})
MAC_KINDS = CONV_KINDS | {Kind.DENSE, Kind.MATMUL}
ACTIVATION_KINDS = frozenset(
    {
        Kind.RELU, Kind.RELU6, Kind.LEAKY_RELU, Kind.HARD_SWISH, Kind.HARD_SIGMOID,
        Kind.SIGMOID, Kind.SWISH, Kind.GELU, Kind.TANH,
    }
)
ELEMENTWISE_KINDS = ACTIVATION_KINDS | {
    Kind.ADD, Kind.MUL, Kind.BATCH_NORM, Kind.QUANTIZE, Kind.DEQUANTIZE, Kind.UNKNOWN,
}
POOL_KINDS = frozenset({Kind.AVG_POOL, Kind.MAX_POOL, Kind.GLOBAL_AVG_POOL})
DATA_MOVEMENT_KINDS = frozenset(
    {Kind.CONCAT, Kind.RESIZE, Kind.RESHAPE, Kind.TRANSPOSE, Kind.PAD}
)


class Category(StrEnum):
    """Coarse class of an op, the granularity cost models keep efficiencies at."""

    CONV = "conv"
    POINTWISE = "pointwise"  # 1×1 conv, grouped or not (a GEMM per group): decided by `Op.category`
    DEPTHWISE = "depthwise"
    DENSE = "dense"
    ELEMENTWISE = "elementwise"
    POOL = "pool"
    DATA = "data"
    SOFTMAX = "softmax"


_CATEGORY = {
    **dict.fromkeys(CONV_KINDS - {Kind.DEPTHWISE_CONV2D}, Category.CONV),
    Kind.DEPTHWISE_CONV2D: Category.DEPTHWISE,
    Kind.DENSE: Category.DENSE,
    Kind.MATMUL: Category.DENSE,
    **dict.fromkeys(ELEMENTWISE_KINDS, Category.ELEMENTWISE),
    **dict.fromkeys(POOL_KINDS, Category.POOL),
    **dict.fromkeys(DATA_MOVEMENT_KINDS, Category.DATA),
    Kind.SOFTMAX: Category.SOFTMAX,
    # Priced as softmax: scalar loops of exponentials, divisions and compares that SIMD
    # kernels do not cover.
    Kind.DETECTION_POSTPROCESS: Category.SOFTMAX,
}


def category(kind: str) -> Category:
    """The category of an op kind; `Op.category` also tells 1×1 convs (`pointwise`) apart."""
    return _CATEGORY[kind]


# Arithmetic per output element of the kinds that are not MAC or pooling ops, from their
# formulas (not a hardware figure): hard_swish = x * relu6(x + 3) / 6 is 4 operations;
# sigmoid and tanh need an exponential (~8 with a polynomial approximation) plus a
# division; swish adds a multiply to sigmoid; gelu's tanh approximation is ~14; batch norm
# (unfolded) is a multiply-add; (de)quantizing is a scale, a shift and a rounding; data
# movement copies each output element once; an unknown op is counted as one operation per
# output.
ELEMENT_OPS = {
    Kind.RELU: 1, Kind.RELU6: 2, Kind.LEAKY_RELU: 2, Kind.HARD_SIGMOID: 3, Kind.HARD_SWISH: 4,
    Kind.SIGMOID: 10, Kind.TANH: 10, Kind.SWISH: 11, Kind.GELU: 14, Kind.BATCH_NORM: 2,
    Kind.ADD: 1, Kind.MUL: 1, Kind.SOFTMAX: 12, Kind.QUANTIZE: 3, Kind.DEQUANTIZE: 2, Kind.UNKNOWN: 1,
    **dict.fromkeys(DATA_MOVEMENT_KINDS, 1),
}

# SSD detection post-processing (TFLite_Detection_PostProcess with the TF OD API export's
# fast NMS, one class per detection): per anchor and class the score is dequantized (2)
# and compared with the anchor's best (1); per anchor the box is decoded from its 4
# quantized offsets (4 dequantizes, 2 exponentials, ~14 scale/offset/corner operations:
# DECODE_OPS); then each of `max_detections` picks takes the best remaining candidate and
# suppresses by IoU (2 min, 2 max, 2 clamps, 3 multiply/add, a divide, a compare: IOU_OPS)
# against every anchor, the bound when few scores pass the threshold filter.
POSTPROCESS_SCORE_OPS = ELEMENT_OPS[Kind.DEQUANTIZE] + 1
DECODE_OPS = 4 * ELEMENT_OPS[Kind.DEQUANTIZE] + 2 * ELEMENT_OPS[Kind.SIGMOID] + 14
IOU_OPS = 11

# Every kind has a category and a work rule: a new kind without them fails at import.
assert set(_CATEGORY) == set(Kind), f"kinds without a category: {set(Kind) - set(_CATEGORY)}"
assert set(ELEMENT_OPS) | MAC_KINDS | POOL_KINDS | {Kind.DETECTION_POSTPROCESS} == set(Kind), (
    f"kinds without a work rule: {set(Kind) - set(ELEMENT_OPS) - MAC_KINDS - POOL_KINDS}"
)


def _prod(shape: Shape) -> int:
    return math.prod(shape)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: what it reads, what it writes and how. Immutable.

    `kernel`, `stride`, `dilation` and `groups` matter to convolutions and pooling;
    `bias` to conv and dense. `tag` groups ops into patterns for reports (for instance
    "se" for squeeze-and-excite) and marks special values ("zero": a value that does not
    depend on the network input, such as the NAS-Bench-201 `none` edge x·0 and what is
    computed from it). `attrs` holds the remaining attributes as sorted
    (key, value) pairs so that the op stays hashable.

    `macs`, `params`, `in_elements` and `out_elements` are derived once, here.
    """

    name: str
    kind: Kind
    inputs: tuple[Shape, ...]
    output: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False
    bits: int = 32
    tag: str = ""
    attrs: tuple[tuple[str, Any], ...] = ()
    macs: int = field(init=False, compare=False, repr=False)
    params: int = field(init=False, compare=False, repr=False)
    in_elements: int = field(init=False, compare=False, repr=False)
    out_elements: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            kind = self.kind if type(self.kind) is Kind else Kind(self.kind)
        except ValueError:
            raise EdgesimError(
                f"op {self.name!r}: unknown kind {self.kind!r}; known kinds: "
                + ", ".join(k.value for k in Kind)
            ) from None
        setter = object.__setattr__
        setter(self, "kind", kind)
        if not self.inputs and kind not in (Kind.UNKNOWN,):
            raise EdgesimError(f"op {self.name!r} ({kind}) has no inputs")
        macs, params = _work(self, kind)
        setter(self, "macs", macs)
        setter(self, "params", params)
        setter(self, "in_elements", sum(_prod(s) for s in self.inputs))
        setter(self, "out_elements", _prod(self.output))

    @property
    def weight_bytes(self) -> int:
        return self.params * self.bits // 8

    @property
    def in_bytes(self) -> int:
        return self.in_elements * self.bits // 8

    @property
    def out_bytes(self) -> int:
        return self.out_elements * self.bits // 8

    @property
    def category(self) -> Category:
        """`category(kind)`, with 1×1 convolutions reported as `pointwise`: grouped or not,
        each group is one GEMM of the 1×1 shape (K = input channels per group)."""
        if self.kernel == (1, 1) and self.kind in (Kind.CONV2D, Kind.GROUPED_CONV2D):
            return Category.POINTWISE
        return _CATEGORY[self.kind]

    @property
    def signature(self) -> tuple:
        """Everything that determines the op's cost: all fields but the name and tag."""
        return (
            self.kind, self.inputs, self.output, self.kernel, self.stride, self.dilation,
            self.groups, self.bias, self.bits, self.attrs,
        )

    def attr(self, key: str, default: Any = None) -> Any:
        for k, v in self.attrs:
            if k == key:
                return v
        return default


def _work(op: Op, kind: Kind) -> tuple[int, int]:
    """(MACs, parameters) of one op.

    Convention (the MobileNet/EfficientNet papers' and torchvision's): MACs count conv,
    depthwise and dense layers only; parameters are weights + biases + 2 per batch-norm
    channel (gamma and beta; moving statistics are buffers).
    """
    if kind in CONV_KINDS:
        c_in = op.inputs[0][1]
        c_out = op.output[1]
        if op.groups <= 0 or c_in % op.groups or c_out % op.groups:
            raise EdgesimError(
                f"op {op.name!r}: groups={op.groups} must divide input ({c_in}) and "
                f"output ({c_out}) channels"
            )
        taps = op.kernel[0] * op.kernel[1] * (c_in // op.groups)
        return _prod(op.output) * taps, c_out * taps + (c_out if op.bias else 0)
    if kind == Kind.DENSE:
        fan_in, fan_out = op.inputs[0][-1], op.output[-1]
        return _prod(op.output) * fan_in, fan_in * fan_out + (fan_out if op.bias else 0)
    if kind == Kind.MATMUL:
        return _prod(op.output) * op.inputs[0][-1], 0
    if kind == Kind.BATCH_NORM:
        return 0, 2 * op.output[1]
    return 0, 0


# -- lowering: what cost models share about an op's work --------------------------------
def op_work(op: Op) -> float:
    """MACs of a MAC op; element operations otherwise (`ELEMENT_OPS`; pooling reads each
    window tap)."""
    if op.macs:
        return float(op.macs)
    if op.kind in POOL_KINDS:
        return float(op.out_elements * op.kernel[0] * op.kernel[1])
    if op.kind in MAC_KINDS:  # a MAC op with an empty axis
        return 0.0
    if op.kind == Kind.DETECTION_POSTPROCESS:
        return float(postprocess_work(op.inputs[-1], op.attr("max_detections", 10)))
    return float(op.out_elements * ELEMENT_OPS[op.kind])


def postprocess_work(scores: Shape, max_detections: int) -> int:
    """Element operations of SSD post-processing over a (batch, anchors, classes) score
    tensor: score scan, box decode, and `max_detections` IoU sweeps over the anchors."""
    anchors, classes = _prod(scores[:-1]), scores[-1]
    return anchors * (classes * POSTPROCESS_SCORE_OPS + DECODE_OPS + max_detections * IOU_OPS)


def gemm_shape(op: Op) -> tuple[int, int, int, int]:
    """(M, N, K, GEMMs) of a conv, grouped conv or dense op in its plain lowering: one
    M × K by K × N GEMM per group (M = output pixels, N = output channels per group,
    K = kernel taps × input channels per group)."""
    if op.kind in CONV_KINDS:
        m = _prod(op.output) // op.output[1]  # batch × output height × width
        k = op.kernel[0] * op.kernel[1] * op.inputs[0][1] // op.groups
        return m, op.output[1] // op.groups, k, op.groups
    m = _prod(op.output[:-1])  # dense/matmul: every leading axis is a row
    return m, op.output[-1], op.inputs[0][-1], 1


def is_winograd_conv(op: Op) -> bool:
    """A 3×3, stride-1, undilated, ungrouped conv: the shape Winograd kernels take."""
    return op.kind == Kind.CONV2D and op.kernel == (3, 3) and op.stride == (1, 1) and op.dilation == (1, 1)
