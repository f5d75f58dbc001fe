"""One regression test per bullet of issue 18's "What broke" list (output paths and
interruption have their own files, test_outputs.py and test_interrupt.py): each bad input
is one line on stderr with exit 2 (an `EdgesimError` in Python), never a traceback and
never an infinite or NaN result with exit 0."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest

from graphs import EdgesimError
from graphs.spec import build, parse_spec
from simulator import Predictor, predict
from tests.cli_check import one_line_error, run_cli

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


# -- encodings and nesting -------------------------------------------------------------
def test_non_utf8_graph_file_and_non_graph_json(tmp_path, capsys):
    (tmp_path / "latin.json").write_bytes(b'{"name": "caf\xe9"}')
    assert "not a UTF-8 text file" in one_line_error(capsys, ["inspect", str(tmp_path / "latin.json")])
    for text in ("[]", "3", '"x"', "null", "[" * 100_000):
        (tmp_path / "g.json").write_text(text)
        assert str(tmp_path / "g.json") in one_line_error(capsys, ["inspect", str(tmp_path / "g.json")])


def test_graph_json_with_nonsense_fields_is_refused(tmp_path, capsys):
    good = json.loads(build("mobilenet_v1(resolution=32, width=0.25)").to_json())
    for field, value in [("output", [1, 0, 4]), ("output", [1, -3]), ("output", "x"), ("groups", 0),
                         ("kernel", [1e999, 3]), ("bits", 1000), ("inputs", {"a": 1})]:
        data = json.loads(json.dumps(good))
        data["ops"][0][field] = value
        (tmp_path / "g.json").write_text(json.dumps(data))
        one_line_error(capsys, ["predict", str(tmp_path / "g.json"), "--device", "pixel1-cpu"])
    data = dict(good, ops=[])
    (tmp_path / "g.json").write_text(json.dumps(data))
    assert "ops" in one_line_error(capsys, ["predict", str(tmp_path / "g.json"), "--device", "pixel1-cpu"])


@pytest.mark.parametrize("spec, message", [
    ("mobilenet_v2(width=1e999)", "not a finite number"),
    ("mobilenet_v2(width=float('nan'))", "not a literal"),
    ("mobilenet_v2(width=1e300)", "at most 64"),
    ("resnet50(resolution=100000000)", "at most 16384"),
    ("mobilenet_v2(num_classes=10**9)", "not a literal"),
    ("ssdlite(num_classes=100000000)", "num_classes must be from 1"),
    ("mobilenet_v2(width=1, width=0.5)", "'width' is given twice"),
    ("mobilenet_v2(" + "[" * 3000 + ")", "characters long"),
    ("x" * 3000, "characters long"),
    ("mobilenet_v2(width=(1e999,))", "not a finite number"),
    ("mobilenet_v2(width=1j)", "not a finite number"),
])
def test_spec_numbers_and_duplicates(spec, message):
    with pytest.raises(EdgesimError, match=message.replace("(", r"\(")):
        build(spec)


def test_specs_stay_literal_only():
    with pytest.raises(EdgesimError, match="not a literal"):
        parse_spec("mobilenet_v2(width=__import__('os').getpid())")
    with pytest.raises(EdgesimError):
        parse_spec("__import__('os').system('true')")


def test_overlong_arguments_are_one_short_line(capsys):
    line = one_line_error(capsys, ["predict", "m" * 100_000, "--device", "pixel1-cpu"])
    assert "100000 characters long" in line and len(line) < 200
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", "d" * 300])
    assert "File name too long" in line and len(line) < 200


# -- zero and extreme numbers ----------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["--fps", "inf", "--json"], ["--fps", "nan"], ["--fps", "0"], ["--fps", "-1"], ["--fps", "1e999"], ["--fps", "x"],
])
def test_fps_must_be_finite_and_positive(argv, capsys):
    assert "fps must be positive and finite" in one_line_error(
        capsys, ["predict", "mobilenet_v2", "--device", "pixel1-cpu", *argv])


def test_json_output_is_strict(capsys):
    code, out, _ = run_cli(capsys, ["predict", "mobilenet_edgetpu", "--device", "pixel4-edgetpu", "--fps", "1e6",
                                    "--json"])
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c} in JSON"))
    assert data["fps_met"] is False and 0 < data["avg_power_w"] < 100


def test_an_absurd_prediction_is_an_error_not_a_number():
    """Each profile number within its range can still combine into an absurd prediction
    (a one-MAC-per-second CPU: 300 M MACs take ten years); it is refused, not reported."""
    from simulator.hardware.profile import load_profile

    profile = load_profile("pixel1-cpu").replace(
        **{"compute.macs_per_cycle": {"fp32": 1.0, "int8": 1.0}, "compute.clock_hz": 1.0})
    with pytest.raises(EdgesimError, match="out of any physical range"):
        predict("mobilenet_v2", profile)
    with pytest.raises(EdgesimError, match="out of any physical range"):
        Predictor(profile).predict(["mobilenet_v2"])
    with pytest.raises(EdgesimError, match="out of any physical range"):
        Predictor(profile).predict_space("nasbench201", [NB201])


# -- ONNX ------------------------------------------------------------------------------
def _onnx(tmp_path, nodes, inputs, outputs, initializers=()):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return str(path)


def test_onnx_structure_errors_name_the_node(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def x(shape, name="x", kind=TensorProto.FLOAT):
        return helper.make_tensor_value_info(name, kind, shape)

    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    relu = helper.make_node("Relu", ["x"], ["y"], name="act")
    weights = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    cases = [
        (([], [x([1, 3, 8, 8])], [x([1, 3, 8, 8])]), "the graph has no nodes"),
        (([relu], [x([1, 3], kind=TensorProto.STRING)], [y]), "input 'x' is STRING"),
        (([helper.make_node("Relu", ["nope"], ["y"], name="act")], [x([1, 3])], [y]),
         "node 'act' (Relu) reads tensor 'nope', but no input"),
        (([helper.make_node("Add", ["x", "b"], ["a"], name="add"), helper.make_node("Relu", ["a"], ["b"])],
          [x([1, 3])], [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)]),
         "node 'add' (Add) reads tensor 'b', but a later node computes it"),
        (([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])], [x([1, 5, 8, 8])], [y],
          [weights]), "Conv node 'conv': its weights [4, 3, 3, 3] with group=1 take 3 input channels, but the input "
                      "has 5"),
        (([relu], [x([0, 3, 8, 8])], [y]), "input 'x' has batch size 0"),
        (([relu], [x([1, 0, 8, 8])], [y]), "size on dimension 1 0"),
        (([relu], [x([1, -3, 8, 8])], [y]), "size on dimension 1 -3"),
        (([helper.make_node("Relu", ["c"], ["y"])], [x([1, 3])], [y],
          [numpy_helper.from_array(np.ones((1, 3), np.float32), "c")]), "has no ops"),
    ]
    assert onnx
    for args, message in cases:
        line = one_line_error(capsys, ["predict", _onnx(tmp_path, *args), "--device", "pixel1-cpu"])
        assert message in line, line


def test_unsupported_onnx_op_message_names_the_cli_flag(tmp_path, capsys):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    path = _onnx(tmp_path, [helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,ij->ij")], [x], [y])
    assert "--allow-unknown" in one_line_error(capsys, ["predict", path, "--device", "pixel1-cpu"])
    code, out, _ = run_cli(capsys, ["predict", path, "--device", "pixel1-cpu", "--allow-unknown", "--per-op"])
    assert code == 0 and "unknown" in out.splitlines()[2]


# -- reference data --------------------------------------------------------------------
HEADER = "model,latency_ms,energy_mj,device,source\n"


@pytest.mark.parametrize("row, message", [
    ("mobilenet_v2,5e-324,,d,s", "latency_ms must be a positive number from 1e-06"),
    ("mobilenet_v2,1e99,,d,s", "latency_ms must be a positive number"),
    ("mobilenet_v2,nan,,d,s", "latency_ms must be a positive number"),
    ("mobilenet_v2,20,inf,d,s", "energy_mj must be a positive number"),
])
def test_reference_values_out_of_physical_range(tmp_path, capsys, row, message):
    ref = tmp_path / "ref.csv"
    ref.write_text(HEADER + row + "\nmobilenet_v1,20,,d,s\n")
    line = one_line_error(capsys, ["validate", "--device", "pixel1-cpu", "--reference", str(ref)])
    assert f"{ref}:2: {message}" in line


def test_reference_with_a_byte_order_mark(tmp_path, capsys):
    ref = tmp_path / "ref.csv"
    ref.write_bytes(("\ufeff" + HEADER + "mobilenet_v2,20,,d,s\nmobilenet_v1,25,,d,s\n").encode())
    code, out, _ = run_cli(capsys, ["validate", "--device", "pixel1-cpu", "--reference", str(ref), "--json"])
    assert code == 0 and json.loads(out)["n"] == 2


@pytest.mark.parametrize("text, message", [
    ("model,accuracy\n", "no rows"),
    ("model,accuracy\nmobilenet_v2,nan\n", "not a finite number"),
    ("model,accuracy\nmobilenet_v2,inf\n", "not a finite number"),
    ("model,accuracy\nmobilenet_v2,\n", "is not a number"),
    ("model,accuracy\n,70\n", "empty model spec"),
    ("model\nmobilenet_v2\n", "needs columns model,accuracy"),
])
def test_accuracy_files(tmp_path, capsys, text, message):
    acc = tmp_path / "acc.csv"
    acc.write_text(text)
    line = one_line_error(capsys, ["pareto", "--device", "pixel1-cpu", "--accuracy", str(acc),
                                   "--out", str(tmp_path / "p")])
    assert message in line and not (tmp_path / "p").exists()


def test_accuracy_file_with_a_byte_order_mark(tmp_path, capsys):
    acc = tmp_path / "acc.csv"
    acc.write_bytes("\ufeffmodel,accuracy\nmobilenet_v2,72\nmobilenet_v1,70.6\n".encode())
    assert run_cli(capsys, ["pareto", "--device", "pixel1-cpu", "--accuracy", str(acc),
                            "--out", str(tmp_path / "p")])[0] == 0


@pytest.mark.parametrize("argv, message", [
    (["calibrate", "--device", "pixel1-cpu", "--reference", "published", "--seed", "-1", "--out", "x.toml"],
     "a seed must be an integer from 0"),
    (["calibrate", "--device", "pixel1-cpu", "--reference", "published", "--train", "0", "--out", "x.toml"],
     "a count must be an integer from 1"),
    (["validate", "--device", "pixel1-cpu", "--reference", "published", "--plot", "x.xyz"], "--plot x.xyz: end"),
    (["pareto", "--device", "pixel1-cpu", "--space", "nasbench201", "--accuracy", "a.csv", "--n", "0", "--out", "p"],
     "a count must be an integer from 1"),
    (["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1", "--models", "mobilenet_v2", "--out", "s",
      "--workers", "0"], "a count must be"),
    (["export", "mobilenet_v2", "--out", "m.onnx", "--seed", "x"], "a seed must be"),
    (["measure", "mobilenet_v2", "--out", "m.csv", "--repeat", "-2"], "a count must be"),
])
def test_numeric_flags(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert message in one_line_error(capsys, argv)
    assert list(tmp_path.iterdir()) == []


# -- API types -------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: predict(None, "pixel1-cpu"), "a model is a spec string, .*, not NoneType"),
    (lambda: predict("mobilenet_v2", 5), "a device is a profile name, a TOML path or a Profile, not int"),
    (lambda: predict("mobilenet_v2", "pixel1-cpu", fps="30"), "fps is a number of frames per second, not str"),
    (lambda: predict("mobilenet_v2", "pixel1-cpu", fps=float("inf")), "fps must be a finite positive number"),
    (lambda: predict("mobilenet_v2", "pixel1-cpu", model=3), "model names the report"),
    (lambda: Predictor("pixel1-cpu").predict([None]), "not NoneType"),
    (lambda: Predictor("pixel1-cpu").predict("mobilenet_v2"), "takes a list of models"),
    (lambda: Predictor("pixel1-cpu").predict_space("nasbench201", [NB201], variant_="x"), "unknown option 'variant_'"),
    (lambda: Predictor("pixel1-cpu").predict_space("nasbench201", [NB201], dataset=3), "is a string, not int"),
    (lambda: Predictor("pixel1-cpu").predict_space("nasbench201", [None]), "an arch is a string or a list"),
    (lambda: Predictor("pixel1-cpu").predict_space("fbnet", [[0] * 22], dataset="mnist"), "unknown dataset 'mnist'"),
    (lambda: Predictor(None), "not NoneType"),
])
def test_api_argument_types(call, message):
    with pytest.raises(EdgesimError, match=message.replace("(", r"\(")):
        call()


# -- Dask ------------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["foo", "tcp://", "tcp://localhost:notaport"])
def test_bad_scheduler_address(address, capsys, tmp_path):
    pytest.importorskip("dask.distributed")
    line = one_line_error(capsys, ["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1e-6", "--models",
                                   "mobilenet_v1", "--out", str(tmp_path / "s"), "--scheduler", address])
    assert f"--scheduler {address}" in line and not (tmp_path / "s").exists()


def test_a_port_that_is_not_a_dask_scheduler(capsys, tmp_path):
    """An HTTP-like server answers the handshake with text; read as a frame length it asked
    for exabytes (MemoryError). Now: one line, within the connect timeout."""
    pytest.importorskip("dask.distributed")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
            conn.recv(1024)

    threading.Thread(target=answer, daemon=True).start()
    try:
        line = one_line_error(capsys, ["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1e-6", "--models",
                                       "mobilenet_v1", "--out", str(tmp_path / "s"), "--scheduler",
                                       f"tcp://127.0.0.1:{port}"])
    finally:
        server.close()
    assert "cannot use a Dask scheduler there" in line


def test_a_sweep_with_a_near_zero_rate_fails_whole(tmp_path, capsys):
    """`link_bw_bytes_per_s=1e-300` gave 1.5e308 ms rows and a crash while plotting,
    leaving half a folder; now the value is refused, an absurd prediction too, and
    nothing is written."""
    out = tmp_path / "s"
    line = one_line_error(capsys, ["sweep", "--device", "coral-usb", "--set", "link_bw_bytes_per_s=1e-300,1e9",
                                   "--models", "mobilenet_v2", "--out", str(out), "--workers", "1", "--no-progress"])
    assert "--set link_bw_bytes_per_s=1e-300,1e9: coral-usb with link_bw_bytes_per_s=1e-300" in line
    assert list(tmp_path.iterdir()) == []
    # Within every range, a 1 B/s link still makes VGG-16 stream its weights for years.
    line = one_line_error(capsys, ["sweep", "--device", "coral-usb", "--set", "link_bw_bytes_per_s=1,1e9",
                                   "--models", "vgg16", "--out", str(out), "--workers", "1", "--no-progress"])
    assert "out of any physical range" in line
    assert list(tmp_path.iterdir()) == []


# -- profiles: one validation layer for every number -------------------------------------
def _profile(tmp_path, device: str, old: str, new: str, name: str = "edited.toml"):
    from simulator.hardware.profile import profile_dir

    text = (profile_dir() / f"{device}.toml").read_text()
    assert text.count(old) == 1, old
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return str(path)


@pytest.mark.parametrize("device, old, new, key, message", [
    ("coral-usb", "link_bw_bytes_per_s = ", "link_bw_bytes_per_s = 0 #", "offload.link_bw_bytes_per_s",
     "must be at least 1"),
    ("hexagon-690", "conv = 0.4049", "conv = 0", "efficiency.conv", "must be"),
    ("jetson-nano", "conv = 0.5676", "conv = 0", "efficiency.conv", "must be"),
    ("jetson-nano", "conv = 0.5676", "conv = 1e6", "efficiency.conv", "must be"),
    ("pixel1-cpu", "fp32 = 4,", "fp32 = 5e-324,", "compute.macs_per_cycle.fp32", "must be"),
    ("pixel1-cpu", "\nper_op_s = ", "\nper_op_s = 1e308 #", "overhead.per_op_s", "must be at most 1"),
    ("pixel1-cpu", "static_power_w = 0.4", "static_power_w = 1e308", "energy.static_power_w", "must be at most"),
    ("coral-usb", "array_rows = 64", "array_rows = 100000000", "array.array_rows", "must be at most"),
    ("coral-usb", 'fused_activations = ["relu", "relu6"]', 'fused_activations = ["relu", "warp"]',
     "runtime.fused_activations", "must be one of"),
    ("coral-usb", 'host = "coral-host-cpu"', 'host = "coral-usb"', "offload.host", "names this profile itself"),
])
def test_profile_numbers_out_of_physical_range(tmp_path, capsys, device, old, new, key, message):
    path = _profile(tmp_path, device, old, new)
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", path, "--json"])
    assert f"{path}: key '{key}' {message}" in line


def test_an_accelerator_as_offload_host_is_refused(tmp_path, capsys):
    path = _profile(tmp_path, "coral-usb", 'host = "coral-host-cpu"', 'host = "coral-pcie"')
    assert "an accelerator itself; name a CPU profile" in one_line_error(
        capsys, ["predict", "mobilenet_v2", "--device", path])


def test_profile_file_encodings_and_nesting(tmp_path, capsys):
    from simulator.hardware.profile import profile_dir

    text = (profile_dir() / "pixel1-cpu.toml").read_text()
    (tmp_path / "latin.toml").write_bytes(text.encode() + b'\n# caf\xe9\n')
    assert "not a UTF-8 text file" in one_line_error(capsys, ["predict", "mobilenet_v2", "--device",
                                                              str(tmp_path / "latin.toml")])
    (tmp_path / "deep.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "malformed TOML" in one_line_error(capsys, ["predict", "mobilenet_v2", "--device",
                                                       str(tmp_path / "deep.toml")])
    (tmp_path / "bom.toml").write_text("\ufeff" + text)
    assert run_cli(capsys, ["predict", "mobilenet_v2", "--device", str(tmp_path / "bom.toml")])[0] == 0


def test_set_and_replace_errors_blame_the_value_not_the_file(tmp_path, capsys):
    from simulator.hardware.profile import load_profile

    line = one_line_error(capsys, ["sweep", "--device", "coral-usb", "--set", "array_rows=64,1e308", "--models",
                                   "mobilenet_v2", "--out", str(tmp_path / "s")])
    assert line.startswith("edgesim: error: --set array_rows=64,1e308: coral-usb with array_rows=1e+308: key "
                           "'array.array_rows' must be")
    assert ".toml" not in line
    line = one_line_error(capsys, ["calibrate", "--device", "pixel1-cpu", "--reference", "published", "--set",
                                   "energy.idle_power_w=-1", "--out", str(tmp_path / "f.toml")])
    assert line.startswith("edgesim: error: --set energy.idle_power_w=-1: pixel1-cpu with energy.idle_power_w=-1")
    with pytest.raises(EdgesimError, match=r"^coral-usb with link_bw_bytes_per_s=0: key 'offload.link_bw"):
        load_profile("coral-usb").replace(link_bw_bytes_per_s=0)
    assert list(tmp_path.iterdir()) == []
