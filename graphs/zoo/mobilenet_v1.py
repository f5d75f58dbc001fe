"""MobileNetV1 (Howard et al. 2017), as TF-slim defines it.

Reference: tensorflow/models research/slim/nets/mobilenet_v1.py (`_CONV_DEFS`,
`mobilenet_v1_base`); architectures.md section 1. Unlike V2/V3, the width multiplier
truncates: `max(int(c * width), 8)`, with no rounding to multiples of 8.
"""

from __future__ import annotations

from graphs.builder import NetBuilder
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_v2 import check_options, classifier_head

# (stride, pointwise output channels at width 1) of the 13 depthwise-separable blocks.
_BLOCKS = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),
    (2, 1024), (1, 1024),
)

_SOURCE = (
    "ImageNet top-1, float: TFLite hosted models (tensorflow/tensorflow "
    "tensorflow/lite/g3doc/models.md @6e81d72e), the checkpoints of slim mobilenet_v1.md"
)

# Every width x resolution checkpoint of slim mobilenet_v1.md (canonical spec keys).
_TOP1 = {
    "mobilenet_v1": 71.0,
    "mobilenet_v1(resolution=192)": 69.9,
    "mobilenet_v1(resolution=160)": 68.0,
    "mobilenet_v1(resolution=128)": 65.2,
    "mobilenet_v1(width=0.75)": 68.3,
    "mobilenet_v1(resolution=192, width=0.75)": 67.1,
    "mobilenet_v1(resolution=160, width=0.75)": 65.2,
    "mobilenet_v1(resolution=128, width=0.75)": 62.0,
    "mobilenet_v1(width=0.5)": 63.2,
    "mobilenet_v1(resolution=192, width=0.5)": 61.7,
    "mobilenet_v1(resolution=160, width=0.5)": 59.0,
    "mobilenet_v1(resolution=128, width=0.5)": 56.2,
    "mobilenet_v1(width=0.25)": 49.7,
    "mobilenet_v1(resolution=192, width=0.25)": 47.1,
    "mobilenet_v1(resolution=160, width=0.25)": 45.4,
    "mobilenet_v1(resolution=128, width=0.25)": 41.4,
}


@register(
    "mobilenet_v1",
    accuracy=_TOP1,
    accuracy_source=_SOURCE,
)
def mobilenet_v1(width: float = 1.0, resolution: int = 224, num_classes: int = 1001) -> OpGraph:
    """MobileNetV1 (slim; ReLU6, 1001 classes)."""
    check_options("mobilenet_v1", width, resolution, num_classes)

    def depth(c: int) -> int:
        return max(int(c * width), 8)

    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder("mobilenet_v1", (1, 3, resolution, resolution), meta=meta)
    with nb.scope("stem"):
        nb.conv_bn_act(depth(32), 3, 2, Kind.RELU6)
    for i, (stride, c_out) in enumerate(_BLOCKS, start=1):
        with nb.scope(f"block{i}"):
            with nb.scope("depthwise"):
                nb.dw_bn_act(3, stride, Kind.RELU6)
            with nb.scope("pointwise"):
                nb.conv_bn_act(depth(c_out), 1, 1, Kind.RELU6)
    # slim's 7x7 VALID average pool, shrunk to the map for inputs below 224, is a global
    # pool at every published resolution.
    classifier_head(nb, num_classes)
    return nb.build()
