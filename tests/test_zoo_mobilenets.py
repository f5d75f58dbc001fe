"""MobileNet V1/V2/V3/EdgeTPU, SSDLite and SSD builders against published and exact counts.

Exact totals are the independent count of /work/shared/research/architectures.md section
17.2 (itself cross-checked against torchvision param counts and the slim V1 docstring);
the 3 % rows are the published figures (slim READMEs, MobileNet papers).
"""

from __future__ import annotations

from functools import cache

import pytest

from graphs import EdgesimError, Kind, OpGraph, build, canonical, entry, published_accuracy
from graphs.zoo.mobilenet_v2 import V2_ROWS, body

MINE = (
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "mobilenet_v3_large_minimalistic", "mobilenet_v3_small_minimalistic",
    "mobilenet_edgetpu", "ssdlite", "ssd",
)
BACKBONES = ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_edgetpu")


@cache
def graph(spec: str) -> OpGraph:
    return build(spec)


# spec, published MACs (M), published params (M): a value or a (low, high) range.
PUBLISHED = [
    ("mobilenet_v1", 569, 4.24),
    ("mobilenet_v1(width=0.5, resolution=160)", 77, 1.34),
    ("mobilenet_v1(width=0.25, resolution=128)", 13.6, 0.47),
    ("mobilenet_v2", 300, (3.47, 3.51)),
    ("mobilenet_v2(width=1.4)", 582, (6.06, 6.11)),
    ("mobilenet_v2(width=0.35, resolution=96)", 11.9, (1.66, 1.68)),
    ("mobilenet_v3_large", 217, (5.4, 5.48)),
    ("mobilenet_v3_large(width=0.75)", 155, 4.0),
    ("mobilenet_v3_large(resolution=160)", 112, (5.4, 5.48)),
    ("mobilenet_v3_small", 56.5, 2.54),
    ("mobilenet_v3_large_minimalistic", 209, 3.93),
    ("mobilenet_v3_small_minimalistic", 52.3, 2.05),
    ("mobilenet_edgetpu", 990, 4.09),
    ("mobilenet_edgetpu(width=0.75)", 624, (2.96, 2.99)),
    ("ssdlite(backbone='mobilenet_v2')", (800, 805), (4.3, 4.5)),
]


def _within(value: float, target: float | tuple[float, float], tol: float = 0.03) -> bool:
    low, high = target if isinstance(target, tuple) else (target, target)
    return low * (1 - tol) <= value <= high * (1 + tol)


@pytest.mark.parametrize(("spec", "macs_m", "params_m"), PUBLISHED)
def test_counts_within_3_percent_of_published(spec, macs_m, params_m):
    g = graph(spec)
    assert _within(g.macs / 1e6, macs_m), f"{spec}: {g.macs / 1e6:.2f} M MACs vs {macs_m}"
    assert _within(g.params / 1e6, params_m), f"{spec}: {g.params / 1e6:.3f} M params"


# architectures.md 17.2: MACs, params (with BN gamma/beta).
EXACT = [
    ("mobilenet_v1", 568_741_376, 4_233_001),
    ("mobilenet_v1(width=0.5, resolution=160)", 76_525_312, 1_332_105),
    ("mobilenet_v1(width=0.25, resolution=128)", 13_570_304, 470_329),
    ("mobilenet_v2", 300_775_552, 3_506_153),
    ("mobilenet_v2(width=1.4)", 582_197_616, 6_110_569),
    ("mobilenet_v2(width=0.35, resolution=96)", 11_935_408, 1_678_409),
    ("mobilenet_v3_large", 216_591_040, 5_484_313),
    ("mobilenet_v3_large(width=0.75)", 154_561_904, 3_994_809),
    ("mobilenet_v3_large(resolution=160)", 112_473_280, 5_484_313),
    ("mobilenet_v3_small", 56_511_424, 2_543_881),
    ("mobilenet_v3_large_minimalistic", 209_137_984, 3_925_569),
    ("mobilenet_v3_small_minimalistic", 52_289_472, 2_045_761),
    ("mobilenet_edgetpu", 990_670_464, 4_092_713),
    ("mobilenet_edgetpu(width=0.75)", 624_487_584, 2_989_441),
    ("ssdlite(backbone='mobilenet_v2')", 804_397_504, 4_500_543),
    ("ssdlite(resolution=300)", 749_503_856, 4_500_543),
    ("ssdlite(backbone='mobilenet_v3_large')", 506_563_904, 3_248_255),
    ("ssdlite(backbone='mobilenet_v3_large', reduced_tail=False)", 613_143_104, 5_006_735),
    ("ssdlite(backbone='mobilenet_v3_small')", 162_303_424, 1_785_743),
    ("ssdlite(backbone='mobilenet_v3_small', reduced_tail=False)", 210_417_856, 2_518_271),
    ("ssdlite(backbone='mobilenet_edgetpu')", 2_072_672_704, 3_857_215),
    ("ssd", 772_779_056, 6_066_431),  # test_ssd_is_ssdlite_with_full_convs
]


@pytest.mark.parametrize(("spec", "macs", "params"), EXACT)
def test_exact_totals(spec, macs, params):
    g = graph(spec)
    assert (g.macs, g.params) == (macs, params)


def _kinds(g: OpGraph) -> set[str]:
    return {op.kind for op in g}


@pytest.mark.parametrize(
    "spec", ["mobilenet_v3_large_minimalistic", "mobilenet_v3_small_minimalistic"]
)
def test_minimalistic_has_no_hard_swish_se_or_5x5(spec):
    g = graph(spec)
    assert Kind.HARD_SWISH not in _kinds(g)
    assert Kind.HARD_SIGMOID not in _kinds(g)
    assert not [op.name for op in g if op.tag == "se"]
    assert not [op.name for op in g if op.kernel == (5, 5)]


@pytest.mark.parametrize(
    ("spec", "se_blocks", "first_squeeze", "first_hswish_block", "last_conv"),
    [
        # rows 4-6 and 11-15; row 4 squeezes 72 -> make_divisible(18) = 24.
        ("mobilenet_v3_large", {4, 5, 6, 11, 12, 13, 14, 15}, ("block4", 72, 24), 7, 18),
        # rows 1 and 4-11; row 1 squeezes 16 -> make_divisible(4) = 8.
        ("mobilenet_v3_small", {1, 4, 5, 6, 7, 8, 9, 10, 11}, ("block1", 16, 8), 4, 14),
    ],
)
def test_v3_squeeze_excite_and_hard_swish(
    spec, se_blocks, first_squeeze, first_hswish_block, last_conv
):
    g = graph(spec)
    se_ops = [op for op in g if op.tag == "se"]
    assert {int(op.name.split("/")[0].removeprefix("block")) for op in se_ops} == se_blocks
    block, c_exp, squeeze = first_squeeze
    reduce_conv = g.op(f"{block}/se/conv2d")
    assert (reduce_conv.inputs[0][1], reduce_conv.output[1], reduce_conv.bias) == (
        c_exp, squeeze, True,
    )
    assert g.op(f"{block}/se/hard_sigmoid").tag == "se"
    assert g.op(f"{block}/se/mul").output == g.op(f"{block}/depthwise/relu").output
    # h-swish in the stem, from the first h-swish row on and in the last 1x1 convs; ReLU
    # in the blocks before (architectures.md tables 3 and 4).
    hswish_blocks = {
        int(op.name.split("/")[0].removeprefix("block"))
        for op in g if op.kind == Kind.HARD_SWISH and op.name.startswith("block")
    }
    assert min(hswish_blocks) == first_hswish_block
    assert g.op(f"block{first_hswish_block - 1}/depthwise/relu")
    for name in ("stem", f"conv{last_conv - 2}", f"conv{last_conv}"):
        assert g.op(f"{name}/hard_swish")
    assert g.op(f"conv{last_conv}/conv2d").bias


def test_edgetpu_is_relu_only_and_fuses_its_early_blocks():
    g = graph("mobilenet_edgetpu")
    assert not [op for op in g if op.tag == "se"]
    assert _kinds(g).isdisjoint({Kind.HARD_SWISH, Kind.SWISH, Kind.SIGMOID, Kind.HARD_SIGMOID})
    # Row 1 (expansion factor 1) is only the 1x1 projection.
    assert [op.kind for op in g if op.name.startswith("block1/")] == [
        Kind.CONV2D, Kind.BATCH_NORM,
    ]
    for i in range(2, 10):  # the fused stages: a 3x3 full conv expansion, no depthwise
        ops = [op for op in g if op.name.startswith(f"block{i}/")]
        assert Kind.DEPTHWISE_CONV2D not in {op.kind for op in ops}
        expand = g.op(f"block{i}/expand/conv2d")
        assert (expand.kind, expand.kernel, expand.groups) == (Kind.CONV2D, (3, 3), 1)
    first_dw = next(op for op in g if op.kind == Kind.DEPTHWISE_CONV2D)
    assert first_dw.name == "block10/depthwise/depthwise_conv2d"
    # Row 14 has `residual=False` although its shapes would allow a skip.
    assert "block14/add" not in g and "block13/add" in g


def test_scopes_and_residuals():
    g = graph("mobilenet_v2")
    assert g.op("block3/expand/conv2d").output == (1, 144, 56, 56)
    assert g.op("block3/add").output == (1, 24, 56, 56)
    assert "block1/expand/conv2d" not in g  # t = 1: no expansion conv
    adds = {name: sum(op.kind == Kind.ADD for op in graph(name)) for name in (
        "mobilenet_v2", "mobilenet_v3_large", "mobilenet_edgetpu",
    )}
    assert adds == {"mobilenet_v2": 10, "mobilenet_v3_large": 10, "mobilenet_edgetpu": 15}


@pytest.mark.parametrize(
    ("spec", "last_channels"),
    [
        ("mobilenet_v2(width=0.35, resolution=96)", 1280),  # finegrain: kept below 1
        ("mobilenet_v2(width=1.4)", 1792),  # scaled above 1
        ("mobilenet_v3_large(width=0.75)", 1280),
        ("mobilenet_v3_small(width=0.5)", 1024),
        ("mobilenet_edgetpu(width=0.75)", 1280),
        ("mobilenet_v1(width=0.25)", 256),  # V1 truncates and scales everything
    ],
)
def test_head_width_rule(spec, last_channels):
    logits = graph(spec).op("logits/conv2d")
    assert logits.inputs[0][1] == last_channels
    assert logits.output[1] == 1001 and logits.bias


def test_v1_truncates_widths():
    g = graph("mobilenet_v1(width=0.25, resolution=128)")
    assert g.op("stem/conv2d").output == (1, 8, 64, 64)
    assert g.op("block13/pointwise/conv2d").output == (1, 256, 4, 4)


# architectures.md 15.3: (map 1, map 2) channels at 320.
FEATURE_MAPS = {
    "mobilenet_v2": (576, 1280),
    "mobilenet_v3_large": (672, 480),
    "mobilenet_v3_small": (288, 288),
    "mobilenet_edgetpu": (384, 192),
}


@pytest.mark.parametrize("backbone", BACKBONES)
def test_ssdlite_every_backbone(backbone):
    g = graph(f"ssdlite(backbone={backbone!r})").validate()
    c1, c2 = FEATURE_MAPS[backbone]
    maps = [g.op(f"box_predictor{i}/depthwise_conv2d").inputs[0] for i in range(6)]
    assert maps == [
        (1, c1, 20, 20), (1, c2, 10, 10), (1, 512, 5, 5), (1, 256, 3, 3), (1, 256, 2, 2),
        (1, 128, 1, 1),
    ]
    # 20*20*3 + (100 + 25 + 9 + 4 + 1) * 6 = 2034 anchors; 90 classes + background.
    assert g.op("boxes/concat").output == (1, 2034, 4)
    assert g.op("scores/concat").output == (1, 2034, 91)
    assert sorted(g.outputs()) == ["boxes/concat", "scores/concat"]


def test_ssdlite_backbone_is_the_classifier_body():
    """The detector's backbone ops are the classifier's, row for row (one mechanism)."""
    det = graph("ssdlite(resolution=224)")
    cls = graph("mobilenet_v2")
    backbone = {op.name.removeprefix("backbone/"): op.signature
                for op in det if op.name.startswith("backbone/")}
    body_ops = {op.name: op.signature for op in cls if not op.name.startswith("logits/")}
    assert backbone == body_ops


def test_body_endpoints_name_slim_layers():
    from graphs.builder import NetBuilder

    nb = NetBuilder("t", (1, 3, 320, 320))
    ends = body(nb, V2_ROWS)
    assert len(ends.outputs) == 19
    assert nb.shape(ends.expansions[14]) == (1, 576, 20, 20)  # slim layer_15/expansion_output
    assert 1 not in ends.expansions


def test_ssdlite_option_errors():
    with pytest.raises(EdgesimError, match="valid backbones: mobilenet_v2, mobilenet_v3_large"):
        build("ssdlite(backbone='resnet50')")
    with pytest.raises(EdgesimError, match="reduced_tail"):
        build("ssdlite(reduced_tail=False)")
    with pytest.raises(EdgesimError, match="resolution"):
        build("ssdlite(resolution=32)")


@pytest.mark.parametrize(
    "spec", ["mobilenet_v2(width=0.0)", "mobilenet_v3_small(resolution=16)",
             "mobilenet_v1(num_classes=0)", "mobilenet_edgetpu(width=-1.0)"],
)
def test_bad_options_raise(spec):
    with pytest.raises(EdgesimError):
        build(spec)


@pytest.mark.parametrize(
    "spec",
    [*MINE, "mobilenet_v3_large(width=0.75)", "ssdlite(backbone='mobilenet_v3_small')"],
)
def test_validates_and_json_round_trips(spec):
    g = graph(spec).validate()
    again = OpGraph.from_json(g.to_json())
    assert again == g
    assert (again.macs, again.params) == (g.macs, g.params)


@pytest.mark.parametrize("name", MINE)
def test_published_accuracy_keys_are_canonical_and_build(name):
    model = entry(name)
    assert model.accuracy and model.accuracy_source
    for key, value in model.accuracy.items():
        assert canonical(key) == key
        assert published_accuracy(key)[:2] == (value, model.metric)
        assert len(graph(key)) > 0


def test_published_accuracy_lookups():
    assert published_accuracy("mobilenet_v2(resolution=224, width=1.4)")[0] == 74.7
    assert published_accuracy("mobilenet_v1(width=0.5, resolution=160)")[0] == 59.0
    assert published_accuracy("ssdlite(backbone='mobilenet_edgetpu')")[:2] == (24.3, "mAP")
    assert entry("ssdlite").task == "detection"
    assert published_accuracy("mobilenet_v2(resolution=100)") is None


def test_ssd_is_ssdlite_with_full_convs():
    # SSD MobileNetV2 (ssd_mobilenet_v2_quantized_300x300_coco.config: `kernel_size: 1`,
    # extras without `use_depthwise`) at 300 px: the same backbone and maps as SSDLite.
    ssd, lite = graph("ssd"), graph("ssdlite(resolution=300)")
    backbone = [o.signature for o in ssd.flat().ops if o.name.startswith("backbone/")]
    assert backbone == [o.signature for o in lite.flat().ops if o.name.startswith("backbone/")]
    heads = [o for o in ssd.flat().ops if not o.name.startswith("backbone/")]
    assert not any(o.kind == Kind.DEPTHWISE_CONV2D for o in heads)
    # Predictors: one 1x1 conv per map and branch, anchors x (4 box + 91 class) outputs:
    # 19x19x576 (3 anchors), 10x10x1280, 5x5x512, 3x3x256, 2x2x256, 1x1x128 (6 anchors).
    maps = [(19 * 19, 576, 3), (100, 1280, 6), (25, 512, 6), (9, 256, 6), (4, 256, 6), (1, 128, 6)]
    predictors = sum(hw * c * a * 95 for hw, c, a in maps)
    # Extra layers: 1x1 to d/2, then a full 3x3 stride-2 conv to d (10 -> 5 -> 3 -> 2 -> 1).
    extras = (100 * 1280 * 256 + 25 * 256 * 512 * 9 + 25 * 512 * 128 + 9 * 128 * 256 * 9
              + 9 * 256 * 128 + 4 * 128 * 256 * 9 + 4 * 256 * 64 + 1 * 64 * 128 * 9)
    assert predictors == 141_487_680 and extras == 68_165_632
    assert sum(o.macs for o in heads) == predictors + extras
    assert ssd.macs - predictors - extras == sum(
        o.macs for o in lite.flat().ops if o.name.startswith("backbone/"))
