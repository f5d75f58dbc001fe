"""ONNX import and export: round trips, lowering of exporter idioms, and clear errors."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from graphs import EdgesimError, Kind, NetBuilder, OpGraph, build, entries  # noqa: E402
from graphs.exporters.onnx import export_onnx, to_onnx  # noqa: E402
from graphs.importers.onnx import load_onnx  # noqa: E402
from simulator.cli import main  # noqa: E402


def every_kind_graph() -> OpGraph:
    """One small network with an op of every kind the exporter writes."""
    b = NetBuilder("every_kind", (1, 3, 32, 32))
    b.conv_bn_act(16, 3, 2, Kind.HARD_SWISH)  # 32 -> 16: "same" pads (0, 1)
    skip = b.x
    b.dw_bn_act(3, 1, Kind.RELU6)
    b.se(8)  # global pool, biased 1x1 convs, relu, hard sigmoid, broadcast mul
    b.conv(16, 1, bias=True)
    b.bn()
    b.act(Kind.SWISH)
    b.add(b.x, skip)
    b.conv(32, 3, 1, groups=4, dilation=2)  # grouped, dilated
    for kind in (Kind.LEAKY_RELU, Kind.GELU, Kind.TANH, Kind.SIGMOID, Kind.RELU):
        b.act(kind)
    b.channel_shuffle(4)
    a = b.pool("max", 3, 2)
    c = b.pool("avg", 2, 2, padding="valid", x=skip)
    c = b.conv(32, 1, x=c)
    b.concat([a, c])
    b.pad((1, 0, 1, 0))
    b.conv(64, 3, 2)  # 9 -> 5: symmetric pads
    r = b.resize(10, 10, mode="bilinear")
    zero = b.op(Kind.MUL, [r], b.shape(), name="zero", tag="zero")  # NAS-Bench-201 `none`
    t = b.add(zero, r)
    b.reshape((1, 64, 100))
    b.op(Kind.TRANSPOSE, [b.x], (1, 100, 64), attrs=(("perm", (0, 2, 1)),))
    q = b.dense(32)  # 3-D input: MatMul + Add
    kt = b.op(Kind.TRANSPOSE, [q], (1, 32, 100), attrs=(("perm", (0, 2, 1)),))
    b.op(Kind.MATMUL, [q, kt], (1, 100, 100))
    b.softmax()
    b.global_pool(x=t)
    b.flatten()
    b.dense(10, bias=False)  # Gemm without C
    b.dense(5)
    b.softmax()
    return b.build()


def _comparable(op):
    # ONNX keeps no tags but "zero" (recomputed from the constant) and no builder attrs.
    return dataclasses.replace(op, tag="zero" if op.tag == "zero" else "", attrs=())


def assert_round_trip(graph: OpGraph, path) -> OpGraph:
    export_onnx(graph, path)
    back = load_onnx(path)
    assert back.macs == graph.macs and back.params == graph.params
    assert [_comparable(op) for op in back.ops()] == [_comparable(op) for op in graph.ops()]
    return back


def test_every_kind_is_covered():
    # quantize/dequantize come from TFLite files; the fp32 ONNX export has no use for them;
    # SSD detection post-processing is a TFLite custom op with no ONNX operator
    assert {op.kind for op in every_kind_graph()} == set(Kind) - {
        Kind.UNKNOWN, Kind.QUANTIZE, Kind.DEQUANTIZE, Kind.DETECTION_POSTPROCESS}


def test_round_trip_every_kind(tmp_path):
    graph = every_kind_graph()
    back = assert_round_trip(graph, tmp_path / "every.onnx")
    assert back.op("transpose").attr("shuffle_groups") == 4
    assert back.op("zero").tag == "zero"
    assert back.meta["notes"] == []


def test_onnxruntime_runs_the_export(tmp_path):
    graph = every_kind_graph()
    path = export_onnx(graph, tmp_path / "every.onnx", seed=3)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    outputs = session.run(None, {"input": x})
    assert [o.shape for o in outputs] == [graph.op(n).output for n in graph.outputs()]
    assert all(np.isfinite(o).all() for o in outputs)
    # Both heads end in a softmax: rows sum to one.
    assert all(np.allclose(o.sum(axis=-1), 1.0, atol=1e-4) for o in outputs)


def test_export_is_seeded():
    graph = every_kind_graph()
    a, b, c = to_onnx(graph, seed=1), to_onnx(graph, seed=1), to_onnx(graph, seed=2)
    assert a.SerializeToString() == b.SerializeToString() != c.SerializeToString()


def test_same_pads_are_derived_from_shapes():
    nodes = {n.name: n for n in to_onnx(every_kind_graph()).graph.node}

    def pads(name):
        return next(a.ints for a in nodes[name].attribute if a.name == "pads")

    # TensorFlow "same": 3x3/2 on 32 needs one pixel, put at the end; on 9, one each side.
    assert list(pads("conv2d")) == [0, 0, 1, 1]
    assert list(pads("conv2d_3")) == [1, 1, 1, 1]
    assert list(pads("avg_pool")) == [0, 0, 0, 0]  # "valid"
    assert list(pads("max_pool")) == [0, 0, 1, 1]  # 3x3/2 on 16
    # Dilation 2 spreads a 3x3 kernel over 5 pixels: 4 pixels of padding, 2 each side.
    assert list(pads("grouped_conv2d")) == [2, 2, 2, 2]


def test_export_rejects_what_onnx_cannot_express(tmp_path):
    b = NetBuilder("bad", (1, 8, 8, 8))
    b.op(Kind.UNKNOWN, [b.x], (1, 8, 8, 8), attrs=(("onnx_op", "Einsum"),))
    with pytest.raises(EdgesimError, match=r"unknown .*Einsum.*cannot export"):
        export_onnx(b.build(), tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())
    b = NetBuilder("bad", (1, 8, 8, 8))
    b.op(Kind.CONV2D, [b.x], (1, 8, 2, 2), kernel=(3, 3))  # unpadded 3x3 already gives 6
    with pytest.raises(EdgesimError, match="no padding maps size 8 to 2"):
        to_onnx(b.build())


# -- importing what other exporters write ----------------------------------------------
def _tensor(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _model(nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _torch_like_model():
    """The idioms of torch.onnx exports: shape chains, constants, decomposed activations."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("probs", "pooled")]
    init = [
        _tensor("w1", rng.standard_normal((8, 3, 3, 3)).astype(f32)),
        _tensor("b1", np.zeros(8, f32)),
        _tensor("six", np.array(6, f32)), _tensor("zero", np.array(0, f32)),
        _tensor("wd", rng.standard_normal((8, 1, 3, 3)).astype(f32)),
        _tensor("fc_t", rng.standard_normal((16, 8)).astype(f32)),  # stored transposed
        _tensor("fc_b", np.zeros(16, f32)),
        _tensor("sqrt2", np.array(math.sqrt(2), f32)), _tensor("one", np.array(1, f32)),
        _tensor("half", np.array(0.5, f32)), _tensor("tail", np.array([4, 4], np.int64)),
        _tensor("w3", rng.standard_normal((4, 5)).astype(f32)),
        _tensor("b3", np.zeros(5, f32)), _tensor("axes0", np.array([0], np.int64)),
        _tensor("idx0", np.array(0, np.int64)), _tensor("minus1", np.array([-1], np.int64)),
        _tensor("lo", np.array(-1, f32)), _tensor("hi", np.array(1, f32)),
    ]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        n("Clip", ["c1", "zero", "six"], ["r1"], name="relu6"),
        n("Constant", [], ["k"], value=_tensor("k", np.array(2, f32))),
        n("Mul", ["r1", "k"], ["s1"], name="scale"),
        n("Sub", ["s1", "one"], ["s2"], name="shift"),
        n("Div", ["s2", "six"], ["s3"], name="norm"),
        n("Conv", ["s3", "wd"], ["d1"], name="dw", group=8, strides=[2, 2], pads=[1, 1, 1, 1]),
        n("HardSigmoid", ["d1"], ["hs"], name="hs", alpha=1 / 6, beta=0.5),
        n("Mul", ["d1", "hs"], ["h1"], name="hswish"),
        n("Sigmoid", ["h1"], ["sg"], name="sig"),
        n("Mul", ["h1", "sg"], ["w"], name="swish"),
        n("GlobalAveragePool", ["w"], ["gap"], name="gap"),
        # flatten the torch way: x.view(x.size(0), -1)
        n("Shape", ["gap"], ["shp"]), n("Gather", ["shp", "idx0"], ["bsz"], axis=0),
        n("Unsqueeze", ["bsz", "axes0"], ["bsz1"]),
        n("Concat", ["bsz1", "minus1"], ["newshape"], axis=0),
        n("Reshape", ["gap", "newshape"], ["flat"], name="flatten"),
        n("Transpose", ["fc_t"], ["fc_w"], perm=[1, 0]),  # initializer-only computation
        n("Gemm", ["flat", "fc_w", "fc_b"], ["fc"], name="fc"),
        # torch's GELU: x * 0.5 * (1 + erf(x / sqrt(2))) written ((x / √2) ... ) order
        n("Div", ["fc", "sqrt2"], ["g1"]), n("Erf", ["g1"], ["g2"]),
        n("Add", ["g2", "one"], ["g3"]), n("Mul", ["fc", "g3"], ["g4"]),
        n("Mul", ["g4", "half"], ["gelu"], name="gelu"),
        n("Dropout", ["gelu"], ["drop"], name="drop"),
        n("Concat", ["bsz1", "tail"], ["shape3"], axis=0),
        n("Reshape", ["drop", "shape3"], ["seq"], name="to_seq"),
        n("MatMul", ["seq", "w3"], ["mm"], name="proj"), n("Add", ["mm", "b3"], ["proj_b"]),
        n("Transpose", ["proj_b"], ["kt"], name="kt", perm=[0, 2, 1]),
        n("MatMul", ["proj_b", "kt"], ["att"], name="att"),
        n("Clip", ["att", "zero"], ["att_r"], name="relu"),
        n("Clip", ["att_r", "lo", "hi"], ["att_c"], name="clip"),
        n("Identity", ["att_c"], ["att_i"]),
        n("Softmax", ["att_i"], ["probs"], name="softmax", axis=-1),
        n("ReduceMean", ["d1"], ["pooled"], name="mean", axes=[2, 3], keepdims=0),
    ]
    return _model(nodes, [x], outs, init)


def test_import_lowers_torch_idioms(tmp_path):
    path = tmp_path / "torchlike.onnx"
    onnx.save(_torch_like_model(), path)
    graph = load_onnx(path)
    got = [(op.name, op.kind.value, op.output) for op in graph.ops()]
    assert got == [
        ("conv1", "conv2d", (1, 8, 16, 16)),
        ("relu6", "relu6", (1, 8, 16, 16)),
        ("scale", "mul", (1, 8, 16, 16)),
        ("shift", "add", (1, 8, 16, 16)),
        ("norm", "mul", (1, 8, 16, 16)),
        ("dw", "depthwise_conv2d", (1, 8, 8, 8)),
        ("hswish", "hard_swish", (1, 8, 8, 8)),
        ("swish", "swish", (1, 8, 8, 8)),
        ("gap", "global_avg_pool", (1, 8, 1, 1)),
        ("flatten", "reshape", (1, 8)),
        ("fc", "dense", (1, 16)),
        ("gelu", "gelu", (1, 16)),
        ("to_seq", "reshape", (1, 4, 4)),
        ("proj", "dense", (1, 4, 5)),
        ("kt", "transpose", (1, 5, 4)),
        ("att", "matmul", (1, 4, 4)),
        ("relu", "relu", (1, 4, 4)),
        ("clip", "relu6", (1, 4, 4)),
        ("softmax", "softmax", (1, 4, 4)),
        ("mean", "global_avg_pool", (1, 8)),
    ]
    ops = {op.name: op for op in graph.ops()}
    assert ops["conv1"].macs == 16 * 16 * 8 * 27 and ops["conv1"].bias
    assert ops["dw"].macs == 8 * 8 * 8 * 9 and ops["dw"].stride == (2, 2)
    assert ops["fc"].params == 8 * 16 + 16 and ops["proj"].bias and ops["proj"].macs == 4 * 5 * 4
    assert ops["att"].macs == 4 * 4 * 5
    assert ops["scale"].inputs == ((1, 8, 16, 16),)  # the constant operand is no input
    assert ops["clip"].attr("clip") == (-1.0, 1.0)
    assert ops["mean"].kernel == (8, 8)
    assert graph.sources("gelu") == ("fc",) and graph.sources("swish") == ("hswish",)
    assert graph.macs == 55296 + 4608 + 128 + 80 + 80
    assert graph.meta["notes"] == ["input 'x': dynamic batch dimension 'batch' set to 1"]


def test_clip_attributes_and_pool_variants_of_old_opsets(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 9])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    n = helper.make_node
    nodes = [
        n("Clip", ["x"], ["a"], name="clip", min=0.0, max=6.0),  # opset < 11: attributes
        n("MaxPool", ["a"], ["b"], name="mp", kernel_shape=[3, 3], strides=[2, 2]),
        n("AveragePool", ["b"], ["c"], name="ap", kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        n("Pad", ["c"], ["d"], name="pad", pads=[0, 0, 1, 2, 0, 0, 3, 4]),
        n("Upsample", ["d"], ["e"], name="up", scales=[1.0, 1.0, 2.0, 2.0]),
        n("GlobalMaxPool", ["e"], ["f"], name="gmp"),
        n("Flatten", ["f"], ["y"], name="flat"),
    ]
    path = tmp_path / "old.onnx"
    model = _model(nodes, [x], [y], opset=7)
    model.ir_version = 4
    onnx.save(model, path)
    graph = load_onnx(path)
    assert [(op.kind.value, op.output) for op in graph.ops()] == [
        ("relu6", (1, 4, 9, 9)), ("max_pool", (1, 4, 4, 4)), ("avg_pool", (1, 4, 4, 4)),
        ("pad", (1, 4, 8, 10)), ("resize", (1, 4, 16, 20)), ("max_pool", (1, 4, 1, 1)),
        ("reshape", (1, 4)),
    ]
    assert graph.op("pad").attr("pads") == (1, 3, 2, 4)  # top, bottom, left, right
    assert graph.op("gmp").kernel == (16, 20)


# Models from the ONNX Model Zoo that the onnx package ships as test data (weights made by
# ConstantOfShape nodes, so folding is exercised). Parameters and MACs are torchvision's
# published figures for the same architectures (its "GFLOPS" column counts MACs).
_LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


@pytest.mark.parametrize(
    ("name", "params", "gmacs"),
    [
        ("resnet50", 25_557_032, 4.09),
        ("squeezenet", 1_235_496, 0.35),  # SqueezeNet 1.1
        ("densenet121", 7_978_856, 2.83),
        ("vgg19", 143_667_240, 19.63),
    ],
)
def test_model_zoo_files_match_published_counts(name, params, gmacs):
    path = _LIGHT / f"light_{name}.onnx"
    if not path.exists():
        pytest.skip(f"this onnx version ships no {path.name}")
    graph = load_onnx(path)
    assert graph.params == params
    assert round(graph.macs / 1e9, 2) == gmacs


def test_model_zoo_shufflenet_shuffles_and_alexnet_lrn():
    shufflenet, alexnet = _LIGHT / "light_shufflenet.onnx", _LIGHT / "light_bvlc_alexnet.onnx"
    if not (shufflenet.exists() and alexnet.exists()):
        pytest.skip("this onnx version ships no model zoo test files")
    graph = load_onnx(shufflenet)
    shuffles = [op for op in graph if op.kind == Kind.TRANSPOSE]
    # One Reshape-Transpose-Reshape per unit (4 + 8 + 4), shuffling the groups its
    # grouped 1x1 convolutions use; the only reshape left is the classifier's flatten.
    assert len(shuffles) == 16 and {op.attr("shuffle_groups") for op in shuffles} == {4}
    assert {op.groups for op in graph if op.kind == Kind.GROUPED_CONV2D} == {4}
    assert not any(op.kind == Kind.RESHAPE and op.output != (1, 544) for op in graph)
    with pytest.raises(EdgesimError, match="unsupported ONNX ops: LRN ×2;"):
        load_onnx(alexnet)
    assert sum(op.kind == Kind.UNKNOWN for op in load_onnx(alexnet, allow_unknown=True)) == 2


# -- errors ----------------------------------------------------------------------------
def _cli_error(capsys, path) -> str:
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgesim: error: ") and err.count("\n") == 1
    return err


def _tiny_onnx(tmp_path):
    b = NetBuilder("tiny", (1, 3, 16, 16))
    b.conv_bn_act(8, 3, 2)
    return export_onnx(b.build(), tmp_path / "tiny.onnx")


@pytest.mark.parametrize("keep", [0.5, -3])
def test_truncated_file(tmp_path, capsys, keep):
    data = _tiny_onnx(tmp_path).read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[:keep])
    with pytest.raises(EdgesimError, match="truncated or corrupt"):
        load_onnx(cut)
    assert "truncated" in _cli_error(capsys, cut)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b'{"format": "edgesim-graph"}'])
def test_not_onnx(tmp_path, capsys, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(EdgesimError, match="not an ONNX model"):
        load_onnx(path)
    assert "not an ONNX model" in _cli_error(capsys, path)


def test_external_weight_files(tmp_path):
    graph = every_kind_graph()
    path = tmp_path / "big.onnx"
    onnx.save(to_onnx(graph), path, save_as_external_data=True, location="big.weights",
              size_threshold=0)
    assert load_onnx(path).macs == graph.macs
    (tmp_path / "big.weights").unlink()
    with pytest.raises(EdgesimError, match="cannot read its external weight file"):
        load_onnx(path)


def _unsupported_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    n = helper.make_node
    nodes = [
        n("Exp", ["x"], ["a"], name="exp1"), n("Relu", ["a"], ["b"], name="relu"),
        n("Log", ["b"], ["c"], name="log"), n("Exp", ["c"], ["y"], name="exp2"),
    ]
    return _model(nodes, [x], [y])


def test_unsupported_ops_are_listed_with_counts(tmp_path, capsys):
    path = tmp_path / "exotic.onnx"
    onnx.save(_unsupported_model(), path)
    with pytest.raises(EdgesimError, match=r"unsupported ONNX ops: Exp ×2, Log ×1;"):
        load_onnx(path)
    _cli_error(capsys, path)
    graph = load_onnx(path, allow_unknown=True)
    assert [(op.kind.value, op.tag, op.attr("onnx_op")) for op in graph.ops()] == [
        ("unknown", "unknown", "Exp"), ("relu", "", None),
        ("unknown", "unknown", "Log"), ("unknown", "unknown", "Exp"),
    ]


def test_dynamic_spatial_size_is_an_error(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    path = tmp_path / "dynamic.onnx"
    onnx.save(_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y]), path)
    with pytest.raises(EdgesimError, match=r"dynamic dimension 2 \('H'\).*--input-shape x=1x3x224x224"):
        load_onnx(path)
    _cli_error(capsys, path)


# -- CLI and specs ---------------------------------------------------------------------
def test_cli_export_then_inspect(tmp_path, capsys):
    graph = every_kind_graph()
    graph.save(tmp_path / "every.json")
    out = tmp_path / "every.onnx"
    assert main(["export", str(tmp_path / "every.json"), "--out", str(out), "--seed", "7"]) == 0
    assert "every_kind" in capsys.readouterr().out
    assert build(str(out)).macs == graph.macs
    assert main(["inspect", str(out), "--csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 1 + len(graph)
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".*.tmp"))


def test_cli_export_bad_spec_writes_nothing(tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert main(["export", "no_such_model", "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()


# -- the zoo and search spaces ---------------------------------------------------------
# vgg16 has 138 M weights: its fp32 export is a 553 MB file (~10 s to write and read).
_HEAVY = {"vgg16"}
_ZOO = sorted(e.name for e in entries() if e.task != "search_space")
_NB201 = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|",
]


@pytest.mark.parametrize(
    "spec",
    [pytest.param(n, marks=pytest.mark.slow) if n in _HEAVY else n for n in _ZOO]
    + [f"nasbench201(arch={a!r})" for a in _NB201]
    + [f"nasbench201(arch={_NB201[1]!r}, variant='latbench')", "fbnet"],
)
def test_round_trip_models(tmp_path, spec):
    graph = build(spec)
    back = assert_round_trip(graph, tmp_path / "m.onnx")
    assert sum(op.tag == "zero" for op in back) == sum(op.tag == "zero" for op in graph)
