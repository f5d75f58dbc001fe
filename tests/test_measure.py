"""Host measurements with onnxruntime: the reference CSV they write and its protocol."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from graphs import EdgesimError, NetBuilder, OpGraph  # noqa: E402
from graphs.exporters.onnx import export_onnx  # noqa: E402
from simulator.cli import main  # noqa: E402
from simulator.measure import cpu_model, measure  # noqa: E402
from simulator.reference import COLUMNS, load_reference  # noqa: E402


def _tiny() -> OpGraph:
    b = NetBuilder("tiny", (1, 3, 32, 32))
    b.conv_bn_act(16, 3, 2)
    b.global_pool()
    b.flatten()
    b.dense(10)
    return b.build()


def _big() -> OpGraph:
    """261x the tiny model's 0.11 M MACs: a 3x3 conv 32 -> 32 on 56x56 (29 M MACs)."""
    b = NetBuilder("big", (1, 32, 56, 56))
    b.conv_bn_act(32, 3, 1)
    return b.build()


def test_cli_writes_a_valid_reference_csv(tmp_path, capsys):
    spec = tmp_path / "tiny.json"
    _tiny().save(spec)
    out, per_op = tmp_path / "host.csv", tmp_path / "ops.json"
    argv = ["measure", str(spec), "--repeat", "5", "--warmup", "2", "--out", str(out),
            "--per-op-out", str(per_op)]
    assert main(argv) == 0
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    (row,) = load_reference(out)  # the project's own reader accepts the file
    assert row.model == str(spec) and row.device == "host" and row.energy_mj is None
    assert 0 < row.latency_ms < 1000
    assert row.source == (
        f"edgesim measure, onnxruntime {ort.__version__}, 1 thread, {cpu_model()}"
    )
    (profile,) = json.loads(per_op.read_text())
    assert profile["model"] == str(spec) and len(profile["runs_ms"]) == 5
    assert "dense" in profile["ops_ms"] and all(t >= 0 for t in profile["ops_ms"].values())
    assert str(out) in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_spec_fails_before_anything_is_written(tmp_path, capsys):
    spec = tmp_path / "tiny.json"
    _tiny().save(spec)
    out = tmp_path / "host.csv"
    out.write_text("previous results\n")
    assert main(["measure", str(spec), "no_such_model", "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host.csv", "tiny.json"]


def test_more_work_takes_longer_and_onnx_files_are_timed_as_they_are(tmp_path):
    small, big = tmp_path / "small.onnx", tmp_path / "big.json"
    export_onnx(_tiny(), small)
    _big().save(big)
    rows = measure([str(small), str(big)], repeat=7, warmup=2)
    assert [r.model for r in rows] == [str(small), str(big)]
    for r in rows:
        assert len(r.runs_ms) == 7 and min(r.runs_ms) <= r.latency_ms <= max(r.runs_ms)
    # 261x the MACs: even on a busy machine the medians are far apart.
    assert rows[1].latency_ms > 5 * rows[0].latency_ms


def test_bad_settings_are_user_errors():
    with pytest.raises(EdgesimError, match="repeat"):
        measure(["mobilenet_v2"], repeat=0)
