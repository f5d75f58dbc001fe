"""Every form a model comes in: ModelProto and pathlib.Path objects, ONNX files with dynamic
input sizes (`input_shape=` / `--input-shape`), and objects edgesim cannot read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from graphs import EdgesimError, Kind, NetBuilder, build  # noqa: E402
from graphs.exporters.onnx import export_onnx, to_onnx  # noqa: E402
from simulator import Predictor, predict  # noqa: E402
from simulator.cli import main  # noqa: E402


def small_graph():
    b = NetBuilder("small", (1, 3, 32, 32))
    b.conv_bn_act(16, 3, 2, Kind.RELU6)
    b.dw_bn_act(3, 1, Kind.RELU6)
    b.global_pool()
    b.flatten()
    b.dense(10)
    return b.build()


def dynamic_model(batch: str | int = "N") -> onnx.ModelProto:
    """conv 3x3 (3 → 8, stride 2, pads 1) + relu on an input of dynamic batch, height, width."""
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), dtype=np.float32), "w")
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(nodes, "dynamic", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_model_proto_and_path_equal_the_file(tmp_path):
    graph = small_graph()
    path = export_onnx(graph, tmp_path / "small.onnx")
    by_string = predict(str(path), "pixel4-cpu")
    by_path = predict(Path(path), "pixel4-cpu")
    by_proto = predict(onnx.load(path), "pixel4-cpu")
    assert by_path.latency_s == by_string.latency_s == by_proto.latency_s
    assert by_path.model == str(path) and by_proto.model == "small"  # the graph's own name
    assert build(to_onnx(graph)).macs == graph.macs == build(Path(path)).macs
    p = Predictor("pixel4-cpu")
    assert list(p.predict([Path(path), onnx.load(path), str(path)])) == [by_string.latency_s * 1e3] * 3


def test_input_shape_fixes_dynamic_axes(tmp_path):
    model = dynamic_model()
    path = tmp_path / "dynamic.onnx"
    onnx.save(model, path)
    with pytest.raises(EdgesimError, match=r"'image' \(Nx3xHxW\) has a dynamic dimension 2 \('H'\)"):
        build(path)
    # Hand count: output 8 x 112 x 112 (stride 2, pads 1), 3*3*3 MACs per output element.
    for given in ((1, 3, 224, 224), {"image": (1, 3, 224, 224)}):
        graph = build(path, input_shape=given)
        assert graph.inputs == {"image": (1, 3, 224, 224)}
        assert [op.output for op in graph.ops()] == [(1, 8, 112, 112)] * 2
        assert graph.macs == 8 * 112 * 112 * 27
    small = build(model, input_shape=(1, 3, 100, 60))
    assert small.macs == 8 * 50 * 30 * 27
    assert predict(path, "pixel4-cpu", input_shape=(1, 3, 100, 60)).macs == small.macs
    assert Predictor("pixel4-cpu").predict([path], input_shape=(1, 3, 100, 60))[0] == pytest.approx(
        predict(small, "pixel4-cpu").latency_s * 1e3
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"img": (1, 3, 8, 8)}, r"given for 'img', which is not an input; inputs: image"),
        ((1, 3, 8), r"has 4 dimensions, the shape given 1x3x8 has 3"),
        ((1, 4, 8, 8), r"fixed dimension 1 of 3; the shape given sets it to 4"),
        ((1, 3, 0, 8), r"must be positive integers"),
        ([[1, 3, 8, 8]], r"give one shape such as \(1, 3, 224, 224\)"),
    ],
)
def test_bad_input_shapes(given, message):
    with pytest.raises(EdgesimError, match=message):
        build(dynamic_model(), input_shape=given)


def test_input_shape_only_for_models_with_dynamic_inputs(tmp_path):
    with pytest.raises(EdgesimError, match="zoo models take resolution="):
        build("mobilenet_v2", input_shape=(1, 3, 160, 160))
    with pytest.raises(EdgesimError, match="its shapes are fixed"):
        build(small_graph(), input_shape=(1, 3, 32, 32))


def test_cli_input_shape(tmp_path, capsys):
    path = tmp_path / "dynamic.onnx"
    onnx.save(dynamic_model(), path)
    assert main(["inspect", str(path), "--input-shape", "image=1x3x64x64", "--json"]) == 0
    assert '"macs": 221184' in capsys.readouterr().out  # 8 x 32 x 32 x 27
    assert main(["predict", str(path), "--device", "pixel4-cpu", "--input-shape", "1x3x64x64", "--json"]) == 0
    assert '"macs": 221184' in capsys.readouterr().out
    for bad in ("image=1x3x64", "image=1x3xax64", "image=", "image=1x3x-4x64"):
        assert main(["inspect", str(path), "--input-shape", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("edgesim: error: ") and err.count("\n") == 1, err
    assert main(["inspect", str(path)]) == 2
    assert "--input-shape image=1x3x224x224" in capsys.readouterr().err


def test_two_inputs_need_names(tmp_path):
    x = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4, "H", "W"])
    y = helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4, "H", "W"])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, None)
    model = helper.make_model(
        helper.make_graph([helper.make_node("Add", ["a", "b"], ["z"])], "two", [x, y], [z]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    with pytest.raises(EdgesimError, match="has 2 inputs \\(a, b\\); name the one"):
        build(model, input_shape=(1, 4, 8, 8))
    graph = build(model, input_shape={"a": (1, 4, 8, 8), "b": (1, 4, 8, 8)})
    assert [op.kind for op in graph.ops()] == [Kind.ADD] and graph.ops()[0].output == (1, 4, 8, 8)


def test_files_and_objects_edgesim_cannot_read(tmp_path, capsys):
    with pytest.raises(EdgesimError, match=r"a model is a spec string, a path .*torch.nn.Module, not dict"):
        build({"model": "mobilenet_v2"})
    odd = tmp_path / "model.pb"
    odd.write_bytes(b"x")
    with pytest.raises(EdgesimError, match=r"unknown model file type '.pb'; edgesim reads .json, .onnx, .tflite"):
        build(odd)
    with pytest.raises(EdgesimError, match="no such model file"):
        build(Path(tmp_path / "absent.onnx"))


def test_measure_times_a_dynamic_model_at_the_given_shape(tmp_path):
    pytest.importorskip("onnxruntime")
    from simulator.measure import measure

    path = tmp_path / "dynamic.onnx"
    onnx.save(dynamic_model(), path)
    with pytest.raises(EdgesimError, match="dynamic dimension 2"):
        measure([str(path)], repeat=1, warmup=0)
    out = tmp_path / "m.csv"
    assert main(["measure", str(path), "--input-shape", "image=1x3x64x64", "--repeat", "2", "--out", str(out)]) == 0
    assert out.read_text().count("\n") == 2


def test_a_given_shape_keeps_a_dynamic_batch():
    one = build(dynamic_model(), input_shape=(1, 3, 64, 64))
    four = build(dynamic_model(), input_shape=(1, 3, 64, 64), batch=4)
    assert four.inputs == {"image": (4, 3, 64, 64)} and four.macs == 4 * one.macs
    with pytest.raises(EdgesimError, match="fixed batch size; export it with a dynamic batch axis to price batch 4"):
        build(dynamic_model(batch=1), input_shape=(1, 3, 64, 64), batch=4)


def test_numpy_codes_of_search_spaces_are_models():
    from graphs.spaces import SPACES

    p = Predictor("pixel4-cpu")
    for module in SPACES.values():
        arch = module.sample(1, seed=3)[0]
        code = np.asarray(module.encode(arch), dtype=np.int64)
        spec = module.spec(arch)
        assert build(code).macs == build(spec).macs
        report = predict(code, "pixel4-cpu")
        assert report.model == spec and report.latency_s == predict(spec, "pixel4-cpu").latency_s
        # codes take the segment fast path: predict()'s number up to summation order
        np.testing.assert_allclose(p.predict([code, np.asarray(code, dtype=np.uint8)]), [report.latency_s * 1e3] * 2,
                                   rtol=1e-12)
    with pytest.raises(EdgesimError, match=r"fits no search space: a code of 5 integers; code lengths: nasbench201 6"):
        build(np.zeros(5, dtype=int))
    with pytest.raises(EdgesimError, match="one search-space code"):
        build(np.zeros((2, 6), dtype=int))
    with pytest.raises(EdgesimError, match="one search-space code"):
        build(np.zeros(6))
