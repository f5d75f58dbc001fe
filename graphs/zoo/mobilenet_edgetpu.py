"""MobileNetEdgeTPU (Google 2019), slim `V3_EDGETPU`.

Reference: tensorflow/models research/slim/nets/mobilenet/mobilenet_v3.py (`V3_EDGETPU`,
`mbv3_fused`, `edge_tpu`, `edge_tpu_075`); architectures.md section 7. ReLU everywhere, no
SE, no h-swish; the stride-4 and stride-8 stages use fused inverted bottlenecks (a 3x3 full
conv expansion, no depthwise), which the Edge TPU runs faster than depthwise ones.
"""

from __future__ import annotations

from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_v2 import IBN, Conv, Row, classifier

RE = Kind.RELU


def _fused(out: int, stride: int = 1, expand: float = 4) -> IBN:
    return IBN(out, 3, stride, expand, RE, fused=True)


def _ibn(out: int, kernel: int = 3, stride: int = 1, expand: float = 4, **kw: bool) -> IBN:
    return IBN(out, kernel, stride, expand, RE, **kw)


EDGETPU_ROWS: tuple[Row, ...] = (
    Conv(32, 3, 2, RE),
    # expansion factor 1: slim skips the expansion, leaving a single 1x1 projection.
    _fused(16, expand=1),
    _fused(32, 2, 8), _fused(32), _fused(32), _fused(32),
    _fused(48, 2, 8), _fused(48), _fused(48), _fused(48),
    _ibn(96, 3, 2, 8), _ibn(96), _ibn(96), _ibn(96),
    _ibn(96, 3, 1, 8, residual=False),
    _ibn(96), _ibn(96), _ibn(96),
    _ibn(160, 5, 2, 8), _ibn(160, 5), _ibn(160, 5), _ibn(160, 5),
    _ibn(192, 3, 1, 8),
    Conv(1280, 1, 1, RE),
)


@register(
    "mobilenet_edgetpu",
    accuracy={
        "mobilenet_edgetpu": 75.6,
        "mobilenet_edgetpu(width=0.75)": 73.5,
        "mobilenet_edgetpu(width=1.25)": 77.06,
        "mobilenet_edgetpu(width=1.5)": 75.9,
        "mobilenet_edgetpu(width=1.75)": 78.6,
    },
    accuracy_source=(
        "ImageNet top-1 of the 8-bit quantized models: 1.0 and 0.75 from tensorflow/models "
        "research/slim/nets/mobilenet/README.md @60c28f91; 1.25/1.5/1.75 from tensorflow/models "
        "official/projects/edgetpu/vision/README.md @20a23a2a"
    ),
)
def mobilenet_edgetpu(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1001
) -> OpGraph:
    """MobileNetEdgeTPU (slim V3_EDGETPU; last 1x1 stays 1280 for width < 1, 1001 classes)."""
    return classifier(
        "mobilenet_edgetpu", EDGETPU_ROWS,
        width=width, resolution=resolution, num_classes=num_classes,
    )
