"""EfficientNet-B0, EfficientNet-Lite0 and EfficientNet-EdgeTPU S/M/L, and the tpu MBConv block
that MnasNet and ProxylessNAS reuse.

One block mechanism (`mbconv`) and one stage-table builder (`stages`), as tensorflow/tpu
`efficientnet_model.py` has one `MBConvBlock` fed per-variant block strings. Reference:
tensorflow/tpu models/official/efficientnet/{efficientnet_builder,efficientnet_model}.py,
lite/efficientnet_lite_builder.py, edgetpu/efficientnet_edgetpu_builder.py;
architectures.md sections 0, 8, 9 and 10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphs.builder import NetBuilder, make_divisible
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_v2 import check_options


@dataclass(frozen=True)
class Stage:
    """One tpu block string: `repeats` blocks, the first with `stride`, the rest stride 1.

    `c_in`/`c_out` are the declared filters before width scaling; the expanded width is the
    (scaled) declared input times `expand`. `se` is the SE ratio of the declared input
    (None: no SE). `fused`: kxk full-conv expansion, no depthwise (conv_type 1).
    `skip=False` is the block string's "noskip".
    """

    kernel: int
    stride: int
    expand: int
    c_in: int
    c_out: int
    repeats: int
    se: float | None = None
    fused: bool = False
    skip: bool = True


def mbconv(
    nb: NetBuilder,
    c_out: int,
    kernel: int,
    stride: int,
    expand: float,
    act: Kind,
    *,
    c_in: int | None = None,
    se: float | None = None,
    fused: bool = False,
    skip: bool = True,
) -> str:
    """One MBConv block on the current tensor (architectures.md 0.3); returns its output.

    SE uses the block's activation inside and a sigmoid gate (tpu MBConvBlock). `c_in` is
    the declared input width the expansion and SE widths derive from; it defaults to the
    actual input width (they differ only in EfficientNet-EdgeTPU's first stage).
    """
    x = nb.x
    actual_in = nb.channels()
    declared_in = actual_in if c_in is None else c_in
    c_exp = round(declared_in * expand)
    # tpu MBConvBlock (and ProxylessNAS) omit the expansion conv only at ratio 1.
    if expand != 1:
        with nb.scope("expand"):
            if fused:
                nb.conv_bn_act(c_exp, kernel, stride, act)
            else:
                nb.conv_bn_act(c_exp, 1, 1, act)
    if not fused:
        with nb.scope("depthwise"):
            nb.dw_bn_act(kernel, stride, act)
    if se is not None:
        # tpu: num_reduced_filters = max(1, int(input_filters * se_ratio)), not made divisible.
        nb.se(max(1, int(declared_in * se)), act=act, gate=Kind.SIGMOID)
    with nb.scope("project"):
        nb.conv_bn_act(c_out, 1, 1, None)
    if skip and stride == 1 and actual_in == c_out:
        nb.add(x, nb.x)
    return nb.x


def stages(
    nb: NetBuilder,
    table: tuple[Stage, ...],
    act: Kind,
    *,
    width: float = 1.0,
    depth: float = 1.0,
    fixed_repeats: tuple[int, ...] = (),
) -> None:
    """Build a stage table: filters `make_divisible(f * width, 8)`, repeats `ceil(depth * r)`
    except for the stage indices in `fixed_repeats` (Lite keeps the first and last)."""
    index = 0
    for s, stage in enumerate(table):
        c_in = make_divisible(stage.c_in * width, 8)
        c_out = make_divisible(stage.c_out * width, 8)
        repeats = stage.repeats if s in fixed_repeats else math.ceil(depth * stage.repeats)
        for r in range(repeats):
            with nb.scope(f"block{index}"):
                mbconv(
                    nb, c_out, stage.kernel, stage.stride if r == 0 else 1, stage.expand, act,
                    c_in=c_in if r == 0 else c_out, se=stage.se, fused=stage.fused,
                    skip=stage.skip,
                )
            index += 1


def dense_classifier(nb: NetBuilder, num_classes: int) -> None:
    """Global average pool, dense with bias, softmax. Dropout is a no-op at inference."""
    with nb.scope("logits"):
        nb.global_pool()
        nb.flatten()
        nb.dense(num_classes)
        nb.softmax()


def _efficientnet(
    name: str,
    table: tuple[Stage, ...],
    act: Kind,
    *,
    width: float,
    depth: float,
    resolution: int,
    num_classes: int,
    fix_head_stem: bool = False,
) -> OpGraph:
    """tpu `efficientnet_model.Model`: stem conv, the stage table, 1x1 head conv, classifier."""
    check_options(name, width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder(name, (1, 3, resolution, resolution), meta=meta)

    def head_stem(filters: int) -> int:
        return filters if fix_head_stem else make_divisible(filters * width, 8)

    with nb.scope("stem"):
        nb.conv_bn_act(head_stem(32), 3, 2, act)
    fixed = (0, len(table) - 1) if fix_head_stem else ()
    stages(nb, table, act, width=width, depth=depth, fixed_repeats=fixed)
    with nb.scope("head"):
        nb.conv_bn_act(head_stem(1280), 1, 1, act)
    dense_classifier(nb, num_classes)
    return nb.build()


# tpu efficientnet_builder `_DEFAULT_BLOCKS_ARGS` (architectures.md section 9).
B0_STAGES: tuple[Stage, ...] = (
    Stage(3, 1, 1, 32, 16, 1, se=0.25),
    Stage(3, 2, 6, 16, 24, 2, se=0.25),
    Stage(5, 2, 6, 24, 40, 2, se=0.25),
    Stage(3, 2, 6, 40, 80, 3, se=0.25),
    Stage(5, 1, 6, 80, 112, 3, se=0.25),
    Stage(5, 2, 6, 112, 192, 4, se=0.25),
    Stage(3, 1, 6, 192, 320, 1, se=0.25),
)

# Lite: the B0 table without SE (efficientnet_lite_builder, `use_se=False`).
LITE_STAGES: tuple[Stage, ...] = tuple(
    Stage(s.kernel, s.stride, s.expand, s.c_in, s.c_out, s.repeats) for s in B0_STAGES
)

# efficientnet_edgetpu_builder block strings (architectures.md section 8): three fused
# stages, then depthwise ones; the first declares input 24 while the stem gives 32.
EDGETPU_STAGES: tuple[Stage, ...] = (
    Stage(3, 1, 4, 24, 24, 1, fused=True, skip=False),
    Stage(3, 2, 8, 24, 32, 2, fused=True),
    Stage(3, 2, 8, 32, 48, 4, fused=True),
    Stage(5, 2, 8, 48, 96, 5),
    Stage(5, 1, 8, 96, 144, 4),
    Stage(5, 2, 8, 144, 192, 2),
)

# (width, depth) coefficients of efficientnet_edgetpu_builder `efficientnet_edgetpu_params`.
EDGETPU_SCALING: dict[str, tuple[float, float]] = {
    "s": (1.0, 1.0),
    "m": (1.0, 1.1),
    "l": (1.2, 1.4),
}

_TPU_README = "tensorflow/tpu models/official/efficientnet"


@register(
    "efficientnet_b0",
    accuracy={"efficientnet_b0": 77.1},
    accuracy_source=(
        "ImageNet top-1, float: Tan & Le 2019 'EfficientNet' (arXiv:1905.11946) Table 2 "
        f"(the {_TPU_README}/README.md baseline without AutoAugment is 76.7)"
    ),
)
def efficientnet_b0(width: float = 1.0, resolution: int = 224, num_classes: int = 1000) -> OpGraph:
    """EfficientNet-B0 (tpu; swish, SE 0.25 of the block input with sigmoid gate)."""
    return _efficientnet(
        "efficientnet_b0", B0_STAGES, Kind.SWISH, width=width, depth=1.0,
        resolution=resolution, num_classes=num_classes,
    )


@register(
    "efficientnet_lite0",
    accuracy={"efficientnet_lite0": 75.1},
    accuracy_source=f"ImageNet top-1, float: {_TPU_README}/lite/README.md @07e173cc",
)
def efficientnet_lite0(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1000
) -> OpGraph:
    """EfficientNet-Lite0 (tpu lite; ReLU6, no SE, stem 32 and head 1280 never scaled)."""
    return _efficientnet(
        "efficientnet_lite0", LITE_STAGES, Kind.RELU6, width=width, depth=1.0,
        resolution=resolution, num_classes=num_classes, fix_head_stem=True,
    )


def _edgetpu(variant: str, width: float, resolution: int, num_classes: int) -> OpGraph:
    base_width, depth = EDGETPU_SCALING[variant]
    return _efficientnet(
        f"efficientnet_edgetpu_{variant}", EDGETPU_STAGES, Kind.RELU,
        width=base_width * width, depth=depth, resolution=resolution, num_classes=num_classes,
    )


_EDGETPU_SOURCE = f"ImageNet top-1, float: {_TPU_README}/edgetpu/README.md"


@register(
    "efficientnet_edgetpu_s",
    accuracy={"efficientnet_edgetpu_s": 77.23},
    accuracy_source=_EDGETPU_SOURCE,
)
def efficientnet_edgetpu_s(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """EfficientNet-EdgeTPU-S (ReLU, fused 3x3 stages, no SE, 1001 classes)."""
    return _edgetpu("s", width, resolution, num_classes)


@register(
    "efficientnet_edgetpu_m",
    accuracy={"efficientnet_edgetpu_m": 78.69},
    accuracy_source=_EDGETPU_SOURCE,
)
def efficientnet_edgetpu_m(
    width: float = 1.0, resolution: int = 240, num_classes: int = 1001
) -> OpGraph:
    """EfficientNet-EdgeTPU-M (S's channels, depth 1.1, 240 input, 1001 classes)."""
    return _edgetpu("m", width, resolution, num_classes)


@register(
    "efficientnet_edgetpu_l",
    accuracy={"efficientnet_edgetpu_l": 80.62},
    accuracy_source=_EDGETPU_SOURCE,
)
def efficientnet_edgetpu_l(
    width: float = 1.0, resolution: int = 300, num_classes: int = 1001
) -> OpGraph:
    """EfficientNet-EdgeTPU-L (width 1.2, depth 1.4, 300 input, 1001 classes)."""
    return _edgetpu("l", width, resolution, num_classes)
