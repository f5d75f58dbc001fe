"""The op record's derived work, the graph's validation and its JSON form."""

import pytest

from graphs import EdgesimError, Kind, NetBuilder, Op, OpGraph, make_divisible
from graphs.builder import conv_out_size


def test_conv_macs_and_params_by_hand():
    # 3x3 stride-2 conv, 3 -> 32 channels, 224 -> 112: 112*112*32 outputs x 27 taps each.
    op = Op("c", Kind.CONV2D, ((1, 3, 224, 224),), (1, 32, 112, 112), kernel=(3, 3), stride=(2, 2))
    assert op.macs == 112 * 112 * 32 * 27 == 10_838_016
    assert op.params == 32 * 27
    assert op.category == "conv"


def test_depthwise_grouped_dense_bn_counts():
    dw = Op("d", Kind.DEPTHWISE_CONV2D, ((1, 64, 56, 56),), (1, 64, 56, 56), kernel=(3, 3), groups=64)
    assert dw.macs == 56 * 56 * 64 * 9 and dw.params == 64 * 9
    g = Op("g", Kind.GROUPED_CONV2D, ((1, 32, 8, 8),), (1, 64, 8, 8), groups=4, bias=True)
    assert g.macs == 8 * 8 * 64 * 8 and g.params == 64 * 8 + 64
    fc = Op("f", Kind.DENSE, ((1, 1280),), (1, 1000), bias=True)
    assert fc.macs == 1_280_000 and fc.params == 1_281_000
    bn = Op("b", Kind.BATCH_NORM, ((1, 16, 4, 4),), (1, 16, 4, 4))
    assert bn.macs == 0 and bn.params == 32
    pw = Op("p", Kind.CONV2D, ((1, 16, 4, 4),), (1, 8, 4, 4))
    assert pw.category == "pointwise"


def test_bytes_follow_element_width():
    op = Op("a", Kind.ADD, ((1, 8, 4, 4), (1, 8, 4, 4)), (1, 8, 4, 4), bits=8)
    assert (op.in_bytes, op.out_bytes) == (256, 128)


def test_bad_op_is_rejected():
    with pytest.raises(EdgesimError, match="unknown kind"):
        Op("x", "convolution", ((1, 3, 8, 8),), (1, 3, 8, 8))
    with pytest.raises(EdgesimError, match="groups"):
        Op("x", Kind.GROUPED_CONV2D, ((1, 6, 8, 8),), (1, 8, 8, 8), groups=4)


def test_make_divisible_examples_from_the_reference():
    assert [make_divisible(v) for v in (18, 4, 11.2, 8.4, 960, 1792, 230.4, 28.8)] == [
        24, 8, 16, 8, 960, 1792, 232, 32,
    ]


def test_conv_out_size():
    assert conv_out_size(224, 3, 2, "same") == 112
    assert conv_out_size(225, 3, 2, "same") == 113
    assert conv_out_size(32, 2, 2, "valid") == 16
    assert conv_out_size(112, 3, 2, 1) == 56


def _small_net() -> OpGraph:
    b = NetBuilder("small", (1, 3, 32, 32))
    b.conv_bn_act(16, 3, 2, "hard_swish")
    skip = b.x
    b.dw_bn_act(3, 1, "relu6")
    b.se(8)
    b.conv(16)
    b.bn()
    b.add(skip, b.x)
    b.global_pool()
    b.flatten()
    b.dense(10)
    return b.build()


def test_builder_graph_totals_and_se_tag():
    g = _small_net()
    convs = [op for op in g if op.kind in (Kind.CONV2D, Kind.DEPTHWISE_CONV2D, Kind.DENSE)]
    assert g.macs == sum(op.macs for op in convs)
    assert {op.tag for op in g if op.name.startswith("se/")} == {"se"}
    assert g.outputs() == ["dense"]
    nxg = g.nx  # the networkx view agrees with the op list
    assert nxg.number_of_nodes() == len(g)
    assert sorted(nxg.successors("hard_swish")) == sorted(g.consumers("hard_swish")) == ["add", "depthwise_conv2d"]


def test_json_round_trip_is_exact():
    g = _small_net()
    again = OpGraph.from_json(g.to_json())
    assert again == g
    assert [op.signature for op in again] == [op.signature for op in g]
    assert again.to_json() == g.to_json()


def test_validate_rejects_shape_mismatch():
    g = OpGraph("bad", {"input": (1, 3, 8, 8)})
    g.add(Op("c", Kind.CONV2D, ((1, 3, 8, 8),), (1, 4, 8, 8)), ["input"])
    g.add(Op("r", Kind.RELU, ((1, 5, 8, 8),), (1, 5, 8, 8)), ["c"])
    with pytest.raises(EdgesimError, match="expects shape"):
        g.validate()


def test_graph_rejects_unknown_source_and_duplicates():
    g = OpGraph("g", {"input": (1, 3, 8, 8)})
    with pytest.raises(EdgesimError, match="unknown"):
        g.add(Op("r", Kind.RELU, ((1, 3, 8, 8),), (1, 3, 8, 8)), ["nope"])
    g.add(Op("r", Kind.RELU, ((1, 3, 8, 8),), (1, 3, 8, 8)), ["input"])
    with pytest.raises(EdgesimError, match="duplicate"):
        g.add(Op("r", Kind.RELU, ((1, 3, 8, 8),), (1, 3, 8, 8)), ["input"])


def test_malformed_json_is_a_clear_error(tmp_path):
    with pytest.raises(EdgesimError, match="not valid JSON"):
        OpGraph.from_json("{", "x.json")
    with pytest.raises(EdgesimError, match="not an edgesim graph"):
        OpGraph.from_json("{}", "x.json")
    path = tmp_path / "m.json"
    path.write_text('{"format": "edgesim-graph", "name": "m"}')
    with pytest.raises(EdgesimError, match="malformed"):
        OpGraph.load(path)
