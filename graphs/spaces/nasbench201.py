"""NAS-Bench-201 (Dong & Yang, ICLR 2020): the cell space and its two measured networks.

A cell has 4 nodes; node j = Σ_{i<j} op_{j←i}(node i) over six edges, each one of `OPS`.
The arch string lists the edges (1←0), (2←0), (2←1), (3←0), (3←1), (3←2):
`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. The network (`/work/shared/refdata/README.md`):
stem, three stages of 5 cells at 16/32/64 channels, a ResNet basic block of stride 2
between stages, head. Two builds of it were measured:

* `variant='pytorch'` (HW-NAS-Bench, HELP): everything PyTorch runs. A `none` edge is
  `x.mul(0.)`, emitted as a one-input `mul` tagged "zero"; skip edges are no op (the
  tensor is reused); a node with several terms is a left-to-right chain of binary `add`s
  in edge order (n-1 adds: ((t0 + t1) + t2)). Every op whose value does not depend on the
  network input is tagged "zero" too: the terms and adds of a node all of whose terms are
  such (a node fed only by `none` edges is constant zero), the ops applied to such a node,
  and, after a cell whose output is constant, everything downstream (the network is then
  constant; conv-BN of zero is BN's constant bias, which a folding runtime computes once).
  Whether a runtime removes "zero"-tagged ops and the branches feeding only them is the
  engine's call (`prune_dead_ops`); the graph keeps them. Branches that only feed a
  `none` edge are kept untagged: they do depend on the input.
* `variant='latbench'` (LatBench's TensorFlow build): the cell is pruned first (see
  `prune`), node inputs summed, then each op applied; convs are conv + bias + ReLU (Keras
  `Conv2D` defaults to a bias; the README names no BN, so the bias is assumed), no BN;
  stem conv with ReLU; reduction conv3×3 s2 → conv3×3 (no activations) + avgpool 2×2 s2 →
  conv 1×1; head global avg pool, reshape, dense. A cell with no input→output path (341
  of 15,625; left out of the measurements: runtimes fold them to a constant) raises.

Encoding for search loops: `encode(arch)` is the 6-tuple of indices into `OPS` in edge
order; `decode` inverts it; `sample(n, seed)` draws archs uniformly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from graphs.builder import NetBuilder
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.segments import Segment, assemble
from graphs.spaces.sampling import (
    Code,
    check_choice,
    check_code,
    format_spec,
    sample_codes,
)

DEFAULT_DATASET = "cifar10"
NAME = "nasbench201"
# NAS-Bench-201's own op order, so codes match its `op_names` indices.
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to, from) of each edge, in arch-string order.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
VARIANTS = ("pytorch", "latbench")
# The cell with the best CIFAR-10 test accuracy in NAS-Bench-201 (94.37 %), the usual
# "optimal" reference point of NAS papers on this space.
DEFAULT_ARCH = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
SPACE_SIZE = len(OPS) ** len(EDGES)


@dataclass(frozen=True)
class _Dataset:
    resolution: int
    classes: int


DATASETS = {
    "cifar10": _Dataset(32, 10),
    "cifar100": _Dataset(32, 100),
    "imagenet16-120": _Dataset(16, 120),
}
_STAGE_CHANNELS = (16, 32, 64)
_CELLS_PER_STAGE = 5


# -- arch strings and codes -----------------------------------------------------------
def parse(arch: str) -> tuple[str, ...]:
    """The six edge ops of `arch`, in edge order; a malformed arch raises EdgesimError."""
    if not isinstance(arch, str):
        raise EdgesimError(f"{NAME}: arch must be a string, not {arch!r}")
    nodes = arch.strip().split("+")
    ops: list[str] = []
    for j, node in enumerate(nodes, start=1):
        tokens = node.strip().strip("|").split("|") if node.strip("| ") else []
        if len(nodes) != 3 or len(tokens) != j:
            raise EdgesimError(
                f"{NAME}: arch {arch!r} must have 3 nodes of 1, 2 and 3 edges, "
                "like '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
            )
        for i, token in enumerate(tokens):
            op, sep, src = token.strip().partition("~")
            if not sep or src != str(i):
                raise EdgesimError(
                    f"{NAME}: arch {arch!r}: edge {token!r} of node {j} should read "
                    f"'op~{i}'"
                )
            if op not in OPS:
                raise EdgesimError(
                    f"{NAME}: arch {arch!r}: unknown op {op!r}; ops: {', '.join(OPS)}"
                )
            ops.append(op)
    return tuple(ops)


def encode(arch: str) -> Code:
    """The arch as 6 indices into `OPS`, one per edge in `EDGES` order."""
    return tuple(OPS.index(op) for op in parse(arch))


def decode(code: Sequence[int]) -> str:
    """The arch string of a 6-index code (inverse of `encode`)."""
    ops = [OPS[c] for c in check_code(NAME, code, [len(OPS)] * len(EDGES))]
    return "|" + "|+|".join(
        "|".join(f"{ops[e]}~{EDGES[e][1]}" for e in range(len(EDGES)) if EDGES[e][0] == j)
        for j in (1, 2, 3)
    ) + "|"


def is_connected(arch: str | Sequence[int]) -> bool:
    """Whether the cell has a path from its input to its output through non-`none` edges."""
    return _connected(parse(arch) if isinstance(arch, str) else tuple(OPS[c] for c in arch))


def _connected(ops: Sequence[str]) -> bool:
    live = [True, False, False, False]
    for e, (j, i) in enumerate(EDGES):
        live[j] = live[j] or (live[i] and ops[e] != "none")
    return live[3]


def sample(n: int, seed: int = 0, *, connected: bool = False) -> list[str]:
    """`n` arch strings drawn uniformly (each edge independently) with `random.Random(seed)`;
    with `connected=True`, uniform over the 15,284 cells with an input→output path."""
    keep = is_connected if connected else None
    return [decode(c) for c in sample_codes(n, [len(OPS)] * len(EDGES), seed, keep)]


def spec(arch: str | Sequence[int], **options: str) -> str:
    """The model spec of an arch (string or code), e.g. for `graphs.build` or a CSV."""
    arch = decode(arch) if not isinstance(arch, str) else decode(encode(arch))
    _check_options(options.get("dataset", "cifar10"), options.get("variant", "pytorch"))
    return format_spec(NAME, arch, options, ("dataset", "variant"))


def _check_options(dataset: str, variant: str) -> None:
    check_choice(NAME, "dataset", dataset, tuple(DATASETS))
    check_choice(NAME, "variant", variant, VARIANTS)


# -- LatBench pruning -----------------------------------------------------------------
IN, OUT = -1, len(EDGES)  # vertex ids of the cell input and output; edges are 0..5

# One op vertex of a pruned cell: edge index, op, and the vertices summed into it.
Vertex = tuple[int, str, tuple[int, ...]]


def prune(arch: str) -> tuple[tuple[Vertex, ...], tuple[int, ...]]:
    """The cell as LatBench builds it: (op vertices, vertices summed into the output).

    The cell becomes a DAG of op vertices (one per edge, fed by the vertices of the edges
    into its source node; `IN` for node 0). Then `none` edges are removed, vertices off
    every `IN`→`OUT` path dropped, and skip vertices merged (their inputs wired straight
    to their consumers; inputs are sets, so a vertex reached twice is summed once).
    Vertices are listed in edge order, a topological order. Two archs with equal
    `prune` give identical `latbench` graphs. Raises for a cell with no path.
    """
    ops = parse(arch)
    node_in: list[set[int]] = [{IN}] + [
        {e for e, (to, _) in enumerate(EDGES) if to == j and ops[e] != "none"} for j in (1, 2, 3)
    ]
    preds = {e: set(node_in[EDGES[e][1]]) for e in range(len(EDGES)) if ops[e] != "none"}
    preds[OUT] = set(node_in[3])
    reach = {IN}
    for v in sorted(preds):  # edge order, then OUT: a topological order
        if preds[v] & reach:
            reach.add(v)
    if OUT not in reach:
        raise EdgesimError(
            f"{NAME}: arch {arch!r} has no path from the cell input to its output; "
            "variant='latbench' cannot build it (runtimes fold it to a constant; "
            "variant='pytorch' builds the zero network)"
        )
    coreach = {OUT}
    for v in sorted(preds, reverse=True):
        if any(v in preds[s] for s in coreach):
            coreach.add(v)
    kept = {v: preds[v] & reach for v in preds if v in reach and v in coreach}
    for v in sorted(kept):
        if v != OUT and ops[v] == "skip_connect":
            merged = kept.pop(v)
            for s in kept:
                if v in kept[s]:
                    kept[s] = (kept[s] - {v}) | merged
    out = tuple(sorted(kept.pop(OUT)))
    return tuple((v, ops[v], tuple(sorted(kept[v]))) for v in sorted(kept)), out


# -- the networks ---------------------------------------------------------------------
@register(
    NAME,
    task="search_space",
    description="NAS-Bench-201 cell network (15,625 cells; variants pytorch / latbench)",
)
def nasbench201(
    arch: str = DEFAULT_ARCH, dataset: str = DEFAULT_DATASET, variant: str = "pytorch"
) -> OpGraph:
    """NAS-Bench-201 cell network (15,625 cells; variants pytorch / latbench)."""
    meta = {"space": NAME, "arch": arch, "dataset": dataset, "variant": variant}
    return assemble(NAME, input_shape(dataset), segments(arch, dataset, variant), meta)


def input_shape(dataset: str = DEFAULT_DATASET) -> tuple[int, int, int, int]:
    res = DATASETS[dataset].resolution
    return (1, 3, res, res)


def chain(
    arch: str, dataset: str = DEFAULT_DATASET, variant: str = "pytorch"
) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """(segments, batch-1 input shape) of an arch, for the segment fast path."""
    return segments(arch, dataset, variant), input_shape(dataset)


def spec_chain(
    arch: str = DEFAULT_ARCH, dataset: str = DEFAULT_DATASET, variant: str = "pytorch"
) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """`chain` from a spec's options (those of the registered builder)."""
    return chain(arch, dataset, variant)


@functools.lru_cache(maxsize=1 << 8)  # search loops revisit archs; the chain is immutable
def segments(arch: str, dataset: str = DEFAULT_DATASET, variant: str = "pytorch") -> tuple[Segment, ...]:
    """The network as a chain of segments: stem, cells (with a reduction block before the
    first cell of stages 2 and 3), head. A segment's key names its ops."""
    _check_options(dataset, variant)
    classes = DATASETS[dataset].classes
    if variant == "latbench":
        vertices, out = prune(arch)
        key, cell = ("lb-cell", vertices, out), _latbench_cell(vertices, out)  # one key: the pricer sees a repeat
        parts = [_LATBENCH_STEM]
        for s, reduce, scope in _STAGES:
            if reduce:
                parts.append(_latbench_reduce_segment(s))
            parts.append(Segment(key, scope, cell, generic=True))
        parts.append(_latbench_head_segment(classes))
        return tuple(parts)
    ops = parse(arch)
    connected = _connected(ops)
    parts = [_TORCH_STEM]
    constant = False  # after the first cell of a disconnected arch, everything is constant
    key, cell = ("pt-cell", ops, constant), _torch_cell(ops, constant)
    for s, reduce, scope in _STAGES:
        if reduce:
            parts.append(_torch_reduce(s, constant))
        parts.append(Segment(key, scope, cell, generic=True))
        if not connected and not constant:
            constant = True
            key, cell = ("pt-cell", ops, constant), _torch_cell(ops, constant)
    parts.append(_torch_head_segment(classes, constant))
    return tuple(parts)


def ops_code(ops: Sequence[str]) -> Code:
    return tuple(OPS.index(op) for op in ops)


# (stage, reduction-before-it, scope) for every cell of the network.
_STAGES = tuple(
    (s, s > 0 and c == 0, f"cell{s}_{c}") for s in range(len(_STAGE_CHANNELS)) for c in range(_CELLS_PER_STAGE)
)


def _zero_tag(constant: bool) -> str | None:
    return "zero" if constant else None


def _torch_stem(b: NetBuilder) -> None:
    b.conv(_STAGE_CHANNELS[0], 3, padding=1)
    b.bn()


def _torch_head(classes: int, constant: bool) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        with b.scope("", tag=_zero_tag(constant)) if constant else nullcontext():
            b.bn()
            b.act(Kind.RELU)
            b.global_pool()
            b.flatten()
            b.dense(classes)

    return build


def _torch_resblock(stage: int, constant: bool) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        with b.scope("", tag=_zero_tag(constant)) if constant else nullcontext():
            _torch_resblock_ops(b, b.x, _STAGE_CHANNELS[stage])

    return build


def _torch_resblock_ops(b: NetBuilder, x: str, c_out: int) -> str:
    """ResNetBasicblock(stride 2): ReLU-conv3×3 s2-BN-ReLU-conv3×3-BN + avgpool-conv1×1."""
    b.act(Kind.RELU, x=x)
    b.conv(c_out, 3, 2, padding=1)
    b.bn()
    b.act(Kind.RELU)
    b.conv(c_out, 3, padding=1)
    main = b.bn()
    b.pool("avg", 2, 2, padding=0, x=x)
    shortcut = b.conv(c_out, 1)
    return b.add(shortcut, main)


# The segments every arch shares (stem, reductions, head), made once.
_TORCH_STEM = Segment(("pt-stem",), "stem", _torch_stem)


@functools.cache
def _torch_reduce(stage: int, constant: bool) -> Segment:
    return Segment(("pt-reduce", stage, constant), f"reduce{stage}", _torch_resblock(stage, constant))


@functools.cache
def _torch_head_segment(classes: int, constant: bool) -> Segment:
    return Segment(("pt-head", classes, constant), "head", _torch_head(classes, constant))


def _torch_cell(ops: tuple[str, ...], x_constant: bool) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        b.x = _torch_cell_ops(b, b.x, x_constant, ops)[0]

    return build


def _torch_cell_ops(
    b: NetBuilder, x: str, x_constant: bool, ops: tuple[str, ...]
) -> tuple[str, bool]:
    """The cell as PyTorch runs it; returns its output and whether that is constant. Each
    node is a builder part: cells that share a node's edge ops share its ops."""
    nodes = [x]
    constants = (x_constant,)
    for j, edges, sources in _NODES:
        node_ops = tuple([ops[e] for e in edges])
        if node_ops == ("skip_connect",):  # the node is its input: nothing to append (no part, which
            nodes.append(nodes[sources[0]])  # would have no record: a cell of parts only replays whole)
        else:
            key = ("pt-node", j, node_ops, constants)
            nodes.append(b.part(key, functools.partial(_torch_node, j, node_ops, constants), *nodes))
        constants += (all([op == "none" or constants[i] for op, i in zip(node_ops, sources, strict=True)]),)
    return nodes[3], constants[3]


def _torch_node(j: int, node_ops: tuple[str, ...], constants: tuple[bool, ...], b: NetBuilder, *nodes: str) -> str:
    """Node `j`: the ops of its edges on the earlier `nodes` (whose `constants` say which
    are constant), summed left to right."""
    terms = []
    for e, op in zip(_NODE_EDGES[j], node_ops, strict=True):
        i = EDGES[e][1]
        constant = op == "none" or constants[i]
        with b.scope(f"edge{i}to{j}", tag=_zero_tag(constant)):
            terms.append((b.part(op, _TORCH_OPS[op], nodes[i]), constant))
    acc, acc_constant = terms[0]
    for term, term_constant in terms[1:]:
        acc_constant = acc_constant and term_constant
        with b.scope(f"node{j}", tag=_zero_tag(acc_constant)):
            acc = b.add(acc, term)
    return acc


# The edges into each node, in edge order.
_NODE_EDGES = {j: tuple(e for e, (to, _) in enumerate(EDGES) if to == j) for j in (1, 2, 3)}
# (node, its edges, the node each edge reads) for nodes 1-3.
_NODES = tuple((j, edges, tuple(EDGES[e][1] for e in edges)) for j, edges in _NODE_EDGES.items())


def _torch_op(b: NetBuilder, x: str, op: str) -> str:
    if op == "none":
        return b.op(Kind.MUL, [x], b.shape(x), name="zero", tag="zero")
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return b.pool("avg", 3, 1, padding=1, x=x)
    kernel = 3 if op == "nor_conv_3x3" else 1
    b.act(Kind.RELU, x=x)
    b.conv(b.channels(x), kernel, padding=kernel // 2)
    return b.bn()


# Each edge op as a builder part (a node built anew reuses its edges' ops).
_TORCH_OPS = {op: functools.partial(_torch_op, op=op) for op in OPS}


def _latbench_stem(b: NetBuilder) -> None:
    b.conv(_STAGE_CHANNELS[0], 3, bias=True)
    b.act(Kind.RELU)


def _latbench_reduce(stage: int) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        x = b.x
        c = _STAGE_CHANNELS[stage]
        b.conv(c, 3, 2, bias=True, x=x)
        main = b.conv(c, 3, bias=True)
        b.pool("avg", 2, 2, padding="valid", x=x)
        shortcut = b.conv(c, 1, bias=True)
        b.add(main, shortcut)

    return build


_LATBENCH_STEM = Segment(("lb-stem",), "stem", _latbench_stem)


@functools.cache
def _latbench_reduce_segment(stage: int) -> Segment:
    return Segment(("lb-reduce", stage), f"reduce{stage}", _latbench_reduce(stage))


@functools.cache
def _latbench_head_segment(classes: int) -> Segment:
    return Segment(("lb-head", classes), "head", _latbench_head(classes))


def _latbench_head(classes: int) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        b.global_pool()
        b.flatten()
        b.dense(classes)

    return build


def _latbench_cell(vertices: tuple[Vertex, ...], out: tuple[int, ...]) -> Callable[[NetBuilder], None]:
    def build(b: NetBuilder) -> None:
        b.x = _latbench_cell_ops(b, b.x, vertices, out)

    return build


def _latbench_cell_ops(
    b: NetBuilder, x: str, vertices: tuple[Vertex, ...], out: tuple[int, ...]
) -> str:
    tensors = {IN: x}
    sums: dict[tuple[int, ...], str] = {}

    def summed(preds: tuple[int, ...]) -> str:
        # Inputs shared by several vertices are summed once.
        if preds not in sums:
            terms = [tensors[p] for p in preds]
            sums[preds] = terms[0] if len(terms) == 1 else b.part(("lb-sum", len(terms)), _latbench_sum, *terms)
        return sums[preds]

    for v, op, preds in vertices:
        j, i = EDGES[v]
        with b.scope(f"edge{i}to{j}"):
            tensors[v] = b.part(("lb-op", op), _LATBENCH_OPS[op], summed(preds))
    with b.scope("out"):
        return summed(out)


def _latbench_sum(b: NetBuilder, *terms: str) -> str:
    """The terms added left to right, as a part: a cell appends only parts."""
    acc = terms[0]
    for term in terms[1:]:
        acc = b.add(acc, term)
    return acc


def _latbench_op(b: NetBuilder, x: str, op: str) -> str:
    if op == "avg_pool_3x3":
        return b.pool("avg", 3, 1, x=x)
    b.conv(b.channels(x), 3 if op == "nor_conv_3x3" else 1, bias=True, x=x)
    return b.act(Kind.RELU)


_LATBENCH_OPS = {op: functools.partial(_latbench_op, op=op) for op in OPS}
