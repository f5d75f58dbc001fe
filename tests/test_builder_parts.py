"""`NetBuilder.part`: a replayed part appends exactly what building it appends."""

import pytest

from graphs import build
from graphs.builder import _PARTS, NetBuilder
from graphs.ops import Kind
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
