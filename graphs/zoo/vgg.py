"""VGG-16 (torchvision `models/vgg.py` cfg "D"; architectures.md section 14)."""

from __future__ import annotations

import math

from graphs.builder import NetBuilder, make_divisible
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_v2 import check_options

# (channels, 3x3 convs) of each block; every block ends in a 2x2 stride-2 max pool.
VGG16_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
POOLED = 7  # torchvision's AdaptiveAvgPool2d((7, 7)) before the classifier
HIDDEN = 4096


def _adaptive_window(size: int) -> int:
    """Largest window of an adaptive average pool from `size` to `POOLED` (PyTorch's bins
    are [floor(i * size / 7), ceil((i + 1) * size / 7)))."""
    return max(
        math.ceil((i + 1) * size / POOLED) - (i * size) // POOLED for i in range(POOLED)
    )


@register(
    "vgg16",
    accuracy={"vgg16": 71.592},
    accuracy_source="ImageNet top-1: torchvision VGG16_Weights.IMAGENET1K_V1",
)
def vgg16(width: float = 1.0, resolution: int = 224, num_classes: int = 1000) -> OpGraph:
    """VGG-16 (torchvision cfg D; biased convs and FCs, no BN, 1000 classes).

    `width` scales the conv channels and the two hidden FCs, `make_divisible(c * width, 8)`.
    """
    check_options("vgg16", width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder("vgg16", (1, 3, resolution, resolution), meta=meta)
    for b, (channels, convs) in enumerate(VGG16_BLOCKS):
        with nb.scope(f"block{b + 1}"):
            for _ in range(convs):
                nb.conv(make_divisible(channels * width, 8), 3, padding=1, bias=True)
                nb.act(Kind.RELU)
            nb.pool("max", 2, 2, padding="valid")
    n, c, h, w = nb.shape()
    if (h, w) != (POOLED, POOLED):
        # The adaptive pool is the identity at 224; elsewhere it averages (or repeats) to 7x7.
        nb.op(
            Kind.AVG_POOL, [nb.x], (n, c, POOLED, POOLED), name="adaptive_pool",
            kernel=(_adaptive_window(h), _adaptive_window(w)),
            stride=(max(1, h // POOLED), max(1, w // POOLED)), attrs=(("adaptive", True),),
        )
    nb.flatten()
    hidden = make_divisible(HIDDEN * width, 8)
    for i in range(2):
        with nb.scope(f"fc{i + 1}"):
            nb.dense(hidden)
            nb.act(Kind.RELU)
    with nb.scope("logits"):
        nb.dense(num_classes)
        nb.softmax()
    return nb.build()
