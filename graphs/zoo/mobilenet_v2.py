"""MobileNetV2, and the layer-spec machinery that MobileNetV3 and MobileNetEdgeTPU share.

TF-slim builds V2, V3 and MobileNetEdgeTPU with one `mobilenet()` function fed different
`conv_defs`; this module does the same. A network body is a tuple of `Conv`, `Pool` and
`IBN` rows whose indices are slim's spec indices (slim endpoint `layer_<i+1>` is row i, which
is how the SSD heads name their feature maps), and `body()` builds them. Reference:
tensorflow/models research/slim/nets/mobilenet/{mobilenet,conv_blocks,mobilenet_v2}.py;
architectures.md sections 0 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphs.builder import NetBuilder, make_divisible
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register


@dataclass(frozen=True)
class Conv:
    """Full conv + BN + act; `bias=True` is a conv with bias and no BN (V3's last 1x1)."""

    out: int
    kernel: int = 1
    stride: int = 1
    act: Kind | None = Kind.RELU6
    bias: bool = False


@dataclass(frozen=True)
class Pool:
    """Global average pool inside the spec (V3 pools before its last 1x1 conv)."""


@dataclass(frozen=True)
class IBN:
    """Inverted bottleneck (architectures.md 0.3). `expand` multiplies the actual input width.

    `fused`: the expansion is a kxk full conv with the block's stride and there is no
    depthwise (MobileNetEdgeTPU). `residual=False` forbids the skip even when shapes match.
    """

    out: int
    kernel: int = 3
    stride: int = 1
    expand: float = 6.0
    act: Kind = Kind.RELU6
    se: bool = False
    fused: bool = False
    residual: bool = True


Row = Conv | Pool | IBN


@dataclass
class Endpoints:
    """Tensors of a built body: `outputs[i]` is row i's output, `expansions[i]` the output of
    row i's expansion conv after its activation (slim `layer_<i+1>/expansion_output`)."""

    outputs: list[str] = field(default_factory=list)
    expansions: dict[int, str] = field(default_factory=dict)


# Ceilings far above any published variant (widths to 2, resolutions to 600, 21k classes);
# beyond them a number is a typo, and the op counts it gives overflow floating point.
MAX_WIDTH = 64.0
MAX_RESOLUTION = 16384
MAX_CLASSES = 10**7


def check_options(model: str, width: float, resolution: int, num_classes: int) -> None:
    """Reject options no network of this family can be built with."""
    if not 0 < width <= MAX_WIDTH:
        raise EdgesimError(f"{model}: width must be positive and at most {MAX_WIDTH:g}, got {width!r}")
    if not 32 <= resolution <= MAX_RESOLUTION:
        raise EdgesimError(
            f"{model}: resolution must be at least 32 (the output stride) and at most {MAX_RESOLUTION}, "
            f"got {resolution}"
        )
    if not 1 <= num_classes <= MAX_CLASSES:
        raise EdgesimError(f"{model}: num_classes must be from 1 to {MAX_CLASSES}, got {num_classes}")


def _row_name(i: int, row: Row) -> str:
    if isinstance(row, IBN):
        return f"block{i}"
    if isinstance(row, Pool):
        return f"pool{i}"
    return "stem" if i == 0 else f"conv{i}"


def body(
    nb: NetBuilder,
    rows: tuple[Row, ...],
    width: float = 1.0,
    *,
    finegrain: bool = False,
    min_depth: int = 8,
) -> Endpoints:
    """Build `rows` on the builder's current tensor.

    Every row's output width is `make_divisible(out * width, 8, min_depth)`. With
    `finegrain` (slim `finegrain_classification_mode`, used by every released classifier)
    the last row keeps its width-1 channels when width < 1.
    """
    ends = Endpoints()
    last = len(rows) - 1
    for i, row in enumerate(rows):
        with nb.scope(_row_name(i, row)):
            if isinstance(row, Pool):
                nb.global_pool()
            else:
                keep = finegrain and width < 1 and i == last
                c_out = row.out if keep else make_divisible(row.out * width, 8, min_depth)
                if isinstance(row, IBN):
                    expansion = _ibn(nb, row, c_out)
                    if expansion is not None:
                        ends.expansions[i] = expansion
                elif row.bias:
                    nb.conv(c_out, row.kernel, row.stride, bias=True)
                    nb.act(row.act)
                else:
                    nb.conv_bn_act(c_out, row.kernel, row.stride, row.act)
        ends.outputs.append(nb.x)
    return ends


def _ibn(nb: NetBuilder, row: IBN, c_out: int) -> str | None:
    """One inverted bottleneck; returns its expansion output (None when it has none)."""
    x = nb.x
    c_in = nb.channels()
    c_exp = make_divisible(c_in * row.expand, 8)
    expansion = None
    # slim `expanded_conv` skips the expansion conv unless it widens the tensor.
    if c_exp > c_in:
        with nb.scope("expand"):
            if row.fused:
                expansion = nb.conv_bn_act(c_exp, row.kernel, row.stride, row.act)
            else:
                expansion = nb.conv_bn_act(c_exp, 1, 1, row.act)
    if not row.fused:
        with nb.scope("depthwise"):
            nb.dw_bn_act(row.kernel, row.stride, row.act)
        if row.se:
            # slim V3 `squeeze_excite`: squeeze_factor 4, divisible_by 8, ReLU, hard sigmoid.
            nb.se(make_divisible(nb.channels() / 4, 8), act=Kind.RELU, gate=Kind.HARD_SIGMOID)
    with nb.scope("project"):
        nb.conv_bn_act(c_out, 1, 1, None)
    if row.residual and row.stride == 1 and c_in == c_out:
        nb.add(x, nb.x)
    return expansion


def classifier_head(nb: NetBuilder, num_classes: int) -> None:
    """slim's logits: global average pool (skipped on a 1x1 map), 1x1 conv with bias and
    no BN to `num_classes`, squeeze, softmax. Dropout is a no-op at inference."""
    with nb.scope("logits"):
        if nb.shape()[2:] != (1, 1):
            nb.global_pool()
        nb.conv(num_classes, 1, bias=True)
        nb.flatten()
        nb.softmax()


def classifier(
    name: str,
    rows: tuple[Row, ...],
    *,
    width: float,
    resolution: int,
    num_classes: int,
) -> OpGraph:
    """A slim classifier: `rows` (finegrain head rule) then `classifier_head`."""
    check_options(name, width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder(name, (1, 3, resolution, resolution), meta=meta)
    body(nb, rows, width, finegrain=True)
    classifier_head(nb, num_classes)
    return nb.build()


# slim V2_DEF (architectures.md section 2): stem, 17 inverted bottlenecks, the 1280 conv.
V2_ROWS: tuple[Row, ...] = (
    Conv(32, 3, 2),
    IBN(16, expand=1),
    IBN(24, stride=2), IBN(24),
    IBN(32, stride=2), IBN(32), IBN(32),
    IBN(64, stride=2), IBN(64), IBN(64), IBN(64),
    IBN(96), IBN(96), IBN(96),
    IBN(160, stride=2), IBN(160), IBN(160),
    IBN(320),
    Conv(1280),
)


@register(
    "mobilenet_v2",
    accuracy={
        "mobilenet_v2": 72.0,
        "mobilenet_v2(width=1.4)": 74.7,
        "mobilenet_v2(width=0.35)": 60.8,
    },
    accuracy_source=(
        "ImageNet top-1, float: 1.0 and 1.4 from Sandler et al. 2018 'MobileNetV2' "
        "(arXiv:1801.04381) Table 4; 0.35 from Howard et al. 2019 'Searching for "
        "MobileNetV3' (arXiv:1905.02244) Table 3"
    ),
)
def mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1001) -> OpGraph:
    """MobileNetV2 (slim V2_DEF; last 1x1 stays 1280 for width < 1, 1001 classes)."""
    return classifier(
        "mobilenet_v2", V2_ROWS, width=width, resolution=resolution, num_classes=num_classes
    )
