"""torch.nn.Module models: exported to ONNX in memory and read by the ONNX importer.
Op kinds, shapes, MACs and params of two torchvision-free modules against hand counts."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from torch import nn  # noqa: E402

from graphs import EdgesimError, build  # noqa: E402
from simulator import Predictor, predict  # noqa: E402


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)  # with bias
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SEBlock(nn.Module):
    """Expand 1x1 → depthwise 3x3 / 2 → squeeze-excite → project 1x1, hard-swish."""

    def __init__(self) -> None:
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(8, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish())
        self.dw = nn.Sequential(
            nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32, bias=False), nn.BatchNorm2d(32), nn.Hardswish()
        )
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 8, 1), nn.ReLU(), nn.Conv2d(8, 32, 1), nn.Hardsigmoid()
        )
        self.project = nn.Sequential(nn.Conv2d(32, 8, 1, bias=False), nn.BatchNorm2d(8))

    def forward(self, x):
        x = self.dw(self.expand(x))
        return self.project(x * self.se(x))


def test_small_cnn_against_hand_counts():
    graph = build(SmallCNN(), input_shape=(1, 3, 32, 32))
    ops = graph.ops()
    assert [(op.kind.value, op.output) for op in ops] == [
        ("conv2d", (1, 16, 32, 32)), ("batch_norm", (1, 16, 32, 32)), ("relu", (1, 16, 32, 32)),
        ("max_pool", (1, 16, 16, 16)), ("conv2d", (1, 32, 8, 8)), ("relu", (1, 32, 8, 8)),
        ("global_avg_pool", (1, 32, 1, 1)), ("reshape", (1, 32)), ("dense", (1, 10)),
    ]
    conv1 = 3 * 9 * 16 * 32 * 32  # taps x in x out x output pixels
    conv2 = 16 * 9 * 32 * 8 * 8
    fc = 32 * 10
    assert [op.macs for op in ops if op.macs] == [conv1, conv2, fc]
    assert graph.macs == conv1 + conv2 + fc == 737_600
    # conv1 weights + bias, BN gamma/beta, conv2 weights, fc weights + bias
    assert graph.params == (432 + 16) + 32 + 4608 + (320 + 10)
    assert ops[0].bias and not ops[4].bias and ops[3].kernel == (2, 2) and ops[4].stride == (2, 2)


def test_depthwise_se_hard_swish_module_against_hand_counts():
    graph = build(SEBlock(), input_shape=(1, 8, 16, 16))
    ops = graph.ops()
    assert [(op.kind.value, op.output) for op in ops] == [
        ("conv2d", (1, 32, 16, 16)), ("batch_norm", (1, 32, 16, 16)), ("hard_swish", (1, 32, 16, 16)),
        ("depthwise_conv2d", (1, 32, 8, 8)), ("batch_norm", (1, 32, 8, 8)), ("hard_swish", (1, 32, 8, 8)),
        ("global_avg_pool", (1, 32, 1, 1)), ("conv2d", (1, 8, 1, 1)), ("relu", (1, 8, 1, 1)),
        ("conv2d", (1, 32, 1, 1)), ("hard_sigmoid", (1, 32, 1, 1)), ("mul", (1, 32, 8, 8)),
        ("conv2d", (1, 8, 8, 8)), ("batch_norm", (1, 8, 8, 8)),
    ]
    dw = ops[3]
    assert dw.groups == 32 and dw.kernel == (3, 3) and dw.stride == (2, 2)
    expand, depthwise, squeeze, excite, project = 8 * 32 * 256, 9 * 32 * 64, 32 * 8, 8 * 32, 32 * 8 * 64
    assert graph.macs == expand + depthwise + squeeze + excite + project == 100_864
    bn = 2 * (32 + 32 + 8)
    assert graph.params == 256 + 288 + (256 + 8) + (256 + 32) + 256 + bn


def _export(module, path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            module.eval(), (torch.zeros(1, 8, 16, 16),), path, dynamo=False, input_names=["input"], **options
        )
    return path


def test_predict_on_a_module_equals_predict_on_its_onnx_file(tmp_path):
    module = SEBlock()
    kept = _export(module, tmp_path / "se.onnx", do_constant_folding=False)
    # torch's default folds each batch norm into its conv (adding a bias); the devices'
    # runtimes fold them too, so only reading the 48 bias values differs (≈1e-5 relative).
    folded = _export(module, tmp_path / "se_folded.onnx")
    for device in ("pixel4-cpu", "coral-usb", "adreno-640"):
        from_module = predict(module, device, input_shape=(1, 8, 16, 16))
        from_file = predict(kept, device)
        assert from_module.to_dict() | {"model": ""} == from_file.to_dict() | {"model": ""}, device
        assert predict(folded, device).latency_s == pytest.approx(from_module.latency_s, rel=1e-4), device
    assert from_module.model == "SEBlock" and from_module.macs == 100_864
    ms = Predictor("pixel4-cpu").predict([module, module], input_shape=(1, 8, 16, 16))
    assert list(ms) == [predict(kept, "pixel4-cpu").latency_s * 1e3] * 2


def test_module_errors():
    with pytest.raises(EdgesimError, match=r"torch module SEBlock: give input_shape=\(1, 3, 224, 224\)"):
        build(SEBlock())
    with pytest.raises(EdgesimError, match=r"torch module SEBlock: export to ONNX at input shape 1x3x16x16 failed"):
        build(SEBlock(), input_shape=(1, 3, 16, 16))  # 3 channels into a conv that wants 8
    with pytest.raises(EdgesimError, match="must be positive integers"):
        build(SEBlock(), input_shape=(1, 8, 0, 16))


def test_two_input_module():
    class Sum(nn.Module):
        def forward(self, a, b):
            return torch.relu(a + b)

    graph = build(Sum(), input_shape=[(1, 4, 8, 8), (1, 4, 8, 8)])
    assert graph.inputs == {"input0": (1, 4, 8, 8), "input1": (1, 4, 8, 8)}
    assert Counter(op.kind.value for op in graph.ops()) == {"add": 1, "relu": 1}
