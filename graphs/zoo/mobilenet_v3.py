"""MobileNetV3 Large / Small and their minimalistic variants (Howard et al. 2019).

Reference: tensorflow/models research/slim/nets/mobilenet/mobilenet_v3.py (`V3_LARGE`,
`V3_SMALL`, `*_MINIMALISTIC`, `*_DETECTION`); architectures.md sections 3-6 and 15.2.
Squeeze widths are `make_divisible(C_exp / 4, 8)` with a hard-sigmoid gate (see
`mobilenet_v2._ibn`); the final 1x1 conv has a bias and no BN and keeps its width-1
channels for width < 1.
"""

from __future__ import annotations

from dataclasses import replace

from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_v2 import IBN, Conv, Pool, Row, classifier

HS = Kind.HARD_SWISH
RE = Kind.RELU

# Expansion factors are slim's `expand_input_by_factor` values (C_exp / C_in at width 1).
LARGE_ROWS: tuple[Row, ...] = (
    Conv(16, 3, 2, HS),
    IBN(16, 3, 1, 1, RE),
    IBN(24, 3, 2, 4, RE),
    IBN(24, 3, 1, 3, RE),
    IBN(40, 5, 2, 3, RE, se=True),
    IBN(40, 5, 1, 3, RE, se=True),
    IBN(40, 5, 1, 3, RE, se=True),
    IBN(80, 3, 2, 6, HS),
    IBN(80, 3, 1, 2.5, HS),
    IBN(80, 3, 1, 184 / 80, HS),
    IBN(80, 3, 1, 184 / 80, HS),
    IBN(112, 3, 1, 6, HS, se=True),
    IBN(112, 3, 1, 6, HS, se=True),
    IBN(160, 5, 2, 6, HS, se=True),
    IBN(160, 5, 1, 6, HS, se=True),
    IBN(160, 5, 1, 6, HS, se=True),
    Conv(960, 1, 1, HS),
    Pool(),
    Conv(1280, 1, 1, HS, bias=True),
)

# The paper's table shows an SE on the 576 conv; the reference code has none (we follow it).
SMALL_ROWS: tuple[Row, ...] = (
    Conv(16, 3, 2, HS),
    IBN(16, 3, 2, 1, RE, se=True),
    IBN(24, 3, 2, 72 / 16, RE),
    IBN(24, 3, 1, 88 / 24, RE),
    IBN(40, 5, 2, 4, HS, se=True),
    IBN(40, 5, 1, 6, HS, se=True),
    IBN(40, 5, 1, 6, HS, se=True),
    IBN(48, 5, 1, 3, HS, se=True),
    IBN(48, 5, 1, 3, HS, se=True),
    IBN(96, 5, 2, 6, HS, se=True),
    IBN(96, 5, 1, 6, HS, se=True),
    IBN(96, 5, 1, 6, HS, se=True),
    Conv(576, 1, 1, HS),
    Pool(),
    Conv(1024, 1, 1, HS, bias=True),
)


def minimalistic(rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """slim's `*_MINIMALISTIC`: no SE, ReLU everywhere, every kernel 3x3 (section 5)."""
    out: list[Row] = []
    for row in rows:
        if isinstance(row, IBN):
            row = replace(row, kernel=3, act=RE, se=False)
        elif isinstance(row, Conv):
            row = replace(row, act=RE)
        out.append(row)
    return tuple(out)


def reduce_tail(rows: tuple[Row, ...], start: int, end: int) -> tuple[Row, ...]:
    """slim `_reduce_consecutive_layers(..., multiplier=0.5)`: halve the output channels of
    rows start..end (the `V3_*_DETECTION` backbones of the SSD heads, section 15.2).
    Expansion factors are relative to the input, so the expanded widths follow."""
    return tuple(
        replace(row, out=row.out // 2) if start <= i <= end and not isinstance(row, Pool) else row
        for i, row in enumerate(rows)
    )


_PAPER = (
    "ImageNet top-1, float: Howard et al. 2019 'Searching for MobileNetV3' "
    "(arXiv:1905.02244, ICCV19) Table 9 (Appendix A)"
)
_SLIM_README = (
    "ImageNet top-1, float: tensorflow/models research/slim/nets/mobilenet/README.md "
    "@60c28f91"
)


@register(
    "mobilenet_v3_large",
    accuracy={
        "mobilenet_v3_large": 75.2,
        "mobilenet_v3_large(width=1.25)": 76.6,
        "mobilenet_v3_large(width=0.75)": 73.3,
        "mobilenet_v3_large(width=0.5)": 68.8,
        "mobilenet_v3_large(width=0.35)": 64.2,
        "mobilenet_v3_large(resolution=256)": 76.0,
        "mobilenet_v3_large(resolution=192)": 73.7,
        "mobilenet_v3_large(resolution=160)": 71.7,
        "mobilenet_v3_large(resolution=128)": 68.4,
        "mobilenet_v3_large(resolution=96)": 63.3,
    },
    accuracy_source=_PAPER,
)
def mobilenet_v3_large(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """MobileNetV3-Large (slim V3_LARGE, 1001 classes)."""
    return classifier(
        "mobilenet_v3_large", LARGE_ROWS,
        width=width, resolution=resolution, num_classes=num_classes,
    )


@register(
    "mobilenet_v3_small",
    accuracy={
        "mobilenet_v3_small": 67.5,
        "mobilenet_v3_small(width=1.25)": 70.4,
        "mobilenet_v3_small(width=0.75)": 65.4,
        "mobilenet_v3_small(width=0.5)": 58.0,
        "mobilenet_v3_small(width=0.35)": 49.8,
        "mobilenet_v3_small(resolution=256)": 68.5,
        "mobilenet_v3_small(resolution=160)": 62.8,
        "mobilenet_v3_small(resolution=128)": 57.3,
        "mobilenet_v3_small(resolution=96)": 51.7,
    },
    accuracy_source=_PAPER,
)
def mobilenet_v3_small(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """MobileNetV3-Small (slim V3_SMALL, 1001 classes)."""
    return classifier(
        "mobilenet_v3_small", SMALL_ROWS,
        width=width, resolution=resolution, num_classes=num_classes,
    )


@register(
    "mobilenet_v3_large_minimalistic",
    accuracy={"mobilenet_v3_large_minimalistic": 72.3},
    accuracy_source=_SLIM_README,
)
def mobilenet_v3_large_minimalistic(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """MobileNetV3-Large minimalistic: no SE, no h-swish, no 5x5 (slim, 1001 classes)."""
    return classifier(
        "mobilenet_v3_large_minimalistic", minimalistic(LARGE_ROWS),
        width=width, resolution=resolution, num_classes=num_classes,
    )


@register(
    "mobilenet_v3_small_minimalistic",
    accuracy={"mobilenet_v3_small_minimalistic": 61.9},
    accuracy_source=_SLIM_README,
)
def mobilenet_v3_small_minimalistic(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """MobileNetV3-Small minimalistic: no SE, no h-swish, no 5x5 (slim, 1001 classes)."""
    return classifier(
        "mobilenet_v3_small_minimalistic", minimalistic(SMALL_ROWS),
        width=width, resolution=resolution, num_classes=num_classes,
    )
