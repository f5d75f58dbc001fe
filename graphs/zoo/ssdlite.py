"""SSDLite detection heads on MobileNet backbones (TF Object Detection API).

Reference: tensorflow/models research/object_detection (`ssd_mobilenet_v2/v3/edgetpu
feature extractors`, `multi_resolution_feature_maps`, convolutional box predictor with
`use_depthwise`, the `ssdlite_*_320x320_coco` configs); architectures.md section 15.
The backbone is the classifier's own body (`mobilenet_v2.body`) on the same rows,
truncated where the feature extractor stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphs.builder import NetBuilder
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.mobilenet_edgetpu import EDGETPU_ROWS
from graphs.zoo.mobilenet_v2 import V2_ROWS, Row, body, check_options
from graphs.zoo.mobilenet_v3 import LARGE_ROWS, SMALL_ROWS, reduce_tail

EXTRA_DEPTHS = (512, 256, 256, 128)
# Anchors per location: 3 on the first map (`reduce_boxes_in_lowest_layer`), 6 elsewhere.
ANCHORS = (3, 6, 6, 6, 6, 6)
# Boxes kept by post-processing: export_tflite_ssd_graph's default `max_detections`, the
# models Coral and the TF detection zoo ship.
MAX_DETECTIONS = 10


@dataclass(frozen=True)
class Backbone:
    """Which rows the feature extractor builds and where the head taps them.

    Map 1 is the expansion output of row `tap` (stride 16); map 2 is the output of row
    `last` (stride 32), after which the backbone stops. `tail` is the (start, end) row range
    the TF OD `V3_*_DETECTION` definitions halve, if any.
    """

    rows: tuple[Row, ...]
    tap: int
    last: int
    tail: tuple[int, int] | None = None

    def truncated(self, reduced_tail: bool) -> tuple[Row, ...]:
        rows = self.rows
        if reduced_tail and self.tail:
            rows = reduce_tail(rows, *self.tail)
        return rows[: self.last + 1]


BACKBONES = {
    "mobilenet_v2": Backbone(V2_ROWS, tap=14, last=18),
    "mobilenet_v3_large": Backbone(LARGE_ROWS, tap=13, last=16, tail=(13, 16)),
    "mobilenet_v3_small": Backbone(SMALL_ROWS, tap=9, last=12, tail=(9, 12)),
    "mobilenet_edgetpu": Backbone(EDGETPU_ROWS, tap=17, last=22),
}


@register(
    "ssdlite",
    task="detection",
    metric="mAP",
    accuracy={
        "ssdlite": 22.1,
        "ssdlite(backbone='mobilenet_v3_large')": 22.0,
        "ssdlite(backbone='mobilenet_v3_large', reduced_tail=False)": 22.0,
        "ssdlite(backbone='mobilenet_v3_small')": 16.1,
        "ssdlite(backbone='mobilenet_v3_small', reduced_tail=False)": 16.0,
        "ssdlite(backbone='mobilenet_edgetpu')": 24.3,
    },
    accuracy_source=(
        "COCO test-dev mAP, float, 320x320: Howard et al. 2019 'Searching for MobileNetV3' "
        "(arXiv:1905.02244) Table 6 (MobileNetV2, V3-Large/Small full and reduced tail); "
        "MobileNetEdgeTPU (8-bit): tensorflow/models research/object_detection/g3doc/"
        "tf1_detection_zoo.md (ssdlite_mobilenet_edgetpu_coco_quant)"
    ),
)
def ssdlite(
    backbone: str = "mobilenet_v2",
    resolution: int = 320,
    num_classes: int = 90,
    reduced_tail: bool = True,
    postprocess: bool = False,
) -> OpGraph:
    """SSDLite (TF OD API): MobileNet backbone, 4 extra layers, depthwise box predictors.

    `num_classes` counts object classes (COCO label map: 90); the class head adds the
    background slot. `reduced_tail` halves the last stage of V3 backbones as the TF OD
    feature extractors do. `postprocess=True` ends the graph in the detection
    post-processing op that the TFLite export (`export_tflite_ssd_graph`) appends: box
    decode and non-maximum suppression to MAX_DETECTIONS boxes; Edge TPU runtimes run it
    on the host CPU.
    """
    if backbone not in BACKBONES:
        raise EdgesimError(
            f"ssdlite: unknown backbone {backbone!r}; valid backbones: " + ", ".join(BACKBONES)
        )
    spec = BACKBONES[backbone]
    if not reduced_tail and spec.tail is None:
        raise EdgesimError(
            f"ssdlite: reduced_tail=False applies to mobilenet_v3_* backbones, not {backbone!r}"
        )
    if resolution < 64:
        raise EdgesimError(
            f"ssdlite: resolution must be at least 64 (six feature maps), got {resolution}"
        )
    check_options("ssdlite", 1.0, resolution, num_classes)

    meta = {
        "backbone": backbone, "resolution": resolution, "num_classes": num_classes,
        "reduced_tail": reduced_tail, "postprocess": postprocess,
    }
    nb = NetBuilder("ssdlite", (1, 3, resolution, resolution), meta=meta)
    with nb.scope("backbone"):
        ends = body(nb, spec.truncated(reduced_tail))
    maps = [ends.expansions[spec.tap], ends.outputs[-1]]
    for i, depth in enumerate(EXTRA_DEPTHS, start=1):
        with nb.scope(f"extra{i}"):
            _extra_layer(nb, depth)
        maps.append(nb.x)

    boxes, scores = [], []
    for i, (fmap, anchors) in enumerate(zip(maps, ANCHORS, strict=True)):
        boxes.append(_predictor(nb, f"box_predictor{i}", fmap, anchors, 4))
        scores.append(_predictor(nb, f"class_predictor{i}", fmap, anchors, num_classes + 1))
    with nb.scope("boxes"):
        box_out = nb.concat(boxes, axis=1)
    with nb.scope("scores"):
        score_out = nb.concat(scores, axis=1)
    if postprocess:
        # One output row per kept box: 4 corners, class, score (TFLite's four outputs).
        nb.op(Kind.DETECTION_POSTPROCESS, [box_out, score_out], (nb.shape(box_out)[0], MAX_DETECTIONS, 6),
              name="postprocess", attrs=(("max_detections", MAX_DETECTIONS),))
    return nb.build()


def _extra_layer(nb: NetBuilder, depth: int) -> None:
    """`multi_resolution_feature_maps` with `insert_1x1_conv` and `use_depthwise`."""
    with nb.scope("pointwise_in"):
        nb.conv_bn_act(depth // 2, 1, 1, Kind.RELU6)
    with nb.scope("depthwise"):
        nb.dw_bn_act(3, 2, Kind.RELU6)
    with nb.scope("pointwise_out"):
        nb.conv_bn_act(depth, 1, 1, Kind.RELU6)


def _predictor(nb: NetBuilder, name: str, fmap: str, anchors: int, per_anchor: int) -> str:
    """Depthwise 3x3 + BN + ReLU6, then a 1x1 conv with bias to anchors x per_anchor,
    reshaped to (N, H*W*anchors, per_anchor) for the concatenation over maps."""
    with nb.scope(name):
        nb.dw_bn_act(3, 1, Kind.RELU6, x=fmap)
        nb.conv(anchors * per_anchor, 1, bias=True)
        n, _, h, w = nb.shape()
        return nb.reshape((n, h * w * anchors, per_anchor))
