"""SSD and SSDLite detection heads on MobileNet backbones (TF Object Detection API).

Reference: tensorflow/models research/object_detection (`ssd_mobilenet_v2/v3/edgetpu
feature extractors`, `multi_resolution_feature_maps`, convolutional box predictor with
`use_depthwise`, the `ssdlite_*_320x320_coco` configs, and for plain SSD
`ssd_mobilenet_v2_quantized_300x300_coco.config`); architectures.md section 15.
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
    _check_detector("ssdlite", resolution, num_classes)

    meta = {
        "backbone": backbone, "resolution": resolution, "num_classes": num_classes,
        "reduced_tail": reduced_tail, "postprocess": postprocess,
    }
    return _detector("ssdlite", spec, meta, lite=True)


@register(
    "ssd",
    task="detection",
    metric="mAP",
    accuracy={"ssd": 22.0},
    accuracy_source=(
        "COCO mAP of the 8-bit quantized model: tensorflow/models research/object_detection/"
        "g3doc/tf1_detection_zoo.md (ssd_mobilenet_v2_quantized_coco)"
    ),
)
def ssd(resolution: int = 300, num_classes: int = 90, postprocess: bool = False) -> OpGraph:
    """SSD with a MobileNetV2 backbone (TF OD API `ssd_mobilenet_v2`, not Lite): the extra
    layers' stride-2 convs are full 3x3 convs and the box predictors are single 1x1 convs
    (`kernel_size: 1`, no depthwise), as in ssd_mobilenet_v2_quantized_300x300_coco, the
    quantized MobileNetV2 detector of the TF1 zoo that Coral's Edge TPU models compile.
    Feature maps, anchors and post-processing are SSDLite's."""
    _check_detector("ssd", resolution, num_classes)
    meta = {"resolution": resolution, "num_classes": num_classes, "postprocess": postprocess}
    return _detector("ssd", BACKBONES["mobilenet_v2"], meta, lite=False)


def _check_detector(name: str, resolution: int, num_classes: int) -> None:
    if resolution < 64:
        raise EdgesimError(
            f"{name}: resolution must be at least 64 (six feature maps), got {resolution}"
        )
    check_options(name, 1.0, resolution, num_classes)


def _detector(name: str, spec: Backbone, meta: dict, *, lite: bool) -> OpGraph:
    """Backbone, 4 extra layers, per-map box and class predictors, optional post-processing:
    SSDLite (`lite`) with depthwise extras and predictors, SSD with full convs."""
    resolution, num_classes = meta["resolution"], meta["num_classes"]
    nb = NetBuilder(name, (1, 3, resolution, resolution), meta=meta)
    with nb.scope("backbone"):
        ends = body(nb, spec.truncated(meta.get("reduced_tail", True)))
    maps = [ends.expansions[spec.tap], ends.outputs[-1]]
    for i, depth in enumerate(EXTRA_DEPTHS, start=1):
        with nb.scope(f"extra{i}"):
            _extra_layer(nb, depth, lite)
        maps.append(nb.x)

    boxes, scores = [], []
    for i, (fmap, anchors) in enumerate(zip(maps, ANCHORS, strict=True)):
        boxes.append(_predictor(nb, f"box_predictor{i}", fmap, anchors, 4, lite))
        scores.append(_predictor(nb, f"class_predictor{i}", fmap, anchors, num_classes + 1, lite))
    with nb.scope("boxes"):
        box_out = nb.concat(boxes, axis=1)
    with nb.scope("scores"):
        score_out = nb.concat(scores, axis=1)
    if meta["postprocess"]:
        # One output row per kept box: 4 corners, class, score (TFLite's four outputs).
        nb.op(Kind.DETECTION_POSTPROCESS, [box_out, score_out], (nb.shape(box_out)[0], MAX_DETECTIONS, 6),
              name="postprocess", attrs=(("max_detections", MAX_DETECTIONS),))
    return nb.build()


def _extra_layer(nb: NetBuilder, depth: int, lite: bool) -> None:
    """`multi_resolution_feature_maps` with `insert_1x1_conv`: the stride-2 3x3 is depthwise
    then 1x1 (`use_depthwise`, SSDLite) or one full conv (SSD)."""
    with nb.scope("pointwise_in"):
        nb.conv_bn_act(depth // 2, 1, 1, Kind.RELU6)
    if not lite:
        with nb.scope("conv"):
            nb.conv_bn_act(depth, 3, 2, Kind.RELU6)
        return
    with nb.scope("depthwise"):
        nb.dw_bn_act(3, 2, Kind.RELU6)
    with nb.scope("pointwise_out"):
        nb.conv_bn_act(depth, 1, 1, Kind.RELU6)


def _predictor(nb: NetBuilder, name: str, fmap: str, anchors: int, per_anchor: int, lite: bool) -> str:
    """SSDLite: depthwise 3x3 + BN + ReLU6, then a 1x1 conv with bias to anchors x
    per_anchor; SSD: the 1x1 conv alone (`kernel_size: 1`). Reshaped to
    (N, H*W*anchors, per_anchor) for the concatenation over maps."""
    with nb.scope(name):
        if lite:
            nb.dw_bn_act(3, 1, Kind.RELU6, x=fmap)
        nb.conv(anchors * per_anchor, 1, bias=True, x=None if lite else fmap)
        n, _, h, w = nb.shape()
        return nb.reshape((n, h * w * anchors, per_anchor))
