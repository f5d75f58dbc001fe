"""ResNet-50 v1.5 (torchvision `models/resnet.py`; architectures.md section 13).

v1.5 puts the stride of a downsampling bottleneck on its 3x3 conv, not its first 1x1.
"""

from __future__ import annotations

from graphs.builder import NetBuilder, make_divisible
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.efficientnet import dense_classifier
from graphs.zoo.mobilenet_v2 import check_options

# (bottleneck width, blocks, stride of the first block) of conv2_x .. conv5_x.
RESNET50_STAGES: tuple[tuple[int, int, int], ...] = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))
EXPANSION = 4


def _bottleneck(nb: NetBuilder, planes: int, stride: int) -> None:
    x = nb.x
    c_out = planes * EXPANSION
    with nb.scope("conv1"):
        nb.conv(planes, 1, padding=0)
        nb.bn()
        nb.act(Kind.RELU)
    with nb.scope("conv2"):
        nb.conv(planes, 3, stride, padding=1)
        nb.bn()
        nb.act(Kind.RELU)
    with nb.scope("conv3"):
        nb.conv(c_out, 1, padding=0)
        main = nb.bn()
    shortcut = x
    # torchvision projects the shortcut whenever the stride or the width changes.
    if stride != 1 or nb.channels(x) != c_out:
        with nb.scope("downsample"):
            nb.conv(c_out, 1, stride, padding=0, x=x)
            shortcut = nb.bn()
    nb.add(main, shortcut)
    nb.act(Kind.RELU)


@register(
    "resnet50",
    accuracy={"resnet50": 76.13},
    accuracy_source="ImageNet top-1: torchvision ResNet50_Weights.IMAGENET1K_V1",
)
def resnet50(width: float = 1.0, resolution: int = 224, num_classes: int = 1000) -> OpGraph:
    """ResNet-50 v1.5 (torchvision; stride on the 3x3 conv, 1000 classes).

    `width` scales every conv's channels, `make_divisible(c * width, 8)`.
    """
    check_options("resnet50", width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder("resnet50", (1, 3, resolution, resolution), meta=meta)
    with nb.scope("stem"):
        nb.conv(make_divisible(64 * width, 8), 7, 2, padding=3)
        nb.bn()
        nb.act(Kind.RELU)
        nb.pool("max", 3, 2, padding=1)
    index = 0
    for planes, blocks, stride in RESNET50_STAGES:
        for b in range(blocks):
            with nb.scope(f"block{index}"):
                _bottleneck(nb, make_divisible(planes * width, 8), stride if b == 0 else 1)
            index += 1
    dense_classifier(nb, num_classes)
    return nb.build()
