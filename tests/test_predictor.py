"""Batch prediction: the search-loop paths give the numbers `predict()` gives."""

import numpy as np
import pytest

from graphs import EdgesimError, build
from graphs.spaces import fbnet, nasbench201, ofa_mbv3
from simulator import predict
from simulator.hardware.profile import device_names
from simulator.predictor import Predictor

DEVICES = device_names()
SPACE_CASES = [
    ("nasbench201", nasbench201, {"variant": "pytorch"}, 120),
    ("nasbench201", nasbench201, {"variant": "latbench"}, 120),
    ("nasbench201", nasbench201, {"dataset": "imagenet16-120"}, 40),
    ("fbnet", fbnet, {"dataset": "imagenet"}, 60),
    ("fbnet", fbnet, {"dataset": "cifar100"}, 60),
    ("ofa_mbv3", ofa_mbv3, {}, 15),  # 300 subnets on three devices: test_ofa.py
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "space, module, options, n", SPACE_CASES, ids=lambda v: str(v) if isinstance(v, dict) else None
)
def test_segment_fast_path_equals_whole_graph_pricing(device, space, module, options, n):
    connected = {"connected": True} if space == "nasbench201" else {}
    archs = module.sample(n, seed=11, **connected)
    predictor = Predictor(device)
    for metric in ("latency", "energy"):
        fast = predictor.predict_space(space, archs, metric=metric, **options)
        graphs = [build(module.spec(a, **options)) for a in archs]
        whole = predictor.predict(graphs, metric=metric)
        np.testing.assert_allclose(fast, whole, rtol=1e-12)
        # spec strings and codes (a numpy array, one code per row) take the fast path too
        specs = predictor.predict([module.spec(a, **options) for a in archs], metric=metric)
        np.testing.assert_array_equal(specs, fast)
        codes = np.array([module.encode(a) for a in archs])
        np.testing.assert_array_equal(predictor.predict(codes, metric=metric, space=space, **options), fast)
    # graphs take the whole-graph path: equal to the report, to the bit, on a few of them
    for arch in archs[:3]:
        spec = module.spec(arch, **options)
        report = predict(spec, device)
        graph = build(spec)
        assert predictor.predict([graph])[0] == report.latency_s * 1e3
        assert predictor.predict([graph], metric="energy")[0] == report.energy_j * 1e3


def test_codes_and_disconnected_cells():
    predictor = Predictor(DEVICES[0])
    arch = nasbench201.sample(1, seed=5, connected=True)[0]
    code = nasbench201.encode(arch)
    assert predictor.predict_space("nasbench201", [code])[0] == predictor.predict_space("nasbench201", [arch])[0]
    # a cell with no input->output path (pytorch build) is priced whole, still equal
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
    assert not nasbench201.is_connected(dead)
    fast = predictor.predict_space("nasbench201", [dead])
    np.testing.assert_allclose(fast, predictor.predict([nasbench201.spec(dead)]), rtol=1e-12)


def test_zoo_batch_matches_predict():
    predictor = Predictor(DEVICES[0])
    specs = ["mobilenet_v2", "mobilenet_v3_large(width=0.75)", "mnasnet_a1"]
    got = predictor.predict(specs)
    assert got.tolist() == [predict(s, DEVICES[0]).latency_s * 1e3 for s in specs]


def test_errors():
    predictor = Predictor(DEVICES[0])
    with pytest.raises(EdgesimError, match="metric"):
        predictor.predict(["mobilenet_v2"], metric="power")
    with pytest.raises(EdgesimError, match="unknown search space"):
        predictor.predict_space("darts", ["x"])


def test_spec_strings_codes_and_graphs_alike():
    """One call takes every form; each gives predict()'s numbers, latency and energy at once."""
    device = "coral-usb"
    arch = nasbench201.sample(1, seed=7, connected=True)[0]
    code = nasbench201.encode(arch)
    fb = fbnet.sample(1, seed=7)[0]
    models = [
        nasbench201.spec(arch),  # a search-space spec string
        list(code),  # a code as a list: its length names the space
        np.array(code, dtype=np.int64),  # a numpy code, as samplers hand them over
        np.array(fbnet.encode(fb), dtype=np.int32),
        "mobilenet_v2",  # a zoo spec
        build("mnasnet_a1"),  # a graph
    ]
    expected = [predict(m, device) for m in
                [nasbench201.spec(arch)] * 3 + [fbnet.spec(fb), "mobilenet_v2", "mnasnet_a1"]]
    both = Predictor(device).predict(models, metrics=("latency", "energy"))
    assert list(both) == ["latency", "energy"]
    np.testing.assert_allclose(both["latency"], [r.latency_s * 1e3 for r in expected], rtol=1e-12)
    np.testing.assert_allclose(both["energy"], [r.energy_j * 1e3 for r in expected], rtol=1e-12)
    # predict() and build() resolve codes the same way
    assert predict(np.array(code), device).model == nasbench201.spec(arch)
    assert build(np.array(code)).macs == build(nasbench201.spec(arch)).macs


def test_results_are_remembered_per_spec(monkeypatch):
    predictor = Predictor("coral-usb")
    specs = [nasbench201.spec(a, variant="latbench") for a in nasbench201.sample(30, seed=3, connected=True)]
    first = predictor.predict(specs)

    def fail(*args, **kwargs):
        raise AssertionError("priced again")

    monkeypatch.setattr(predictor._pricer, "price", fail)
    monkeypatch.setattr(predictor, "_whole", fail)
    np.testing.assert_array_equal(predictor.predict(specs), first)
    np.testing.assert_array_equal(predictor.predict(specs, metrics=("energy",))["energy"],
                                  Predictor("coral-usb").predict(specs, metric="energy"))


def test_a_small_memo_forgets_the_oldest_and_reuses_their_room():
    """Results live in columns of one table; an evicted spec's column is reused only once
    the call that evicted it has read its results, graphs' columns once they are read."""
    specs = [nasbench201.spec(a, variant="latbench") for a in nasbench201.sample(40, seed=5, connected=True)]
    expected = Predictor("coral-usb").predict(specs, metrics=("latency", "energy"))
    small = Predictor("coral-usb", memo_size=7)
    graph = build("mobilenet_v2")
    for _ in range(3):  # more new specs per call than the memo holds, graphs among them
        both = small.predict([*specs, graph], metrics=("latency", "energy"))
        assert len(small._memo) == 7
        for metric in ("latency", "energy"):
            np.testing.assert_array_equal(both[metric][:-1], expected[metric])
        assert both["latency"][-1] == predict(graph, "coral-usb").latency_s * 1e3
    assert small._columns == len(specs) + 1  # columns freed are reused, none added after the first call


def test_frame():
    pandas = pytest.importorskip("pandas")
    predictor = Predictor("pixel4-cpu")
    frame = predictor.predict_frame(["mobilenet_v2", [0, 1, 2, 3, 4, 3]])
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["model", "latency_ms", "energy_mj"]
    assert frame["model"][1] == nasbench201.spec((0, 1, 2, 3, 4, 3))
    assert frame["latency_ms"][0] == predict("mobilenet_v2", "pixel4-cpu").latency_s * 1e3
    report = predict("mobilenet_v2", "pixel4-cpu")
    rows = report.to_frame()  # ops, then graph terms: they add up to the totals
    assert len(rows) == len(report.rows) + sum(not t.kind.is_power for t in report.terms)
    assert rows["latency_ms"].sum() == pytest.approx(report.latency_s * 1e3, rel=1e-12)
    assert rows["energy_mj"].sum() == pytest.approx(report.energy_j * 1e3, rel=1e-12)


def test_model_errors():
    predictor = Predictor(DEVICES[0])
    with pytest.raises(EdgesimError, match="fits no search space"):
        predictor.predict([[0, 1, 2]])
    with pytest.raises(EdgesimError, match="a model is a spec string"):
        predictor.predict([3.5])
    with pytest.raises(EdgesimError, match="unknown option"):
        predictor.predict(["nasbench201(variant='latbench', colour='red')"])
    with pytest.raises(EdgesimError, match="need space"):
        predictor.predict(["mobilenet_v2"], variant="latbench")
    with pytest.raises(EdgesimError, match="metrics"):
        predictor.predict(["mobilenet_v2"], metrics="latency")


def test_both_metrics_in_one_call_are_the_one_metric_numbers():
    """One table, checked and scaled once for every metric asked, gives exactly what one
    metric at a time gives, in the order asked, with or without a quantile."""
    predictor = Predictor("rtx-2080ti")  # latency intervals from its calibration
    specs = [nasbench201.spec(a) for a in nasbench201.sample(40, seed=8)] + ["mobilenet_v2"]
    both = predictor.predict(specs, metrics=("energy", "latency"))
    assert list(both) == ["energy", "latency"]
    for metric in ("latency", "energy"):
        np.testing.assert_array_equal(both[metric], predictor.predict(specs, metric=metric))
    quantiles = predictor.predict(specs, metrics=("latency",), quantile=0.9)
    np.testing.assert_array_equal(quantiles["latency"], predictor.predict(specs, quantile=0.9))
    assert (quantiles["latency"] > both["latency"]).all()
