"""ProxylessNAS-Mobile (mit-han-lab/proxylessnas; architectures.md section 12).

The searched block list, one row per MBConv block; the two searched "zero" blocks of stage 2
(identity shortcut around nothing) are absent. Expanded width = actual input x ratio.
"""

from __future__ import annotations

from graphs.builder import NetBuilder, make_divisible
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.efficientnet import dense_classifier, mbconv
from graphs.zoo.mobilenet_v2 import check_options

# (out channels, kernel, stride, expand ratio) per block, stages 1-5 (osmr imgclsmob
# "mobile" lists, checked against the repo's proxyless_mobile TFLite latency log).
MOBILE_BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (16, 3, 1, 1),
    (32, 5, 2, 3), (32, 3, 1, 3),
    (40, 7, 2, 3), (40, 3, 1, 3), (40, 5, 1, 3), (40, 5, 1, 3),
    (80, 7, 2, 6), (80, 5, 1, 3), (80, 5, 1, 3), (80, 5, 1, 3),
    (96, 5, 1, 6), (96, 5, 1, 3), (96, 5, 1, 3), (96, 5, 1, 3),
    (192, 7, 2, 6), (192, 7, 1, 6), (192, 7, 1, 3), (192, 7, 1, 3),
    (320, 7, 1, 6),
)


@register(
    "proxylessnas_mobile",
    accuracy={"proxylessnas_mobile": 74.6},
    accuracy_source=(
        "ImageNet top-1, float: Cai et al. 2019 'ProxylessNAS' (arXiv:1812.00332) Table 2, "
        "as listed in Howard et al. 2019 'Searching for MobileNetV3' Table 3"
    ),
)
def proxylessnas_mobile(
    width: float = 1.0, resolution: int = 224, num_classes: int = 1000
) -> OpGraph:
    """ProxylessNAS-Mobile (ReLU6, MBConv 3/5/7, no SE, 1000 classes).

    `width` follows the repo's super-net rule: every width `make_divisible(c * width, 8)`,
    the 1280 feature-mix conv scaled only above 1.
    """
    check_options("proxylessnas_mobile", width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder("proxylessnas_mobile", (1, 3, resolution, resolution), meta=meta)
    with nb.scope("stem"):
        nb.conv_bn_act(make_divisible(32 * width, 8), 3, 2, Kind.RELU6)
    for i, (c_out, kernel, stride, expand) in enumerate(MOBILE_BLOCKS):
        with nb.scope(f"block{i}"):
            mbconv(nb, make_divisible(c_out * width, 8), kernel, stride, expand, Kind.RELU6)
    with nb.scope("feature_mix"):
        nb.conv_bn_act(make_divisible(1280 * width, 8) if width > 1 else 1280, 1, 1, Kind.RELU6)
    dense_classifier(nb, num_classes)
    return nb.build()
