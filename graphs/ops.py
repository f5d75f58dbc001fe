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
    UNKNOWN = "unknown"


CONV_KINDS = frozenset({Kind.CONV2D, Kind.DEPTHWISE_CONV2D, Kind.GROUPED_CONV2D})
MAC_KINDS = CONV_KINDS | {Kind.DENSE, Kind.MATMUL}
ACTIVATION_KINDS = frozenset(
    {
        Kind.RELU, Kind.RELU6, Kind.LEAKY_RELU, Kind.HARD_SWISH, Kind.HARD_SIGMOID,
        Kind.SIGMOID, Kind.SWISH, Kind.GELU, Kind.TANH,
    }
)
ELEMENTWISE_KINDS = ACTIVATION_KINDS | {Kind.ADD, Kind.MUL, Kind.BATCH_NORM, Kind.UNKNOWN}
POOL_KINDS = frozenset({Kind.AVG_POOL, Kind.MAX_POOL, Kind.GLOBAL_AVG_POOL})
DATA_MOVEMENT_KINDS = frozenset(
    {Kind.CONCAT, Kind.RESIZE, Kind.RESHAPE, Kind.TRANSPOSE, Kind.PAD}
)


def category(kind: str) -> str:
    """Coarse class of an op kind, the granularity cost models keep efficiencies at.

    One of: conv, pointwise, depthwise, dense, elementwise, pool, data, softmax. `pointwise`
    is not decidable from the kind alone; use `op_category` for that.
    """
    if kind in CONV_KINDS:
        return "depthwise" if kind == Kind.DEPTHWISE_CONV2D else "conv"
    if kind in (Kind.DENSE, Kind.MATMUL):
        return "dense"
    if kind in ELEMENTWISE_KINDS:
        return "elementwise"
    if kind in POOL_KINDS:
        return "pool"
    if kind in DATA_MOVEMENT_KINDS:
        return "data"
    return "softmax"


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
    def category(self) -> str:
        """`category(kind)`, with 1×1 ungrouped convolutions reported as `pointwise`."""
        if self.kind == Kind.CONV2D and self.kernel == (1, 1):
            return "pointwise"
        return category(self.kind)

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
