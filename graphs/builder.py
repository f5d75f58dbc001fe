"""`NetBuilder`: the one way builders write networks, layer by layer, as their papers do.

Every method appends ops to an `OpGraph`, works on the current tensor unless told
otherwise (`x=`), and returns the name of the tensor it produced, which becomes current.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind, Op, Shape

Padding = str | int


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of `divisor`, never more than 10 % down.

    The rule of slim `_make_divisible`, tpu `round_filters`, torchvision and Keras.
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def conv_out_size(size: int, kernel: int, stride: int, padding: Padding, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis.

    `padding` is "same" (TensorFlow: ceil(size / stride)), "valid" or a symmetric int.
    """
    if padding == "same":
        return math.ceil(size / stride)
    pad = 0 if padding == "valid" else int(padding)
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


@dataclass(frozen=True, slots=True)
class _Part:
    """What a part appended: its ops with their producers (k < inputs: the part's k-th
    input, else op k - inputs), the name stems it numbered (stem, times used), the tensor
    it returned (same numbering) and the op it left current."""

    ops: tuple[Op, ...]
    sources: tuple[tuple[int, ...], ...]
    stems: dict[str, int]
    output: int
    current: str
    wired: dict[tuple[str, ...], list[tuple[str, ...]]] = field(default_factory=dict)  # sources by input names


# Parts by (key, scope, tag, bits, input shapes, which inputs are one tensor); bounded, the oldest goes first.
_PARTS: dict[tuple, _Part | None] = {}
_MAX_PARTS = 1 << 15

# A build that appended nothing but parts (`NetBuilder(trace=True)`), as `replay_parts`
# appends it again at another input shape: per part, its record's key less the input
# shapes, which inputs are one tensor, and the tensors it read (0: the graph input, k:
# the output of the k-th part).
Trace = tuple[tuple[tuple, tuple[int, ...], tuple[int, ...]], ...]


def replay_parts(trace: Trace, input_shape: Shape) -> tuple[tuple[Op, ...], tuple[tuple[int, ...], ...]] | None:
    """The ops and their producers (graph input -1) that building the traced network on
    an input of `input_shape` appends, from its parts' records at that shape without
    building; None where a part has no record there (building makes it) or replaying
    would renumber a name. Valid for a build that appends the same parts, wired alike,
    whatever the input shape (a cell); the caller says so."""
    tensors = [(-1, tuple(input_shape))]  # (producer, shape) of the graph input and each part's output
    ops: list[Op] = []
    sources: list[tuple[int, ...]] = []
    stems: set[str] = set()
    for base, alike, reads in trace:
        read = [tensors[r] for r in reads]
        record = _PARTS.get((*base, tuple([shape for _, shape in read]), alike))
        if not record or not stems.isdisjoint(record.stems):
            return None
        stems.update(record.stems)
        n, start = len(read), len(ops) - len(read)
        producers = [producer for producer, _ in read]
        sources += [tuple([producers[k] if k < n else start + k for k in srcs]) for srcs in record.sources]
        ops += record.ops
        out = record.output
        tensors.append(read[out] if out < n else (start + out, record.ops[out - n].output))
    return tuple(ops), tuple(sources)


class _Scope:
    """`NetBuilder.scope`: a plain class, not a generator, since cells enter a scope per
    edge and search loops build thousands of cells."""

    __slots__ = ("builder", "name", "outer", "tag")

    def __init__(self, builder: NetBuilder, name: str, tag: str | None) -> None:
        self.builder, self.name, self.tag = builder, name, tag

    def __enter__(self) -> None:
        b = self.builder
        self.outer = b._prefix
        if self.name:
            b._prefix = f"{self.outer}{self.name}/"
        if self.tag is not None:
            b._tags.append(self.tag)

    def __exit__(self, *exc: object) -> None:
        b = self.builder
        b._prefix = self.outer
        if self.tag is not None:
            b._tags.pop()


class NetBuilder:
    """Appends ops to a graph with one NCHW input named `input`."""

    def __init__(
        self,
        name: str,
        input_shape: Shape = (1, 3, 224, 224),
        *,
        bits: int = 32,
        meta: dict[str, Any] | None = None,
        trace: bool = False,
    ) -> None:
        """With `trace`, `trace()` gives the parts the build appended, if only parts."""
        self.graph = OpGraph(name, {"input": tuple(input_shape)}, meta)
        self.x = "input"
        self.bits = bits
        self._prefix = ""  # the scopes' names, each followed by "/", kept current by `scope`
        self._tags: list[str] = []
        self._names: dict[str, int] = {}  # name stem -> times used
        self._depth = 0  # parts being built around the current op
        self._trace: list | None = [] if trace else None  # None: not traced, or an op outside parts
        self._traced = {self.x: 0}  # tensor -> its number in the trace

    def trace(self) -> Trace | None:
        """The parts this builder appended (`replay_parts`), or None: not traced, or an op
        was appended outside every part."""
        return None if self._trace is None else tuple(self._trace)

    # -- plumbing ---------------------------------------------------------------------
    def shape(self, x: str | None = None) -> Shape:
        return self.graph.shape_of(self.x if x is None else x)

    def channels(self, x: str | None = None) -> int:
        return self.shape(x)[1]

    def scope(self, name: str, tag: str | None = None) -> _Scope:
        """Prefix op names with `name/` (none for ""); with `tag`, tag every op inside
        (e.g. "se"). A context manager."""
        return _Scope(self, name, tag)

    def _name(self, base: str) -> str:
        stem = f"{self._prefix}{base}"
        n = self._names.get(stem, 0)
        self._names[stem] = n + 1
        return stem if n == 0 else f"{stem}_{n}"

    def part(self, key: Hashable, build: Callable[..., str], *inputs: str) -> str:
        """`build(self, *inputs)`: append a piece of network reading only `inputs` and
        return its output. `key` names what it appends given the inputs' shapes (as a
        segment's key does): a part built before with the same key, scope, tag and input
        shapes (and the same inputs alike) is appended again from its record, the same
        ops without building them.
        Search spaces write their recurring pieces (a cell's nodes) as parts, so that a new
        cell costs lookups, not op construction."""
        memo = (key, self._prefix, self._tags[-1] if self._tags else None, self.bits,
                tuple([self.shape(x) for x in inputs]), tuple([inputs.index(x) for x in inputs]))
        if self._trace is not None and not self._depth:
            self._trace_part(memo, inputs)
        record = _PARTS.get(memo, False)
        if record and self._names.keys().isdisjoint(record.stems):
            out = self._replay(record, inputs)
        else:
            start, names = len(self.graph), dict(self._names)
            self._depth += 1
            try:
                out = build(self, *inputs)
            finally:
                self._depth -= 1
            if record is False:
                if len(_PARTS) >= _MAX_PARTS:
                    del _PARTS[next(iter(_PARTS))]
                _PARTS[memo] = self._record(start, names, inputs, out)
        if self._trace is not None and not self._depth:
            self._traced[out] = len(self._trace)
        return out

    def _trace_part(self, memo: tuple, inputs: tuple[str, ...]) -> None:
        reads = tuple([self._traced.get(x, -1) for x in inputs])
        if -1 in reads:  # a tensor no part made
            self._trace = None
        else:
            self._trace.append((memo[:4], memo[5], reads))

    def _record(self, start: int, names: dict[str, int], inputs: Sequence[str], out: str) -> _Part | None:
        """The ops appended since op `start` (`names`: the name counters then) as a part,
        or None where replaying them could differ from building them: they read a tensor
        outside the part, continue a numbering begun before it, or leave no op of theirs
        current."""
        ops = self.graph.ops()[start:]
        index = {x: k for k, x in enumerate(inputs)}
        index.update((op.name, len(inputs) + i) for i, op in enumerate(ops))
        stems = {stem: n for stem, n in self._names.items() if names.get(stem, 0) != n}
        if not names.keys().isdisjoint(stems) or index.get(self.x, -1) < len(inputs):
            return None
        try:
            sources = tuple(tuple(index[s] for s in self.graph.sources(op.name)) for op in ops)
        except KeyError:
            return None
        return _Part(ops, sources, stems, index[out], self.x)

    def _replay(self, record: _Part, inputs: tuple[str, ...]) -> str:
        sources = record.wired.get(inputs)
        if sources is None:  # a part meets few distinct input names: wire each once
            tensors = [*inputs, *(op.name for op in record.ops)]
            sources = record.wired[inputs] = [tuple([tensors[s] for s in srcs]) for srcs in record.sources]
        self.graph.extend(record.ops, sources)
        self._names.update(record.stems)
        self.x = record.current
        out = record.output - len(inputs)
        return record.ops[out].name if out >= 0 else inputs[record.output]

    def op(
        self,
        kind: Kind | str,
        sources: Sequence[str],
        output: Shape,
        *,
        name: str | None = None,
        **fields: Any,
    ) -> str:
        """Append one op reading `sources`; the low-level step every method uses."""
        if not self._depth:
            self._trace = None  # an op outside every part: the trace could not append it
        if "tag" not in fields and self._tags:
            fields["tag"] = self._tags[-1]
        kind = kind if type(kind) is Kind else Kind(kind)
        shape_of = self.graph.shape_of
        op = Op(
            name=self._name(name or kind.value),
            kind=kind,
            inputs=tuple(shape_of(s) for s in sources),
            output=tuple(output),
            bits=self.bits,
            **fields,
        )
        self.x = self.graph.add(op, sources)
        return self.x

    def build(self) -> OpGraph:
        # No `validate()` here: `op` takes every input shape from its producer, so a
        # builder-made graph agrees along its edges by construction.
        return self.graph

    # -- convolutions -----------------------------------------------------------------
    def conv(
        self,
        c_out: int,
        kernel: int | Sequence[int] = 1,
        stride: int | Sequence[int] = 1,
        *,
        groups: int = 1,
        bias: bool = False,
        padding: Padding = "same",
        dilation: int = 1,
        x: str | None = None,
        name: str | None = None,
    ) -> str:
        x = self.x if x is None else x
        n, c_in, h, w = self.shape(x)
        kh, kw = _pair(kernel)
        sh, sw = _pair(stride)
        out = (
            n,
            c_out,
            conv_out_size(h, kh, sh, padding, dilation),
            conv_out_size(w, kw, sw, padding, dilation),
        )
        if groups == 1:
            kind = Kind.CONV2D
        elif groups == c_in and c_out % c_in == 0:
            kind = Kind.DEPTHWISE_CONV2D
        else:
            kind = Kind.GROUPED_CONV2D
        return self.op(
            kind, [x], out, name=name, kernel=(kh, kw), stride=(sh, sw),
            dilation=(dilation, dilation), groups=groups, bias=bias,
        )

    def dwconv(
        self,
        kernel: int | Sequence[int] = 3,
        stride: int | Sequence[int] = 1,
        *,
        multiplier: int = 1,
        bias: bool = False,
        padding: Padding = "same",
        dilation: int = 1,
        x: str | None = None,
    ) -> str:
        c = self.channels(x)
        return self.conv(
            c * multiplier, kernel, stride, groups=c, bias=bias, padding=padding,
            dilation=dilation, x=x,
        )

    def bn(self, x: str | None = None) -> str:
        x = self.x if x is None else x
        return self.op(Kind.BATCH_NORM, [x], self.shape(x))

    def act(self, kind: Kind | str | None, x: str | None = None) -> str:
        """Apply an activation; `None` or "" applies nothing and returns the input."""
        x = self.x if x is None else x
        if not kind:
            self.x = x
            return x
        return self.op(kind, [x], self.shape(x))

    def conv_bn_act(
        self,
        c_out: int,
        kernel: int | Sequence[int] = 1,
        stride: int | Sequence[int] = 1,
        act: Kind | str | None = Kind.RELU,
        *,
        groups: int = 1,
        x: str | None = None,
    ) -> str:
        """The glossary's "conv k×k / s, C": conv without bias, batch norm, activation."""
        self.conv(c_out, kernel, stride, groups=groups, x=x)
        self.bn()
        return self.act(act)

    def dw_bn_act(
        self,
        kernel: int | Sequence[int] = 3,
        stride: int | Sequence[int] = 1,
        act: Kind | str | None = Kind.RELU,
        *,
        x: str | None = None,
    ) -> str:
        """The glossary's "dw k×k / s": depthwise conv, batch norm, activation."""
        self.dwconv(kernel, stride, x=x)
        self.bn()
        return self.act(act)

    def se(
        self,
        squeeze_channels: int,
        *,
        act: Kind | str = Kind.RELU,
        gate: Kind | str = Kind.HARD_SIGMOID,
        x: str | None = None,
    ) -> str:
        """Squeeze-and-excite, tagged "se": global pool, 1×1 conv + act, 1×1 conv + gate,
        broadcast multiply with the input. Both 1×1 convs have biases and no batch norm."""
        x = self.x if x is None else x
        with self.scope("se", tag="se"):
            self.global_pool(x=x)
            self.conv(squeeze_channels, 1, bias=True)
            self.act(act)
            self.conv(self.channels(x), 1, bias=True)
            gate_out = self.act(gate)
            return self.mul(x, gate_out)

    # -- pooling and dense ------------------------------------------------------------
    def pool(
        self,
        kind: str,
        kernel: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        *,
        padding: Padding = "same",
        x: str | None = None,
    ) -> str:
        """Average ("avg") or max ("max") pooling; stride defaults to the kernel."""
        x = self.x if x is None else x
        n, c, h, w = self.shape(x)
        kh, kw = _pair(kernel)
        sh, sw = _pair(kernel if stride is None else stride)
        out = (n, c, conv_out_size(h, kh, sh, padding), conv_out_size(w, kw, sw, padding))
        kinds = {"avg": Kind.AVG_POOL, "max": Kind.MAX_POOL}
        if kind not in kinds:
            raise EdgesimError(f"pool kind must be 'avg' or 'max', not {kind!r}")
        return self.op(kinds[kind], [x], out, kernel=(kh, kw), stride=(sh, sw))

    def global_pool(self, x: str | None = None) -> str:
        """Global average pool to N×C×1×1."""
        x = self.x if x is None else x
        n, c, h, w = self.shape(x)
        return self.op(Kind.GLOBAL_AVG_POOL, [x], (n, c, 1, 1), kernel=(h, w))

    def flatten(self, x: str | None = None) -> str:
        x = self.x if x is None else x
        shape = self.shape(x)
        return self.reshape((shape[0], math.prod(shape[1:])), x=x)

    def reshape(self, shape: Shape, x: str | None = None) -> str:
        x = self.x if x is None else x
        if math.prod(shape) != math.prod(self.shape(x)):
            raise EdgesimError(f"cannot reshape {list(self.shape(x))} to {list(shape)}")
        return self.op(Kind.RESHAPE, [x], shape)

    def dense(self, units: int, *, bias: bool = True, x: str | None = None) -> str:
        x = self.x if x is None else x
        shape = self.shape(x)
        return self.op(Kind.DENSE, [x], (*shape[:-1], units), bias=bias)

    # -- elementwise and data movement ------------------------------------------------
    def add(self, a: str, b: str) -> str:
        return self.op(Kind.ADD, [a, b], self._broadcast(a, b))

    def mul(self, a: str, b: str) -> str:
        """Elementwise product; broadcasts, as in squeeze-excite's N×C×1×1 gate."""
        return self.op(Kind.MUL, [a, b], self._broadcast(a, b))

    def _broadcast(self, a: str, b: str) -> Shape:
        sa, sb = self.shape(a), self.shape(b)
        if len(sa) != len(sb) or any(p != q and 1 not in (p, q) for p, q in zip(sa, sb, strict=True)):
            raise EdgesimError(f"shapes {list(sa)} and {list(sb)} do not broadcast")
        return tuple(max(p, q) for p, q in zip(sa, sb, strict=True))

    def concat(self, tensors: Sequence[str], axis: int = 1) -> str:
        shapes = [self.shape(t) for t in tensors]
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return self.op(Kind.CONCAT, list(tensors), tuple(out), attrs=(("axis", axis),))

    def resize(self, height: int, width: int, *, mode: str = "nearest", x: str | None = None) -> str:
        x = self.x if x is None else x
        n, c, _, _ = self.shape(x)
        return self.op(Kind.RESIZE, [x], (n, c, height, width), attrs=(("mode", mode),))

    def pad(self, pads: Sequence[int], x: str | None = None) -> str:
        """Zero-pad H and W by (top, bottom, left, right)."""
        x = self.x if x is None else x
        n, c, h, w = self.shape(x)
        top, bottom, left, right = pads
        out = (n, c, h + top + bottom, w + left + right)
        return self.op(Kind.PAD, [x], out, attrs=(("pads", tuple(pads)),))

    def channel_shuffle(self, groups: int, x: str | None = None) -> str:
        """ShuffleNet's channel shuffle: a transpose of the (groups, C/groups) channel axis."""
        x = self.x if x is None else x
        return self.op(Kind.TRANSPOSE, [x], self.shape(x), attrs=(("shuffle_groups", groups),))

    def softmax(self, x: str | None = None) -> str:
        x = self.x if x is None else x
        return self.op(Kind.SOFTMAX, [x], self.shape(x))
