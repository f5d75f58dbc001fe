"""Batch size on the graph side: every model spec takes `batch=B`; shapes, MACs and
activation bytes scale with B and weights do not; bad batch sizes are one-line errors."""

import csv
import json

import numpy as np
import onnx
import pytest
from test_onnx import _torch_like_model

from graphs import EdgesimError
from graphs.batch import per_sample, with_batch
from graphs.registry import entries
from graphs.spaces import fbnet, nasbench201
from graphs.spaces import ofa_mbv3 as ofa
from graphs.spec import build, canonical
from simulator.engine import run, simulate
from simulator.hardware.profile import load_profile
from simulator.predictor import Predictor


@pytest.mark.parametrize("name", sorted(e.name for e in entries()))
def test_every_model_spec_takes_a_batch(name):
    one = build(name)
    four = build(f"{name}(batch=4)")
    assert four.macs == 4 * one.macs and four.params == one.params
    for a, b in zip(one.ops(), four.ops(), strict=True):
        assert b.output == (4 * a.output[0], *a.output[1:])
        assert b.out_bytes == 4 * a.out_bytes and b.weight_bytes == a.weight_bytes
    assert build(name, batch=4) == four


def test_spec_option_and_keyword_agree_and_canonical_keeps_the_batch():
    assert canonical("mobilenet_v2(batch=8, width=1.0)") == "mobilenet_v2(batch=8)"
    assert canonical("mobilenet_v2(batch=1)") == "mobilenet_v2"
    assert build("mobilenet_v2(batch=8)", batch=8).inputs["input"] == (8, 3, 224, 224)
    with pytest.raises(EdgesimError, match="batch=8 in the spec but batch 4"):
        build("mobilenet_v2(batch=8)", batch=4)


@pytest.mark.parametrize(
    "spec, batch, message",
    [
        ("mobilenet_v2(batch=0)", None, "batch must be at least 1, not 0"),
        ("mobilenet_v2(batch=-2)", None, "batch must be at least 1, not -2"),
        ("mobilenet_v2(batch=2.5)", None, r"whole number of samples \(1, 2, ...\), not 2.5"),
        ("mobilenet_v2(batch='8')", None, "whole number of samples"),
        ("mobilenet_v2(batch=True)", None, "whole number of samples"),
        ("mobilenet_v2", 0, "--batch must be at least 1"),
        ("mobilenet_v2", 1.5, "--batch must be a whole number"),
    ],
)
def test_bad_batch_sizes_are_one_line_errors(spec, batch, message):
    with pytest.raises(EdgesimError, match=message) as err:
        build(spec, batch=batch)
    assert "\n" not in str(err.value)


def test_onnx_with_a_dynamic_batch_axis_takes_a_batch(tmp_path):
    path = tmp_path / "torchlike.onnx"
    onnx.save(_torch_like_model(), path)
    one = build(str(path))
    eight = build(str(path), batch=8)
    assert eight.macs == 8 * one.macs and eight.params == one.params
    assert eight.op("to_seq").output == (8, 4, 4)
    # the same graph saved as JSON keeps its dynamic batch axis
    one.save(tmp_path / "g.json")
    assert build(str(tmp_path / "g.json"), batch=8) == eight


def test_a_fixed_batch_graph_refuses_another(tmp_path):
    build("mobilenet_v2").save(tmp_path / "fixed.json")
    with pytest.raises(EdgesimError, match="fixed batch size"):
        build(str(tmp_path / "fixed.json"), batch=2)
    assert build(str(tmp_path / "fixed.json"), batch=1).macs == build("mobilenet_v2").macs
    with pytest.raises(EdgesimError, match="not batch 1"):
        with_batch(build("mobilenet_v2(batch=2)"), 2)


@pytest.mark.parametrize(
    "space, module, options",
    [("ofa_mbv3", ofa, {}), ("fbnet", fbnet, {"dataset": "imagenet"}), ("nasbench201", nasbench201, {})],
)
@pytest.mark.parametrize("device", ["gtx-1080ti", "pixel4-cpu", "coral-usb", "hexagon-690"])
def test_predict_space_at_a_batch_equals_whole_graph_pricing(space, module, options, device):
    archs = module.sample(20, seed=5)
    predictor = Predictor(device)
    fast = predictor.predict_space(space, archs, batch=16, **options)
    whole = predictor.predict([build(module.spec(a, **options), batch=16) for a in archs])
    np.testing.assert_allclose(fast, whole, rtol=1e-12)


# -- devices whose runtime invokes a one-sample model per sample --------------------------
def test_per_sample_undoes_with_batch():
    graph = build("mobilenet_v3_large")
    single, batch = per_sample(with_batch(graph, 6).flat())
    assert batch == 6 and single.ops == graph.flat().ops and single.inputs == graph.flat().inputs
    assert per_sample(graph.flat()) is None


@pytest.mark.parametrize("device", ["coral-usb", "pixel4-edgetpu", "hexagon-690"])
@pytest.mark.parametrize("model", ["mobilenet_v2", "mobilenet_v3_large", "efficientnet_lite0"])
def test_edge_tpu_and_dsp_run_a_batch_as_one_invocation_per_sample(device, model):
    """Coral's compiler maps no tensor with a batch axis above 1 and the Hexagon delegate
    runs a batch as repeated graph runs: batch B costs B one-sample inferences, latency and
    energy, the host's fallen-back ops (hard-swish on the Edge TPU), link transfers and
    the call into the accelerator included."""
    profile = load_profile(device)
    one = run(build(model).flat(), profile)
    for batch in (2, 7, 32):
        many = run(build(model, batch=batch).flat(), profile)
        assert many.latency_s == pytest.approx(batch * one.latency_s, rel=1e-12)
        assert many.energy_j == pytest.approx(batch * one.energy_j, rel=1e-12)
    report = simulate(build(model, batch=4), profile)
    assert report.batch == 4 and "4 invocations of one sample" in report.rows[0].note
    assert sum(r.cost.latency_s for r in report.rows) == pytest.approx(
        4 * sum(c.latency_s for c in one.costs), rel=1e-12)


@pytest.mark.parametrize("device", ["gtx-1080ti", "pixel4-cpu"])
def test_gpus_and_cpus_take_the_batch_in_each_op(device):
    """On a GPU a batch fills more of the device (and launches once), on a CPU weights are
    read once per batch: per sample, a batch of 32 is cheaper than one sample."""
    profile = load_profile(device)
    one = run(build("mobilenet_v2").flat(), profile).latency_s
    assert run(build("mobilenet_v2", batch=32).flat(), profile).latency_s < 32 * one


# -- the CLI --------------------------------------------------------------------------
def test_predict_cli_reports_per_batch_per_sample_and_throughput(capsys):
    from simulator import predict
    from simulator.cli import main

    assert main(["predict", "mobilenet_v2", "--device", "gtx-1080ti", "--batch", "32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    report = predict("mobilenet_v2(batch=32)", "gtx-1080ti")
    assert data["batch"] == 32 and data["latency_ms"] == pytest.approx(report.latency_s * 1e3)
    assert data["latency_per_sample_ms"] == pytest.approx(data["latency_ms"] / 32)
    assert data["throughput_per_s"] == pytest.approx(32e3 / data["latency_ms"])
    assert data["macs"] == 32 * build("mobilenet_v2").macs
    assert main(["predict", "mobilenet_v2", "--device", "gtx-1080ti", "--batch", "32"]) == 0
    text = capsys.readouterr().out
    assert "ms per batch of 32" in text and "ms per sample" in text and "samples/s" in text


@pytest.mark.parametrize("value", ["0", "-4", "2.5", "many"])
def test_cli_batch_errors_are_one_line(capsys, value):
    from test_predict_cli import one_line_error

    for command in (["predict", "mobilenet_v2", "--device", "gtx-1080ti"],
                    ["pareto", "--device", "gtx-1080ti", "--out", "unused"],
                    ["sweep", "--device", "gtx-1080ti", "--set", "units=28", "--models", "mobilenet_v2",
                     "--out", "unused"]):
        line = one_line_error(capsys, [*command, "--batch", value])
        assert "batch" in line


def test_sweep_and_pareto_take_a_batch(tmp_path, capsys):
    from simulator.cli import main

    out = tmp_path / "s"
    assert main(["sweep", "--device", "gtx-1080ti", "--set", "units=14,28", "--models", "mobilenet_v2",
                 "--batch", "16", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    with (out / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["batch"]) for r in rows] == [16, 16]
    # half the SMs: a batch-16 MobileNetV2 fills them, so it takes longer
    assert float(rows[0]["latency_ms"]) > float(rows[1]["latency_ms"])
    assert float(rows[1]["throughput_per_s"]) == pytest.approx(16e3 / float(rows[1]["latency_ms"]))
    out = tmp_path / "p"
    assert main(["pareto", "--device", "gtx-1080ti", "--models", "mobilenet_v2", "mnasnet_a1",
                 "--batch", "8", "--out", str(out)]) == 0
    with (out / "pareto.csv").open() as handle:
        got = {r["model"]: float(r["latency_ms"]) for r in csv.DictReader(handle)}
    assert got["mobilenet_v2"] == pytest.approx(predict_ms("mobilenet_v2(batch=8)"))


def predict_ms(spec):
    from simulator import predict

    return predict(spec, "gtx-1080ti").latency_s * 1e3
