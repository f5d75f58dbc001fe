"""Batch prediction: the search-loop paths give the numbers `predict()` gives."""

import numpy as np
import pytest

from graphs import EdgesimError
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
        whole = predictor.predict([module.spec(a, **options) for a in archs], metric=metric)
        np.testing.assert_allclose(fast, whole, rtol=1e-12)
    # and the whole-graph batch path equals the report, to the bit, on a few of them
    for arch in archs[:3]:
        spec = module.spec(arch, **options)
        report = predict(spec, device)
        assert predictor.predict([spec])[0] == report.latency_s * 1e3
        assert predictor.predict([spec], metric="energy")[0] == report.energy_j * 1e3


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
