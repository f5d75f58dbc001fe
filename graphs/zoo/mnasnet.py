"""MnasNet-A1 (tensorflow/tpu models/official/mnasnet; architectures.md section 11).

The tpu `MnasBlock` is the EfficientNet `MBConvBlock` with ReLU, so this module feeds its block
strings to the EfficientNet stage builder.
"""

from __future__ import annotations

from graphs.builder import NetBuilder, make_divisible
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.zoo.efficientnet import Stage, dense_classifier, stages
from graphs.zoo.mobilenet_v2 import check_options

# mnasnet_models.mnasnet_a1 block strings.
A1_STAGES: tuple[Stage, ...] = (
    Stage(3, 1, 1, 32, 16, 1, skip=False),
    Stage(3, 2, 6, 16, 24, 2),
    Stage(5, 2, 3, 24, 40, 3, se=0.25),
    Stage(3, 2, 6, 40, 80, 4),
    Stage(3, 1, 6, 80, 112, 2, se=0.25),
    Stage(5, 2, 6, 112, 160, 3, se=0.25),
    Stage(3, 1, 6, 160, 320, 1),
)

# tensorflow/tpu models/official/mnasnet/README.md @009812fb: ImageNet top-1 (float) of the
# released width x resolution checkpoints. Its 0.35 @ 160 row is left out: the README gives
# 52.3 in the top-1 column and 59.3 in the duplicate column beside it.
_README_TOP1: dict[tuple[float, int], float] = {
    (1.4, 224): 77.2, (1.0, 224): 75.2, (0.75, 224): 73.3, (0.5, 224): 68.9, (0.35, 224): 64.1,
    (1.4, 192): 76.1, (1.0, 192): 74.0, (0.75, 192): 72.1, (0.5, 192): 67.2, (0.35, 192): 62.4,
    (1.4, 160): 74.8, (1.0, 160): 72.0, (0.75, 160): 70.1, (0.5, 160): 64.9,
    (1.4, 128): 72.5, (1.0, 128): 69.3, (0.75, 128): 67.0, (0.5, 128): 60.8, (0.35, 128): 54.8,
    (1.4, 96): 68.6, (1.0, 96): 64.4, (0.75, 96): 62.1, (0.5, 96): 54.7, (0.35, 96): 49.3,
}


def _spec(width: float, resolution: int) -> str:
    """The canonical spec string (`graphs.spec.canonical`) of one released variant."""
    options = [f"{k}={v!r}" for k, v, default in (
        ("resolution", resolution, 224), ("width", width, 1.0)) if v != default]
    return f"mnasnet_a1({', '.join(options)})" if options else "mnasnet_a1"


@register(
    "mnasnet_a1",
    accuracy={_spec(w, r): top1 for (w, r), top1 in _README_TOP1.items()},
    accuracy_source="ImageNet top-1, float: tensorflow/tpu models/official/mnasnet/README.md "
    "@009812fb",
)
def mnasnet_a1(width: float = 1.0, resolution: int = 224, num_classes: int = 1000) -> OpGraph:
    """MnasNet-A1 (tpu; ReLU, SE 0.25 of the block input in three stages, head 1280 unscaled)."""
    check_options("mnasnet_a1", width, resolution, num_classes)
    meta = {"width": width, "resolution": resolution, "num_classes": num_classes}
    nb = NetBuilder("mnasnet_a1", (1, 3, resolution, resolution), meta=meta)
    with nb.scope("stem"):
        nb.conv_bn_act(make_divisible(32 * width, 8), 3, 2, Kind.RELU)
    stages(nb, A1_STAGES, Kind.RELU, width=width)
    # mnasnet_model hard-codes the 1280 head conv: it does not follow the width.
    with nb.scope("head"):
        nb.conv_bn_act(1280, 1, 1, Kind.RELU)
    dense_classifier(nb, num_classes)
    return nb.build()
