"""NAS search spaces: NAS-Bench-201 (both measured builds) and FBNet, with their samplers.

Counts follow `graphs.ops`: MACs of conv and dense layers; params = weights + biases +
2 per batch-norm channel.
"""

from __future__ import annotations

import csv
import itertools
import random
import statistics
from collections import Counter, defaultdict

import pytest
from refdata import refdata_path

from graphs import EdgesimError, Kind, build, entry, parse_spec
from graphs.spaces import fbnet as fb
from graphs.spaces import nasbench201 as nb

ALL_CONV3 = nb.decode((3,) * 6)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_SKIP = nb.decode((1,) * 6)


def _nb(arch: str, **options: str):
    return build(nb.spec(arch, **options))


def _rows(name: str) -> list[dict[str, str]]:
    path = refdata_path(name)
    with path.open() as f:
        return list(csv.DictReader(f))


def _kinds(graph) -> Counter:
    return Counter(op.kind for op in graph)


# -- NAS-Bench-201: hand counts -------------------------------------------------------
def test_nb201_all_conv3x3_pytorch_counts():
    g = _nb(ALL_CONV3)
    # stem conv 3→16 at 32²: 1024·16·27 = 442,368 MACs; 432 weights + 32 BN.
    # A cell has 6 ReLU-conv3×3-BN: per conv 1024·16·144 = 256·32·288 = 64·64·576
    #   = 2,359,296 MACs at every stage, so 3 stages × 5 cells × 6 = 212,336,640.
    #   params per conv 16: 2304+32, 32: 9216+64, 64: 36864+128; ×30 each
    #   = 70,080 + 278,400 + 1,109,760.
    # reduction 16→32 at 16²: 256·32·144 + 256·32·288 + 256·32·16 (avgpool, 1×1)
    #   = 3,670,016 MACs; params 4608+64 + 9216+64 + 512 = 14,464.
    # reduction 32→64 at 8²: 64·64·288 + 64·64·576 + 64·64·32 = 3,670,016 MACs;
    #   params 18432+128 + 36864+128 + 2048 = 57,600.
    # head BN 64 (128) + linear 64·10 = 640 MACs, 650 params.
    assert g.macs == 442_368 + 212_336_640 + 2 * 3_670_016 + 640 == 220_119_680
    assert g.params == (
        464 + 70_080 + 278_400 + 1_109_760 + 14_464 + 57_600 + 128 + 650
    ) == 1_531_546
    kinds = _kinds(g)
    assert kinds[Kind.CONV2D] == 1 + 90 + 2 * 3
    # n-1 adds per node: 0 + 1 + 2 per cell, plus one per reduction block.
    assert kinds[Kind.ADD] == 15 * 3 + 2
    assert g.op("head/dense").output == (1, 10)


def test_nb201_datasets_change_input_and_classes():
    g = _nb(ALL_CONV3, dataset="imagenet16-120")
    assert g.inputs["input"] == (1, 3, 16, 16)
    # Every conv sees a quarter of the positions; the dense layer has 120 outputs.
    assert g.macs == (220_119_680 - 640) // 4 + 64 * 120 == 55_037_440
    assert g.params == 1_531_546 - 650 + 64 * 120 + 120
    assert _nb(ALL_CONV3, dataset="cifar100").op("head/dense").output == (1, 100)


@pytest.mark.parametrize("arch", [ALL_NONE, ALL_SKIP])
def test_nb201_cell_free_network_counts(arch):
    g = _nb(arch)
    # Only stem, the two reductions and the head carry MACs/params (see above).
    assert g.macs == 442_368 + 2 * 3_670_016 + 640 == 7_783_040
    assert g.params == 464 + 14_464 + 57_600 + 128 + 650 == 73_306


def test_nb201_skip_is_free_and_none_is_a_zero_mul():
    skip = _kinds(_nb(ALL_SKIP))
    # node1 = x, node2 = x + x, node3 = x + x + node2: 3 adds, nothing else.
    assert skip[Kind.ADD] == 15 * 3 + 2 and skip[Kind.MUL] == 0
    none = _nb(ALL_NONE)
    zero_muls = [op for op in none if op.kind == Kind.MUL]
    assert len(zero_muls) == 15 * 6
    assert all(op.tag == "zero" and len(op.inputs) == 1 for op in zero_muls)
    # Everything after the stem is constant: the whole rest is tagged.
    assert [op.name for op in none if op.tag != "zero"] == ["stem/conv2d", "stem/batch_norm"]


def test_nb201_zero_marking_follows_dependence_on_the_input():
    # node1 is fed only by `none`: constant. The conv applied to it is constant too;
    # node2 = conv(node1) + conv(x) is not. Node3's branch from node1 via skip is constant.
    g = _nb("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|none~2|")
    cell = {op.name.split("/", 1)[1]: op.tag for op in g if op.name.startswith("cell0_0/")}
    assert cell["edge0to1/zero"] == "zero"
    assert cell["edge1to2/relu"] == cell["edge1to2/conv2d"] == cell["edge1to2/batch_norm"] == "zero"
    assert cell["edge0to2/conv2d"] == ""
    assert cell["node2/add"] == ""  # live + constant
    # A branch that only feeds a `none` edge depends on the input: kept, untagged.
    assert cell["edge2to3/zero"] == "zero"
    assert cell["node3/add"] == "" and cell["node3/add_1"] == ""
    assert g.op("head/dense").tag == ""


def test_nb201_disconnected_cell():
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|"
    assert not nb.is_connected(arch)
    with pytest.raises(EdgesimError, match="no path from the cell input"):
        _nb(arch, variant="latbench")
    # PyTorch runs the zero network: cells' convs kept, the output is constant.
    g = _nb(arch)
    assert g.op("head/dense").tag == "zero"
    assert _kinds(g)[Kind.CONV2D] == 1 + 15 * 2 + 2 * 3


# -- NAS-Bench-201: the LatBench build --------------------------------------------------
def test_latbench_differs_from_pytorch_as_the_readme_says():
    torch, tf = _nb(ALL_CONV3), _nb(ALL_CONV3, variant="latbench")
    assert tf.macs == torch.macs  # nothing pruned in this cell; biases carry no MACs
    # No BN: stem 32 + cells 30·(32+64+128) + reductions 2·64 + 2·128 + head 128 = 7,264.
    # Conv biases: stem 16 + cells 30·(16+32+64) + reductions 3·32 + 3·64 = 3,664.
    assert tf.params == 1_531_546 - 7_264 + 3_664 == 1_527_946
    kinds = _kinds(tf)
    assert kinds[Kind.BATCH_NORM] == 0
    # ReLU fused behind every conv except the reduction blocks' (stem + 90 cell convs).
    assert kinds[Kind.RELU] == 1 + 90
    assert kinds[Kind.ADD] == _kinds(torch)[Kind.ADD]
    assert all(op.bias for op in tf if op.kind == Kind.CONV2D)


def _signatures(graph) -> list[tuple]:
    return [op.signature for op in graph]


@pytest.mark.parametrize(
    "a, b",
    [
        # node2 fed only by `none` vs node2 computed but only feeding a `none` edge.
        (
            "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
            "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
        ),
        # conv → skip → conv merges to conv → conv, as does the direct path.
        (
            "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|",
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
        ),
    ],
)
def test_latbench_pruned_equivalents_build_identical_graphs(a, b):
    assert _signatures(_nb(a, variant="latbench")) == _signatures(_nb(b, variant="latbench"))
    assert _signatures(_nb(a)) != _signatures(_nb(b))  # PyTorch runs the dead ops
    assert any(op.tag == "zero" and op.kind == Kind.MUL for op in _nb(a))


def test_latbench_prune_structure():
    # Edge 1 (2←0) and 2 (2←1) feed node 2; edge 5 (3←2) sums them once.
    vertices, out = nb.prune(ALL_CONV3)
    assert vertices[-1] == (5, "nor_conv_3x3", (1, 2))
    assert out == (3, 4, 5)
    # Skip chain: the output is the input plus conv(x); the skips vanish.
    vertices, out = nb.prune(
        "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    )
    assert vertices == ((1, "nor_conv_1x1", (nb.IN,)),) and out == (nb.IN, 1)


def test_latbench_pruning_matches_the_measurements():
    """Rows with equal `prune` measure alike (README: within 2-4 %); random groups don't."""
    for name in ("latbench-embedded-tpu-edgetpu-int8.csv", "latbench-mobile-cpu-sd855-kryo485-int8.csv"):
        rows = _rows(name)
        groups: dict[tuple, list[float]] = defaultdict(list)
        for row in rows:
            groups[nb.prune(parse_spec(row["model"])[1]["arch"])].append(float(row["latency_ms"]))
        same = [v for v in groups.values() if len(v) > 1]
        assert len(same) >= 10, name
        rng = random.Random(0)
        latencies = [float(r["latency_ms"]) for r in rows]
        shuffled = [rng.sample(latencies, len(v)) for v in same]

        def spread(gs: list[list[float]]) -> float:
            return statistics.median(abs(x / statistics.median(g) - 1) for g in gs for x in g)

        assert spread(same) < 0.03, name
        assert spread(shuffled) > 3 * spread(same), name


# -- NAS-Bench-201: reference rows ----------------------------------------------------
@pytest.mark.parametrize(
    "name", ["latbench-embedded-tpu-edgetpu-int8.csv", "hwnasbench-nb201-pixel3.csv"]
)
def test_reference_rows_build(name):
    rows = _rows(name)
    for row in rows[:300]:  # ~1 s per file; every row at least parses and encodes
        graph = build(row["model"])
        assert graph.macs > 0
    for row in rows:
        _, options = parse_spec(row["model"])
        assert nb.decode(nb.encode(options["arch"])) == options["arch"]
        assert nb.is_connected(options["arch"])


# -- NAS-Bench-201: arch strings, codes and sampling -----------------------------------
@pytest.mark.parametrize(
    "arch, message",
    [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "3 nodes"),
        ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "3 nodes"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "should read 'op~0'"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "should read"),
        ("", "3 nodes"),
    ],
)
def test_nb201_bad_archs(arch, message):
    with pytest.raises(EdgesimError, match=message):
        nb.encode(arch)
    with pytest.raises(EdgesimError, match=message):
        _nb_spec_build(arch)


def _nb_spec_build(arch: str):
    return build(f"nasbench201(arch={arch!r})")


def test_nb201_bad_options_and_codes():
    with pytest.raises(EdgesimError, match="dataset='imagenet'"):
        nb.spec(ALL_CONV3, dataset="imagenet")
    with pytest.raises(EdgesimError, match="variant"):
        build(f"nasbench201(arch={ALL_CONV3!r}, variant='tf')")
    with pytest.raises(EdgesimError, match="unknown option 'width'"):
        nb.spec(ALL_CONV3, width="1")
    with pytest.raises(EdgesimError, match="6 ints"):
        nb.decode((0, 1, 5, 0, 0, 0))


def test_nb201_encoding_and_sampling():
    assert ALL_CONV3 == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    assert nb.encode(ALL_CONV3) == (3,) * 6
    assert nb.encode(nb.DEFAULT_ARCH) == (3, 3, 3, 1, 3, 3)
    archs = nb.sample(200, seed=7)
    assert archs == nb.sample(200, seed=7) != nb.sample(200, seed=8)
    assert all(nb.decode(nb.encode(a)) == a for a in archs)
    # Uniform over ops: each op holds about a fifth of 1,200 edges (σ ≈ 14).
    counts = Counter(op for a in archs for op in nb.parse(a))
    assert all(abs(c - 240) < 60 for c in counts.values()) and len(counts) == 5
    assert all(nb.is_connected(a) for a in nb.sample(200, seed=7, connected=True))
    # The README: 341 of the 15,625 cells have no input→output path.
    codes = list(itertools.product(range(len(nb.OPS)), repeat=len(nb.EDGES)))
    assert len(codes) == nb.SPACE_SIZE
    assert sum(not nb.is_connected(c) for c in codes) == 341


def test_nb201_spec_round_trip():
    text = nb.spec((3,) * 6, variant="latbench", dataset="cifar100")
    assert text == f"nasbench201(arch={ALL_CONV3!r}, dataset='cifar100', variant='latbench')"
    assert build(text).meta["variant"] == "latbench"
    assert entry("nasbench201").task == "search_space"


# -- FBNet ------------------------------------------------------------------------------
def _fb(choices: list[str], dataset: str = "cifar100"):
    return build(fb.spec("-".join(choices), dataset=dataset))


def test_fbnet_all_skip_cifar100_counts():
    g = _fb(["skip"] * 22)
    # Only where the shape changes does a skip carry a 1×1 conv + BN + ReLU:
    # stem 3→16 at 32²      1024·16·27   =   442,368 MACs;   432 +   32 params
    # 16→24 s1 at 32²       1024·24·16   =   393,216;        384 +   48
    # 24→32 s2 at 16²        256·32·24   =   196,608;        768 +   64
    # 32→64 s2 at 8²          64·64·32   =   131,072;       2048 +  128
    # 64→112 s1 at 8²        64·112·64   =   458,752;       7168 +  224
    # 112→184 s2 at 4²     16·184·112    =   329,728;      20608 +  368
    # 184→352 s1 at 4²     16·352·184    = 1,036,288;      64768 +  704
    # head 352→1504 at 4²  16·1504·352   = 8,470,528;     529408 + 3008
    # dense 1504→100                       =   150,400;     150400 +  100
    assert g.macs == 11_608_960
    assert g.params == 780_660
    assert _kinds(g) == Counter(
        {Kind.CONV2D: 8, Kind.BATCH_NORM: 8, Kind.RELU: 8, Kind.GLOBAL_AVG_POOL: 1,
         Kind.RESHAPE: 1, Kind.DENSE: 1}
    )


def test_fbnet_block_structure():
    choices = ["k3_e1_g2", "k5_e1_g2", "k3_e3", "skip"] + ["k5_e6"] * 17 + ["k3_e1"]
    g = _fb(choices)
    shuffles = [op.name for op in g if op.kind == Kind.TRANSPOSE]
    assert shuffles == ["block0/transpose", "block1/transpose"]
    # The shuffle sits between the grouped expansion (its BN-ReLU) and the depthwise conv.
    assert g.sources("block0/transpose") == ("block0/relu",)
    assert g.consumers("block0/transpose") == ["block0/depthwise_conv2d"]
    assert g.op("block0/grouped_conv2d").groups == 2
    assert g.op("block0/grouped_conv2d_1").groups == 2  # the projection
    assert g.op("block1/depthwise_conv2d").kernel == (5, 5)
    assert g.op("block1/depthwise_conv2d").stride == (1, 1)  # cifar100: stage 2 stride 1
    assert g.op("block5/depthwise_conv2d").stride == (2, 2)  # first block of stage 3
    # Residual where stride 1 and C_in == C_out: block0 (16→16), not block1 (16→24),
    # not the skip block3: every non-first block of stages 2-6 but 3; not block21.
    adds = sorted(int(op.name.split("/")[0][5:]) for op in g if op.kind == Kind.ADD)
    assert adds == [0, 2, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20]
    # Expansion multiplies the block's input channels.
    assert g.op("block2/conv2d").output[1] == 24 * 3
    assert g.op("block21/conv2d").output[1] == 184


def test_fbnet_imagenet_all_k3_e6():
    g = _fb(["k3_e6"] * 22, dataset="imagenet")
    assert g.inputs["input"] == (1, 3, 224, 224) and g.op("head/dense").output == (1, 1000)
    # Independent sum over blocks: expand at the input size, depthwise and project at
    # the output size.
    macs = 112 * 112 * 16 * 27  # stem s2
    size, c_in = 112, 16
    for depth, c_out, stride in zip(fb.DEPTHS, fb.CHANNELS, (1, 2, 2, 2, 1, 2, 1), strict=True):
        for d in range(depth):
            out = size // (stride if d == 0 else 1)
            mid = 6 * c_in
            macs += size * size * c_in * mid + out * out * mid * (9 + c_out)
            size, c_in = out, c_out
    macs += 7 * 7 * 352 * 1984 + 1984 * 1000
    assert g.macs == macs == 502_111_712
    # Plausible: above MobileNetV2 1.0 (300.8 M, the same blocks over 17 layers,
    # research/architectures.md) and under the 600 M "mobile setting" cap of the FBNet
    # and MnasNet papers, which the space's largest nets (all k5_e6) stay near.
    assert 300.8e6 < g.macs < 600e6
    assert _fb(["k5_e6"] * 22, dataset="imagenet").macs < 600e6


@pytest.mark.parametrize(
    "arch, message",
    [
        ("k3_e1-k3_e6", "has 2 blocks; it needs 22"),
        ("-".join(["k3_e6"] * 21 + ["k7_e6"]), "block 21 is 'k7_e6'"),
        ("", "has 1 blocks"),
    ],
)
def test_fbnet_bad_archs(arch, message):
    with pytest.raises(EdgesimError, match=message):
        fb.encode(arch)
    with pytest.raises(EdgesimError, match=message):
        build(f"fbnet(arch={arch!r})")


def test_fbnet_encoding_and_sampling():
    assert fb.encode(fb.DEFAULT_ARCH) == (0,) + (3,) * 21
    archs = fb.sample(50, seed=3)
    assert archs == fb.sample(50, seed=3) != fb.sample(50, seed=4)
    assert all(fb.decode(fb.encode(a)) == a for a in archs)
    assert len(set(archs)) == 50
    with pytest.raises(EdgesimError, match="22 ints"):
        fb.decode((9,) * 22)
    with pytest.raises(EdgesimError, match="dataset"):
        fb.spec(fb.DEFAULT_ARCH, dataset="cifar10")
    assert build(fb.spec(archs[0], dataset="imagenet")).meta["arch"] == archs[0]
