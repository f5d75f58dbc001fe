"""TFLite export and import: files edgesim writes load and run in LiteRT's interpreter and
read back to the source graph's op kinds, shapes and MACs; Edge TPU-compiled, corrupt and
unsupported files give one-line errors."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("tflite")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from tflite.BuiltinOperator import BuiltinOperator as Builtin  # noqa: E402
from tflite.TensorType import TensorType  # noqa: E402

from graphs import EdgesimError, Kind, NetBuilder, OpGraph, build  # noqa: E402
from graphs.exporters.tflite import _Operator, _Writer, export_tflite, to_tflite  # noqa: E402
from graphs.flat import canonical_ops  # noqa: E402
from graphs.importers.tflite import load_tflite  # noqa: E402
from graphs.spaces import nasbench201 as nb  # noqa: E402
from simulator import predict  # noqa: E402
from simulator.cli import main  # noqa: E402

FOLDING = (Kind.CONV2D, Kind.DEPTHWISE_CONV2D, Kind.DENSE)


def every_kind_graph() -> OpGraph:
    """One network with an op of every kind the TFLite exporter writes."""
    b = NetBuilder("every_kind", (1, 3, 32, 32))
    b.conv_bn_act(16, 3, 2, Kind.RELU6)  # 32 -> 16 SAME, batch norm folded, relu6 fused
    skip = b.x
    b.dw_bn_act(3, 1, Kind.HARD_SWISH)
    b.se(8)  # mean, biased 1x1 convs, relu, hard-sigmoid (ADD+relu6, MUL), broadcast MUL
    b.conv(16, 1)
    b.bn()
    b.act(Kind.SWISH)  # LOGISTIC + MUL
    s = b.add(b.x, skip)
    b.bn()  # after an add: the converter's MUL + ADD
    b.act(Kind.RELU)  # standalone: the add before it has another reader
    b.add(b.x, s)
    for kind in (Kind.LEAKY_RELU, Kind.TANH, Kind.SIGMOID, Kind.GELU):
        b.act(kind)
    a = b.pool("max", 3, 2)
    c = b.pool("avg", 2, 2, padding="valid", x=skip)
    b.concat([a, c])
    b.pad((1, 0, 1, 0))
    b.conv(32, 3, 2, padding="valid")
    zero = b.op(Kind.MUL, [b.x], b.shape(), name="zero", tag="zero")  # NAS-Bench-201 `none`
    b.add(zero, b.x)
    b.resize(8, 8, mode="bilinear")
    b.op(Kind.MUL, [b.x], b.shape(), name="half")  # times a constant
    b.global_pool()
    b.flatten()
    b.dense(10)
    b.softmax()
    return b.build()


def folded(graph: OpGraph) -> Counter:
    """(kind, shape, MACs) of the source ops a TFLite file keeps: batch norms after a conv
    or dense layer fold into it, duplicates are written once."""
    canon = canonical_ops(graph.flat())
    return Counter(
        (op.kind, op.output, op.macs) for i, op in enumerate(graph.ops())
        if canon[i] == i and not (op.kind == Kind.BATCH_NORM and graph.op(graph.sources(op.name)[0]).kind in FOLDING)
    )


def run_litert(path) -> np.ndarray:
    interpreter = litert.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.random.default_rng(0).standard_normal(detail["shape"]).astype(
        np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def assert_round_trip(graph: OpGraph, path, precision: str) -> OpGraph:
    export_tflite(graph, path, precision)
    out = run_litert(path)  # LiteRT's interpreter accepts and runs the file
    assert out.shape == graph.op(graph.outputs()[0]).output and np.isfinite(out).all()
    back = load_tflite(path)
    kinds = Counter((op.kind, op.output, op.macs) for op in back.ops())
    if precision == "int8":  # the float input is quantized and the output dequantized
        assert kinds.pop((Kind.QUANTIZE, graph.inputs["input"], 0)) == 1
        assert kinds.pop((Kind.DEQUANTIZE, graph.op(graph.outputs()[0]).output, 0)) == 1
    assert kinds == folded(graph)
    assert back.macs == graph.macs
    assert back.meta["precision"] == precision and back.meta["format"] == "tflite"
    bits = {op.bits for op in back.ops() if op.kind not in (Kind.QUANTIZE, Kind.DEQUANTIZE)}
    assert bits == ({8} if precision == "int8" else {32})
    return back


def test_every_kind_is_covered():
    kinds = {op.kind for op in every_kind_graph().ops()}
    # Detection post-processing is TFLite's custom op TFLite_Detection_PostProcess, not a builtin.
    unwritable = {Kind.GROUPED_CONV2D, Kind.MATMUL, Kind.TRANSPOSE, Kind.QUANTIZE, Kind.DEQUANTIZE, Kind.UNKNOWN,
                  Kind.DETECTION_POSTPROCESS}
    assert kinds == set(Kind) - unwritable


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_round_trip_every_kind(tmp_path, precision):
    back = assert_round_trip(every_kind_graph(), tmp_path / "every.tflite", precision)
    # The fused relu6 of the stem conv comes back as its own op after it.
    stem = back.ops()[1 if precision == "int8" else 0]
    assert stem.kind == Kind.CONV2D and stem.bias and back.consumers(stem.name) == [f"{stem.name}/relu6"]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize(
    "spec", ["mobilenet_v3_large(resolution=96)", "efficientnet_b0(resolution=96)", nb.spec(nb.sample(1, seed=0)[0])]
)
def test_round_trip_models(tmp_path, spec, precision):
    assert_round_trip(build(spec), tmp_path / "model.tflite", precision)


def test_int8_quantization_is_per_channel_for_weights_per_tensor_for_activations():
    import tflite

    data = to_tflite(every_kind_graph(), "int8")
    sub = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    tensors = [sub.Tensors(i) for i in range(sub.TensorsLength())]
    weights = [t for t in tensors if t.Name().endswith(b"/weight")]
    assert weights and all(t.Type() == TensorType.INT8 for t in weights)
    for t in weights:  # one scale per output channel (the depthwise filter keeps them last)
        channels = t.ShapeAsNumpy()[t.Quantization().QuantizedDimension()]
        assert t.Quantization().ScaleLength() == channels > 1 or t.ShapeAsNumpy()[0] == 1
    biases = [t for t in tensors if t.Name().endswith(b"/bias")]
    assert biases and all(t.Type() == TensorType.INT32 for t in biases)
    activations = [t for t in tensors if t.Type() == TensorType.INT8 and not t.Name().endswith(b"/weight")]
    assert activations and all(t.Quantization().ScaleLength() == 1 for t in activations)


def _writer(graph: OpGraph) -> _Writer:
    writer = _Writer(graph, False, np.random.default_rng(0))
    writer.run()
    return writer


def _relus(n: int) -> OpGraph:
    b = NetBuilder("relus", (1, 4, 8, 8))
    for _ in range(n):
        b.act(Kind.TANH)
    return b.build()


def test_fp16_weights_and_uint8(tmp_path):
    """fp16 weights dequantized at load (the converter's float16 mode): precision fp16, no
    op for the DEQUANTIZE. uint8 tensors: precision uint8, 8-bit ops."""
    b = NetBuilder("fp16", (1, 3, 16, 16))
    b.conv_bn_act(8, 3, 1, Kind.RELU)
    writer = _writer(b.build())
    weight = next(i for i, t in enumerate(writer.tensors) if t.name.endswith("/weight"))
    stored = writer.tensors[weight]
    half = np.frombuffer(stored.data, np.float32).astype(np.float16).tobytes()
    writer.tensors.append(dataclasses.replace(stored, name=stored.name + "/fp16", type=TensorType.FLOAT16, data=half))
    writer.tensors[weight] = dataclasses.replace(stored, data=b"")
    writer.operators.insert(0, _Operator(Builtin.DEQUANTIZE, [len(writer.tensors) - 1], [weight]))
    path = tmp_path / "fp16.tflite"
    path.write_bytes(writer.serialize())
    assert run_litert(path).shape == (1, 16, 16, 8)
    graph = load_tflite(path)
    assert graph.meta["precision"] == "fp16"
    assert [op.kind for op in graph.ops()] == [Kind.CONV2D, Kind.RELU]

    writer = _Writer(every_kind_graph(), True, np.random.default_rng(0))
    writer.run()
    for t in writer.tensors:
        if t.type == TensorType.INT8:
            t.type, t.zero_point = TensorType.UINT8, tuple(z + 128 for z in t.zero_point)
    path.write_bytes(writer.serialize())
    graph = load_tflite(path)
    assert graph.meta["precision"] == "uint8" and graph.macs == every_kind_graph().macs
    assert {op.bits for op in graph.ops() if op.kind not in (Kind.QUANTIZE, Kind.DEQUANTIZE)} == {8}


def _cli_error(capsys, path) -> str:
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgesim: error: ") and err.count("\n") == 1
    return err


def test_edgetpu_compiled_file_is_refused(tmp_path, capsys):
    writer = _writer(_relus(1))
    writer.operators = [_Operator("edgetpu-custom-op", list(writer.inputs), list(writer.output_indices))]
    path = tmp_path / "model_edgetpu.tflite"
    path.write_bytes(writer.serialize())
    with pytest.raises(EdgesimError, match=r"compiled for the Edge TPU \(its ops are hidden in 1 edgetpu-custom-op\)"):
        load_tflite(path)
    assert "before edgetpu_compiler" in _cli_error(capsys, path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 12])
def test_truncated_file(tmp_path, capsys, keep):
    data = to_tflite(every_kind_graph())
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    with pytest.raises(EdgesimError, match="truncated or corrupt TFLite file"):
        load_tflite(cut)
    assert "truncated or corrupt" in _cli_error(capsys, cut)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"\x08\x07" * 20])
def test_not_tflite(tmp_path, capsys, content):
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.raises(EdgesimError, match="not a TFLite model"):
        load_tflite(path)
    _cli_error(capsys, path)


def test_unsupported_ops_are_listed_with_counts(tmp_path, capsys):
    writer = _writer(_relus(4))
    for op, code in zip(writer.operators, (Builtin.EXP, Builtin.TANH, Builtin.LOG, Builtin.EXP), strict=True):
        op.code = code
    path = tmp_path / "exotic.tflite"
    path.write_bytes(writer.serialize())
    with pytest.raises(EdgesimError, match=r"unsupported TFLite ops: EXP ×2, LOG ×1; pass allow_unknown"):
        load_tflite(path)
    _cli_error(capsys, path)
    graph = load_tflite(path, allow_unknown=True)
    assert [(op.kind.value, op.tag, op.attr("tflite_op")) for op in graph.ops()] == [
        ("unknown", "unknown", "EXP"), ("tanh", "", None), ("unknown", "unknown", "LOG"), ("unknown", "unknown", "EXP"),
    ]
    assert main(["predict", str(path), "--device", "pixel4-cpu", "--allow-unknown"]) == 0


def test_what_tflite_cannot_express_is_an_error(tmp_path):
    b = NetBuilder("grouped", (1, 8, 8, 8))
    b.conv(8, 3, groups=2)
    with pytest.raises(EdgesimError, match="is kind grouped_conv2d; edgesim cannot write it to TFLite"):
        export_tflite(b.build(), tmp_path / "g.tflite")
    b = NetBuilder("padded", (1, 8, 9, 9))
    b.conv(8, 3, 1, padding=2)  # 9 -> 11: neither SAME nor VALID
    with pytest.raises(EdgesimError, match="neither TFLite's SAME nor VALID padding"):
        export_tflite(b.build(), tmp_path / "p.tflite")
    assert not list(tmp_path.iterdir())
    with pytest.raises(EdgesimError, match="precision must be one of fp32, int8"):
        to_tflite(_relus(1), "int4")


def test_cli_export_inspect_predict_measure(tmp_path, capsys):
    out = tmp_path / "mnv3.tflite"
    spec = "mobilenet_v3_small(resolution=96)"
    assert main(["export", spec, "--format", "tflite", "--precision", "int8", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--json"]) == 0
    assert f'"macs": {build(spec).macs}' in capsys.readouterr().out
    # a TFLite file is priced like the graph it holds
    assert predict(out, "pixel4-cpu").macs == build(spec).macs
    csv = tmp_path / "m.csv"
    assert main(["measure", str(out), spec, "--runtime", "litert", "--precision", "int8", "--repeat", "2",
                 "--warmup", "1", "--out", str(csv)]) == 0
    rows = csv.read_text().splitlines()
    assert len(rows) == 3 and "LiteRT" in rows[1] and "int8" in rows[2]
    for bad in (["export", spec, "--precision", "int8", "--out", str(tmp_path / "x.onnx")],
                ["measure", str(out), "--out", str(tmp_path / "y.csv")],
                ["measure", spec, "--precision", "int8", "--out", str(tmp_path / "y.csv")]):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("edgesim: error: ") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "mnv3.tflite"]
