"""`edgesim predict` and `edgesim devices` from the command line: output, and a one-line
error with exit status 2 for every mistake a user can make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.hardware.profile import load_profile, to_toml


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code)


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("edgesim: error: ")
    return lines[0]


def test_unknown_device(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", "pixel9-cpu"])
    assert "unknown device 'pixel9-cpu'" in line


def test_malformed_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken"\nkind = "cpu\n')
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", str(path)])
    assert str(path) in line and "malformed TOML" in line


def test_incomplete_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = to_toml(load_profile("pixel1-cpu")).replace("dram_bw_bytes_per_s = ", "# dram_bw_bytes_per_s = ")
    path = tmp_path / "incomplete.toml"
    path.write_text(text)
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", str(path)])
    assert str(path) in line and "missing key 'memory.dram_bw_bytes_per_s'" in line


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["predict", "mobilenet_v9", "--device", "pixel1-cpu"])
    assert "mobilenet_v9" in line


@pytest.mark.parametrize("fps", ["0", "-5"])
def test_non_positive_fps(capsys: pytest.CaptureFixture[str], fps: str) -> None:
    line = one_line_error(capsys, ["predict", "mobilenet_v2", "--device", "pixel1-cpu", f"--fps={fps}"])
    assert "fps must be positive" in line


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["predict", "mobilenet_v3_large", "--device", "pixel1-cpu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"model", "device", "latency_ms", "energy_mj", "avg_power_w", "macs", "params", "ops"} <= set(data)
    assert data["model"] == "mobilenet_v3_large" and data["device"] == "pixel1-cpu"
    assert data["avg_power_w"] is None  # no --fps
    assert data["macs"] == 216_591_040
    # Howard et al. 2019, Table 3: 51 ms on a Pixel 1 big core, TFLite fp32.
    assert data["latency_ms"] == pytest.approx(51, rel=0.2)
    assert data["energy_mj"] > 0
    assert data["ops"]
    for op in data["ops"]:
        assert {"name", "kind", "unit", "latency_ms", "energy_mj", "bound"} <= set(op)
        assert op["unit"] == "cpu" and op["bound"] in ("compute", "memory", "overhead")
    # Ops and the graph terms (the runtime's per-inference cost) add up to the latency.
    assert sum(row["latency_ms"] for row in data["ops"] + data["terms"]) == pytest.approx(data["latency_ms"])
    assert [t["kind"] for t in data["terms"]] == ["inference"]


def test_json_with_fps_reports_power(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["predict", "mobilenet_v3_small", "--device", "pixel1-cpu", "--fps", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    idle = load_profile("pixel1-cpu").energy.idle_power_w
    assert data["fps_met"] is True
    t, energy = data["latency_ms"] * 1e-3, data["energy_mj"] * 1e-3
    assert data["avg_power_w"] == pytest.approx(idle * (1 - 30 * t) + 30 * energy)


def test_table_output_says_when_fps_cannot_be_met(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["predict", "mobilenet_v3_large", "--device", "pixel1-cpu", "--fps", "100"]) == 0
    out = capsys.readouterr().out
    assert "100 fps cannot be kept up" in out


def test_devices_lists_the_cpu_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["devices"]) == 0
    out = capsys.readouterr().out
    for name in ("pixel1-cpu", "pixel4-cpu", "raspi4-cpu", "x86-desktop-cpu"):
        assert name in out
