"""The Once-for-All MobileNetV3 space: published subnet sizes, block structure, specs,
codes and sampling, HELP's rows, and the segment fast path against whole-graph pricing."""

import csv
from collections import Counter

import numpy as np
import pytest
from refdata import refdata_path

from graphs import EdgesimError
from graphs.ops import Kind
from graphs.spaces import ofa_mbv3 as ofa
from graphs.spec import build, parse_spec
from simulator.predictor import Predictor


def _spec(stages, resolution):
    """The spec of a subnet given as per-stage lists of (kernel, expand) of its active
    blocks; unused slots get k3 e3."""
    ks, e, d = [], [], []
    for blocks in stages:
        d.append(len(blocks))
        padded = list(blocks) + [(3, 3)] * (ofa.SLOTS_PER_STAGE - len(blocks))
        ks += [k for k, _ in padded]
        e += [x for _, x in padded]
    return ofa.format_arch(ofa.Arch(tuple(ks), tuple(e), tuple(d), resolution))


# OFA's specialized Samsung Note8 subnets (mit-han-lab/once-for-all README, model zoo table:
# #Params, #MACs). Their configs: the converted subnet files of MMRazor
# (configs/nas/mmcls/onceforall/OFA_SUBNET_NOTE8_LAT22.yaml / _LAT31.yaml, width 1.0).
NOTE8_22 = _spec(
    [[(3, 3), (3, 3)], [(5, 3), (5, 3)], [(7, 4), (3, 3)], [(5, 3), (3, 4)], [(3, 6), (7, 6)]], 140
)
NOTE8_31 = _spec(
    [[(5, 3), (3, 3)], [(5, 4), (5, 3)], [(3, 4), (3, 4), (5, 4)], [(3, 4), (5, 3), (7, 4)],
     [(3, 6), (3, 3), (5, 3), (5, 3)]],
    152,
)


@pytest.mark.parametrize(
    "spec, macs, params",
    [(NOTE8_22, 67e6, 4.3e6), (NOTE8_31, 101e6, 4.6e6)],
    ids=["note8_lat@22ms", "note8_lat@31ms"],
)
def test_published_subnets_macs_and_params_within_one_percent(spec, macs, params):
    g = build(spec)
    assert g.macs == pytest.approx(macs, rel=0.01)
    assert g.params == pytest.approx(params, rel=0.01)


def test_largest_subnet_params_match_the_supernet():
    """The largest subnet (k7 e6 d4) holds every weight of the w1.0 supernet: 7.6 M
    (MMRazor's OFA README, ofa_mobilenet_supernet_d234_e346_k357_w1_0)."""
    g = build("ofa_mbv3")
    assert g.params == pytest.approx(7.6e6, rel=0.01)
    # MACs by hand: every active block adds its convs; the rest is fixed.
    assert g.macs == 566_170_656


def _ops(g, scope):
    return [op for op in g if op.name.startswith(scope + "/")]


def test_block_structure_follows_the_reference_layers():
    g = build(NOTE8_22)
    assert g.inputs["input"] == (1, 3, 140, 140)
    # first conv 3x3 s2 16 + BN + h-swish; first block dw3x3 + BN + ReLU, pw 16 + BN, add
    stem = _ops(g, "stem")
    assert [op.kind for op in stem] == [
        Kind.CONV2D, Kind.BATCH_NORM, Kind.HARD_SWISH,
        Kind.DEPTHWISE_CONV2D, Kind.BATCH_NORM, Kind.RELU, Kind.CONV2D, Kind.BATCH_NORM, Kind.ADD,
    ]
    assert stem[0].output == (1, 16, 70, 70) and stem[0].stride == (2, 2)
    # stage 24 block 0: 16 * 3 = 48 mid channels, k3 s2, ReLU, no SE, no shortcut
    b0 = _ops(g, "block0")
    assert [op.kind for op in b0] == [
        Kind.CONV2D, Kind.BATCH_NORM, Kind.RELU, Kind.DEPTHWISE_CONV2D, Kind.BATCH_NORM, Kind.RELU,
        Kind.CONV2D, Kind.BATCH_NORM,
    ]
    assert b0[0].output == (1, 48, 70, 70) and b0[3].output == (1, 48, 35, 35)
    # stage 40 block 1 (k5 e3): mid 120, SE to make_divisible(120 // 4, 8) = 32, h-sigmoid, add
    b3 = _ops(g, "block3")
    kinds = Counter(op.kind for op in b3)
    assert kinds[Kind.ADD] == 1 and kinds[Kind.HARD_SIGMOID] == 1 and kinds[Kind.RELU] == 3
    se = [op for op in b3 if op.tag == "se"]
    assert [op.output[1] for op in se if op.kind == Kind.CONV2D] == [32, 120]
    assert all(op.bias for op in se if op.kind == Kind.CONV2D)
    assert next(op for op in b3 if op.kind == Kind.DEPTHWISE_CONV2D).kernel == (5, 5)
    # stage 80 uses h-swish and no SE; stage 112 keeps stride 1 but changes channels: no add
    assert Kind.HARD_SWISH in {op.kind for op in _ops(g, "block4")}
    assert not any(op.tag == "se" for op in _ops(g, "block4"))
    assert Kind.ADD not in {op.kind for op in _ops(g, "block6")}
    # head: 1x1 960 + BN + h-swish, pool, 1x1 1280 without bias or BN + h-swish, linear 1000
    head = _ops(g, "head")
    assert [op.kind for op in head] == [
        Kind.CONV2D, Kind.BATCH_NORM, Kind.HARD_SWISH, Kind.GLOBAL_AVG_POOL, Kind.CONV2D,
        Kind.HARD_SWISH, Kind.RESHAPE, Kind.DENSE,
    ]
    assert head[0].output == (1, 960, 5, 5) and not head[4].bias and head[-1].output == (1, 1000)


def test_unused_slots_change_nothing():
    a = build(NOTE8_22)
    _, options = parse_spec(NOTE8_22)
    ks = options["ks"].split("-")
    ks[3] = "7"  # slot 3 of stage 1 is beyond its depth 2
    b = build(f"ofa_mbv3(ks={'-'.join(ks)!r}, e={options['e']!r}, d='2-2-2-2-2', resolution=140)")
    assert [op.signature for op in a] == [op.signature for op in b]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("ofa_mbv3(ks='3-3')", "ks='3-3' must be 20 values"),
        ("ofa_mbv3(e='" + "-".join(["5"] * 20) + "')", "each one of 3, 4, 6"),
        ("ofa_mbv3(d='2-3-4-3-5')", "d='2-3-4-3-5' must be 5 values"),
        ("ofa_mbv3(resolution=0)", "resolution must be an int"),
        ("ofa_mbv3(ks=3)", "should be a str"),
    ],
)
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises(EdgesimError, match=message) as err:
        build(spec)
    assert "\n" not in str(err.value)


def test_encoding_sampling_and_spec_round_trip():
    archs = ofa.sample(200, seed=3)
    assert archs == ofa.sample(200, seed=3) and archs != ofa.sample(200, seed=4)
    for arch in archs:
        code = ofa.encode(arch)
        assert len(code) == 46 and ofa.decode(code) == arch
        assert ofa.spec(code) == arch
    # every decision takes every value somewhere in 200 draws
    codes = np.array([ofa.encode(a) for a in archs])
    assert all(len(set(codes[:, i])) == size for i, size in enumerate(ofa.SIZES) if size == 3)
    assert ofa.spec(archs[0], batch=32).endswith(", batch=32)")
    with pytest.raises(EdgesimError, match="grid"):
        ofa.encode("ofa_mbv3(resolution=150)")
    with pytest.raises(EdgesimError, match="46 ints"):
        ofa.decode((0,) * 45)
    with pytest.raises(EdgesimError, match="must be written"):
        ofa.encode("fbnet(arch='x')")


@pytest.mark.parametrize("batch", [1, 32, 64])
@pytest.mark.parametrize("device", ["2080ti", "titan_xp"])
def test_help_rows_parse_and_encode(device, batch):
    path = refdata_path(f"help-ofa-{device}-bs{batch}.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 800
    for row in rows:
        name, options = parse_spec(row["model"])
        assert name == ofa.NAME and options.get("batch", 1) == batch
        arch = ofa.format_arch(ofa.parse(options["ks"], options["e"], options["d"], options["resolution"]))
        assert ofa.decode(ofa.encode(arch)) == arch
    assert build(rows[0]["model"]).inputs["input"] == (batch, 3, *[parse_spec(rows[0]["model"])[1]["resolution"]] * 2)


@pytest.mark.parametrize("device", ["gtx-1080ti", "pixel4-cpu", "pixel4-edgetpu"])
def test_segment_fast_path_equals_whole_graph_over_300_subnets(device):
    archs = ofa.sample(300, seed=11)
    predictor = Predictor(device)
    for metric in ("latency", "energy"):
        fast = predictor.predict_space(ofa.NAME, archs, metric=metric)
        whole = predictor.predict([ofa.spec(a) for a in archs], metric=metric)
        np.testing.assert_allclose(fast, whole, rtol=1e-12)
    codes = [ofa.encode(a) for a in archs[:20]]
    by_code = predictor.predict_space(ofa.NAME, codes)
    np.testing.assert_array_equal(by_code, predictor.predict_space(ofa.NAME, archs[:20]))
