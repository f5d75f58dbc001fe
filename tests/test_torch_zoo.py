"""Cross-check through PyTorch: MobileNetV2, MobileNetV3-Large and EfficientNet-Lite0
written as plain torch.nn.Modules from the block tables of
../shared/research/architectures.md (sections 0, 2, 3, 9, 10; not from the zoo code),
imported through `build(module, input_shape=...)`, give the zoo's MACs, params and op
kinds. Convs pad k // 2, which gives TF's 'SAME' output sizes for these inputs."""

from __future__ import annotations

from collections import Counter

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from torch import nn  # noqa: E402

from graphs import build  # noqa: E402


def make_divisible(v: float, d: int = 8) -> int:
    """Section 0.2: round to the nearest multiple of d, never more than 10 % down."""
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, act: type[nn.Module] | None = None,
            groups: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Section 0.3: pool → 1x1 conv with bias → ReLU → 1x1 conv with bias → gate → multiply."""

    def __init__(self, c: int, s: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, s, 1), nn.ReLU(), nn.Conv2d(s, c, 1), nn.Hardsigmoid()
        )

    def forward(self, x):
        return x * self.gate(x)


class InvertedBottleneck(nn.Module):
    """Section 0.3: expand (omitted when C_exp == C_in), depthwise, optional SE, linear
    projection, residual when stride 1 and C_in == C_out."""

    def __init__(self, c_in: int, c_exp: int, c_out: int, k: int, stride: int,
                 act: type[nn.Module], se: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if c_exp != c_in:
            layers.append(conv_bn(c_in, c_exp, 1, act=act))
        layers.append(conv_bn(c_exp, c_exp, k, stride, act=act, groups=c_exp))
        if se:
            layers.append(SqueezeExcite(c_exp, se))
        layers.append(conv_bn(c_exp, c_out, 1))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class Classifier(nn.Module):
    """Global average pool, then 1x1 convs (slim) or a dense layer (tpu), then softmax."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return torch.softmax(torch.flatten(self.layers(self.pool(x)), 1), dim=1)


class MobileNetV2(nn.Module):
    """Section 2, width 1.0, 1001 classes."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 32, 3, 2, nn.ReLU6)]
        c = 32
        for t, c_out, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                c_exp = c if t == 1 else make_divisible(c * t)
                layers.append(InvertedBottleneck(c, c_exp, c_out, 3, s if i == 0 else 1, nn.ReLU6))
                c = c_out
        layers.append(conv_bn(c, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier([nn.Conv2d(1280, 1001, 1)])

    def forward(self, x):
        return self.classifier(self.features(x))


class MobileNetV3Large(nn.Module):
    """Section 3, width 1.0, 1001 classes; SE width make_divisible(C_exp / 4)."""

    ROWS = (  # kernel, C_exp, out, SE, act, stride (rows 1-15)
        (3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
        (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
        (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
        (3, 184, 80, False, "HS", 1), (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1),
        (5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1), (5, 960, 160, True, "HS", 1),
    )

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 16, 3, 2, nn.Hardswish)]
        c = 16
        for k, c_exp, c_out, se, act, s in self.ROWS:
            act_cls = nn.ReLU if act == "RE" else nn.Hardswish
            layers.append(
                InvertedBottleneck(c, c_exp, c_out, k, s, act_cls, make_divisible(c_exp / 4) if se else 0)
            )
            c = c_out
        layers.append(conv_bn(c, 960, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier([nn.Conv2d(960, 1280, 1), nn.Hardswish(), nn.Conv2d(1280, 1001, 1)])

    def forward(self, x):
        return self.classifier(self.features(x))


class EfficientNetLite0(nn.Module):
    """Sections 9-10: the B0 stages without SE, ReLU6, 1000 classes, dense classifier."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 32, 3, 2, nn.ReLU6)]
        c = 32
        for ratio, k, c_out, s, n in [(1, 3, 16, 1, 1), (6, 3, 24, 2, 2), (6, 5, 40, 2, 2), (6, 3, 80, 2, 3),
                                      (6, 5, 112, 1, 3), (6, 5, 192, 2, 4), (6, 3, 320, 1, 1)]:
            for i in range(n):
                layers.append(InvertedBottleneck(c, c * ratio, c_out, k, s if i == 0 else 1, nn.ReLU6))
                c = c_out
        layers.append(conv_bn(c, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1280, 1000)

    def forward(self, x):
        return torch.softmax(self.fc(torch.flatten(self.pool(self.features(x)), 1)), dim=1)


@pytest.mark.parametrize(
    ("module", "spec", "macs", "params"),
    [  # totals: architectures.md section 17.2
        (MobileNetV2, "mobilenet_v2", 300_775_552, 3_506_153),
        (MobileNetV3Large, "mobilenet_v3_large", 216_591_040, 5_484_313),
        (EfficientNetLite0, "efficientnet_lite0", 385_187_552, 4_652_008),
    ],
)
def test_torch_modules_equal_the_zoo(module, spec, macs, params):
    net = module()
    # torch's own count (weights, biases, BN gamma/beta) is the convention of section 0.1
    assert sum(p.numel() for p in net.parameters()) == params
    graph = build(net, input_shape=(1, 3, 224, 224))
    zoo = build(spec)
    assert (graph.macs, graph.params) == (zoo.macs, zoo.params) == (macs, params)
    assert Counter(op.kind for op in graph.ops()) == Counter(op.kind for op in zoo.ops())
    # Op by op in order: kind, output shape and MACs (names differ).
    assert [(op.kind, op.output, op.macs) for op in graph.ops()] == [
        (op.kind, op.output, op.macs) for op in zoo.ops()
    ]
