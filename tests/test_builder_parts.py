"""`NetBuilder.part`: a replayed part appends exactly what building it appends."""

import pytest

from graphs import build
from graphs.builder import _PARTS, NetBuilder, replay_parts
from graphs.ops import Kind
from graphs.segments import replayed_segment_graph, segment_graph, traced_segment_graph
from graphs.spaces import nasbench201


def _listing(graph):
    """Everything about a graph that building decides: ops (all fields) and wiring."""
    return [(op, graph.sources(op.name)) for op in graph], dict(graph.inputs)


def _relu_conv(b, x):
    b.act(Kind.RELU, x=x)
    return b.conv(b.channels(x), 3)


def _sum(b, x, y):
    return b.add(x, y)


def _twice(b, x):
    b.conv(8, 1, x=x)
    return b.conv(8, 1)  # a second "conv2d" in one scope: numbered conv2d_1


def _network(fresh: bool, alias: bool = True):
    if fresh:
        _PARTS.clear()
    b = NetBuilder("net", (1, 8, 16, 16))
    x = b.x
    with b.scope("a"):
        a = b.part("relu-conv", _relu_conv, x)
    with b.scope("b"):
        c = b.part("relu-conv", _relu_conv, a)
    with b.scope("a"):  # the stems a/relu, a/conv2d are taken: numbered, as building numbers them
        d = b.part("relu-conv", _relu_conv, c)
    with b.scope("s"):
        s1 = b.part("sum", _sum, a, a if alias else c)  # one tensor twice, or two
        s2 = b.part("sum", _sum, a, d)
    with b.scope("t"):
        b.part("twice", _twice, s2)
        b.part("twice", _twice, s1)
    return b.build()


def test_replayed_parts_build_the_same_graph():
    built = _listing(_network(fresh=True))
    assert len(_PARTS) > 0
    assert _listing(_network(fresh=False)) == built  # every part replayed from its record
    names = [op.name for op, _ in built[0]]
    assert "a/conv2d_1" in names and "t/conv2d_3" in names  # numbering continued across parts
    sums = {op.name: srcs for op, srcs in built[0] if op.kind == Kind.ADD}
    assert sums["s/add"] == ("a/conv2d", "a/conv2d") and sums["s/add_1"] == ("a/conv2d", "a/conv2d_1")
    # a part recorded reading one tensor twice is not replayed where it reads two
    assert _listing(_network(fresh=False, alias=False)) == _listing(_network(fresh=True, alias=False))


@pytest.mark.parametrize("variant", nasbench201.VARIANTS)
def test_nasbench201_graphs_with_and_without_part_records(variant):
    archs = nasbench201.sample(60, seed=3, connected=True)
    specs = [nasbench201.spec(a, variant=variant) for a in archs]
    warm = [_listing(build(s)) for s in specs]  # records reused across archs
    for spec, graph in zip(specs, warm, strict=True):
        _PARTS.clear()
        assert _listing(build(spec)) == graph, spec


@pytest.mark.parametrize("variant", nasbench201.VARIANTS)
def test_a_cell_replayed_at_another_shape_is_the_cell_built_there(variant):
    """A generic segment (a cell: parts only) traced at one stage's shape and appended at
    the others from its parts' records gives the graph building it there gives."""
    shapes = [(1, 16, 32, 32), (1, 32, 16, 16), (1, 64, 8, 8), (2, 16, 16, 16)]
    replayed = 0
    for arch in nasbench201.sample(80, seed=9, connected=variant == "latbench"):
        cells = [s for s in nasbench201.segments(arch, variant=variant) if s.generic]
        assert len(cells) == 15
        _, trace = traced_segment_graph(cells[0], shapes[0])
        assert trace is not None
        for shape in shapes[1:]:
            built = segment_graph(cells[0], shape)  # makes the parts' records at that shape
            assert replayed_segment_graph(cells[0], trace, shape) == built, (arch, shape)
            replayed += 1
    assert replayed == 240


def test_a_trace_replays_only_what_parts_alone_append():
    def net(b):
        with b.scope("a"):
            x = b.part("relu-conv", _relu_conv, b.x)
        with b.scope("s"):
            b.part("sum", _sum, x, b.x)
        return b

    b = net(NetBuilder("net", (1, 8, 16, 16), trace=True))
    trace = b.trace()
    assert [reads for _, _, reads in trace] == [(0,), (1, 1)]  # the sum read the first part's output twice
    ops, sources = replay_parts(trace, (1, 8, 16, 16))
    assert (ops, sources) == (b.graph.flat().ops, b.graph.flat().sources)
    assert replay_parts(trace, (1, 8, 7, 7)) is None  # no record at that shape yet
    loose = net(NetBuilder("net", (1, 8, 16, 16), trace=True))
    loose.bn()  # an op outside every part
    assert loose.trace() is None
    assert NetBuilder("net", (1, 8, 16, 16)).trace() is None  # not traced
