"""EfficientNet family, MnasNet-A1, ProxylessNAS-Mobile, ResNet-50 and VGG-16 builders.

Counts follow architectures.md 0.1 (MACs: conv + depthwise + dense incl. SE convs; params:
weights + biases + 2 per BN channel). Published figures and exact totals are from
architectures.md sections 8-14 and 17 and the sources cited there.
"""

import pytest

from graphs import EdgesimError, Kind, OpGraph, build, canonical, entry, published_accuracy

MY_MODELS = (
    "efficientnet_b0", "efficientnet_lite0", "efficientnet_edgetpu_s", "efficientnet_edgetpu_m",
    "efficientnet_edgetpu_l", "mnasnet_a1", "proxylessnas_mobile", "resnet50", "vgg16",
)

# spec -> (published MACs in M as (low, high), published params in M).
PUBLISHED = {
    "mnasnet_a1": ((312, 312), 3.89),
    "mnasnet_a1(width=0.5, resolution=160)": ((53.3, 54.4), 2.08),
    "efficientnet_b0": ((386, 390), 5.29),
    # The lite README's 407 M counts elementwise work too (architectures.md 17.3.5).
    "efficientnet_lite0": ((385, 385), 4.65),
    "efficientnet_edgetpu_s": ((1789, 1789), 5.44),
    "efficientnet_edgetpu_m": ((3013, 3013), 6.90),
    "efficientnet_edgetpu_l": ((7936, 7936), 10.59),
    "proxylessnas_mobile": ((320, 320), 4.08),
    "resnet50": ((4089, 4089), 25.56),
    "vgg16": ((15470, 15470), 138.36),
}

# architectures.md 17.2: (MACs, params with BN), counted independently of this code.
EXACT = {
    "efficientnet_edgetpu_s": (1_788_732_288, 5_439_673),
    "efficientnet_edgetpu_m": (3_013_322_368, 6_900_777),
    "efficientnet_edgetpu_l": (7_936_084_384, 10_591_249),
    "efficientnet_b0": (385_814_752, 5_288_548),
    "efficientnet_lite0": (385_187_552, 4_652_008),
    "mnasnet_a1": (311_579_072, 3_887_038),
    "mnasnet_a1(width=0.5, resolution=160)": (53_292_528, 2_082_006),
    "proxylessnas_mobile": (320_427_584, 4_080_512),
    "resnet50": (4_089_184_256, 25_557_032),
    "vgg16": (15_470_264_320, 138_357_544),
}

# tensorflow/tpu models/official/mnasnet/README.md @009812fb: (width, resolution) ->
# (MACs in M, params in M) of the released MnasNet-A1 sweep. The README's MACs run 1-2.4 %
# above the conv/dense count (architectures.md 17.3.7); params are rounded to 0.1 M.
MNASNET_SWEEP = {
    (1.4, 224): (591.5, 6.1), (1.0, 224): (315.2, 3.9), (0.75, 224): (226.7, 2.9),
    (0.5, 224): (105.2, 2.1), (0.35, 224): (63.2, 1.7),
    (1.4, 192): (435.1, 6.1), (1.0, 192): (232.0, 3.9), (0.75, 192): (166.9, 2.9),
    (0.5, 192): (77.6, 2.1), (0.35, 192): (46.8, 1.7),
    (1.4, 160): (302.8, 6.1), (1.0, 160): (161.6, 3.9), (0.75, 160): (116.4, 2.9),
    (0.5, 160): (54.4, 2.1), (0.35, 160): (32.9, 1.7),
    (1.4, 128): (194.5, 6.1), (1.0, 128): (104.1, 3.9), (0.75, 128): (75.0, 2.9),
    (0.5, 128): (35.3, 2.1), (0.35, 128): (21.6, 1.7),
    (1.4, 96): (110.3, 6.1), (1.0, 96): (59.3, 3.9), (0.75, 96): (42.9, 2.9),
    (0.5, 96): (20.5, 2.1), (0.35, 96): (12.7, 1.7),
}


def _rel(ours: float, published: float) -> float:
    return abs(ours / published - 1)


@pytest.mark.parametrize("spec", PUBLISHED)
def test_counts_within_3_percent_of_published(spec):
    (macs_lo, macs_hi), params = PUBLISHED[spec]
    g = build(spec)
    assert _rel(g.macs / 1e6, macs_lo) <= 0.03 and _rel(g.macs / 1e6, macs_hi) <= 0.03
    assert _rel(g.params / 1e6, params) <= 0.03


@pytest.mark.parametrize("spec", EXACT)
def test_exact_totals(spec):
    g = build(spec)
    assert (g.macs, g.params) == EXACT[spec]


@pytest.mark.parametrize("width, resolution", MNASNET_SWEEP)
def test_mnasnet_readme_sweep(width, resolution):
    macs, params = MNASNET_SWEEP[width, resolution]
    g = build(f"mnasnet_a1(width={width}, resolution={resolution})")
    assert _rel(g.macs / 1e6, macs) <= 0.03
    assert abs(g.params / 1e6 - params) <= 0.06  # published to one decimal


@pytest.mark.parametrize("spec", [*MY_MODELS, "vgg16(resolution=160)", "resnet50(width=0.5)"])
def test_validates_and_json_round_trips(spec):
    g = build(spec)
    assert g.validate() is g
    assert OpGraph.from_json(g.to_json()) == g


def _kinds(g: OpGraph) -> set[Kind]:
    return {op.kind for op in g}


@pytest.mark.parametrize(
    "name, act",
    [
        ("efficientnet_lite0", Kind.RELU6),
        ("efficientnet_edgetpu_s", Kind.RELU),
        ("efficientnet_edgetpu_m", Kind.RELU),
        ("efficientnet_edgetpu_l", Kind.RELU),
    ],
)
def test_lite_and_edgetpu_have_no_se_and_no_swish(name, act):
    g = build(name)
    assert not [op for op in g if op.tag == "se"]
    assert Kind.SWISH not in _kinds(g) and Kind.SIGMOID not in _kinds(g)
    assert {op.kind for op in g if op.category == "elementwise"} == {Kind.BATCH_NORM, act, Kind.ADD}


def _se_widths(g: OpGraph) -> dict[str, int]:
    """Block -> SE squeeze width (output channels of the block's first SE conv)."""
    return {
        op.name.split("/")[0]: op.output[1]
        for op in g
        if op.tag == "se" and op.kind == Kind.CONV2D and op.name.endswith("se/conv2d")
    }


def test_efficientnet_b0_se_on_every_block_from_block_input():
    g = build("efficientnet_b0")
    # architectures.md 9: S = int(declared block input * 0.25), one per block.
    widths = [8, 4, 6, 6, 10, 10, 20, 20, 20, 28, 28, 28, 48, 48, 48, 48]
    assert _se_widths(g) == {f"block{i}": s for i, s in enumerate(widths)}
    se_acts = {op.kind for op in g if op.tag == "se" and op.category == "elementwise"}
    assert se_acts == {Kind.SWISH, Kind.SIGMOID, Kind.MUL}
    assert Kind.SWISH in {op.kind for op in g if op.name.startswith("stem/")}


def test_mnasnet_se_only_where_the_table_says():
    g = build("mnasnet_a1")
    # Stages 3, 5 and 6 (blocks 3-5, 10-11, 12-14) carry SE; ReLU inside, sigmoid gate.
    assert _se_widths(g) == {
        "block3": 6, "block4": 10, "block5": 10, "block10": 20, "block11": 28,
        "block12": 28, "block13": 40, "block14": 40,
    }
    assert {op.kind for op in g if op.tag == "se" and op.category == "elementwise"} == {
        Kind.RELU, Kind.SIGMOID, Kind.MUL,
    }
    assert Kind.SWISH not in _kinds(g)


def test_edgetpu_first_stage_expands_from_the_stem_width():
    # Stage 1 declares input 24 but receives the stem's 32 (L: 40): 3x3 32 -> 96 (L: 40 -> 128).
    for name, c_in, c_exp, size in (
        ("efficientnet_edgetpu_s", 32, 96, 112), ("efficientnet_edgetpu_l", 40, 128, 150),
    ):
        op = build(name).op("block0/expand/conv2d")
        assert (op.inputs[0][1], op.output[1], op.kernel) == (c_in, c_exp, (3, 3))
        assert op.macs == size * size * c_exp * 9 * c_in


def test_edgetpu_depth_scaling_sets_block_counts():
    # ceil(depth * r) on every stage: S 18 blocks, M 24, L 27 (architectures.md 8).
    for name, blocks in (("efficientnet_edgetpu_s", 18), ("efficientnet_edgetpu_m", 24),
                         ("efficientnet_edgetpu_l", 27)):
        assert len({op.name.split("/")[0] for op in build(name)
                    if op.name.startswith("block")}) == blocks


def test_proxylessnas_blocks_and_residuals():
    g = build("proxylessnas_mobile")
    # 20 MBConv blocks, 13 residual adds (repo's TFLite latency log).
    assert len({op.name.split("/")[0] for op in g if op.name.startswith("block")}) == 20
    assert sum(op.kind == Kind.ADD for op in g) == 13
    assert _kinds(g) & {Kind.RELU, Kind.SWISH, Kind.SIGMOID} == set()


def test_resnet50_is_v15():
    g = build("resnet50")
    first = g.op("block3/conv1/conv2d"), g.op("block3/conv2/conv2d")  # first block of conv3_x
    assert [op.stride for op in first] == [(1, 1), (2, 2)]
    assert first[1].output[2:] == (28, 28)
    assert sum(op.name.endswith("downsample/conv2d") for op in g) == 4


def test_vgg16_biases_no_bn_and_adaptive_pool():
    g = build("vgg16")
    assert Kind.BATCH_NORM not in _kinds(g)
    assert all(op.bias for op in g if op.kind in (Kind.CONV2D, Kind.DENSE))
    assert g.op("fc1/dense").inputs[0] == (1, 512 * 7 * 7)
    # Off 224 the adaptive pool brings the map back to 7x7, so the FCs keep their size.
    small = build("vgg16(resolution=160)")
    assert small.op("adaptive_pool").output == (1, 512, 7, 7)
    assert small.params == g.params


def test_mnasnet_head_is_not_width_scaled():
    assert build("mnasnet_a1(width=0.5)").op("head/conv2d").output[1] == 1280
    assert build("efficientnet_b0(width=0.5)").op("head/conv2d").output[1] == 640
    assert build("efficientnet_lite0(width=0.5)").op("head/conv2d").output[1] == 1280


@pytest.mark.parametrize("name", MY_MODELS)
def test_width_and_resolution_move_counts_the_expected_way(name):
    base = build(name)
    res = entry(name).defaults()["resolution"]
    narrow, wide = build(f"{name}(width=0.5)"), build(f"{name}(width=1.25)")
    assert narrow.macs < base.macs < wide.macs
    assert narrow.params < base.params < wide.params
    small, large = build(f"{name}(resolution={res - 64})"), build(f"{name}(resolution={res + 32})")
    assert small.macs < base.macs < large.macs
    assert small.params == base.params == large.params
    assert build(f"{name}(num_classes=10)").op("logits/dense").output == (1, 10)


@pytest.mark.parametrize(
    "spec, top1",
    [
        ("efficientnet_b0", 77.1),
        ("efficientnet_lite0", 75.1),
        ("efficientnet_edgetpu_s", 77.23),
        ("efficientnet_edgetpu_m(resolution=240)", 78.69),
        ("efficientnet_edgetpu_l", 80.62),
        ("mnasnet_a1(resolution=160, width=0.5)", 64.9),
        ("mnasnet_a1(width=1.4)", 77.2),
        ("proxylessnas_mobile", 74.6),
        ("resnet50", 76.13),
        ("vgg16", 71.592),
    ],
)
def test_published_accuracy(spec, top1):
    value, metric, source = published_accuracy(spec)
    assert (value, metric) == (top1, "top1") and source


def test_accuracy_keys_are_canonical():
    for name in MY_MODELS:
        for key in entry(name).accuracy:
            assert canonical(key) == key


def test_bad_options_are_user_errors():
    with pytest.raises(EdgesimError, match="width"):
        build("efficientnet_b0(width=0)")
    with pytest.raises(EdgesimError, match="resolution"):
        build("resnet50(resolution=16)")
