"""Energy that adds up by cause, validated and calibrated like with like: per-op rows sum
to the totals on every shipped profile, stock profiles against the measured energies of the
published set, the Jetson TX2 energy anchors after calibration, and the refusals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from checked_rows import assert_not_fitted, checked_rows

from simulator.api import predict
from simulator.calibrate import calibrate
from simulator.cli import main
from simulator.energyfit import calibrate_energy
from simulator.hardware.profile import device_names, load_profile
from simulator.reference import load_reference, rows_for_device
from simulator.validate_energy import validate_energy

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"
TX2 = REFDATA / "hwnasbench-anchors-jetson-tx2.csv"
# vgg16 streams parameters past an Edge TPU's cache; mobilenet_v3_large falls back to the
# host at its first hard-swish on Coral (transfers and hand-overs); both run everywhere.
MODELS = ("vgg16", "mobilenet_v3_large")


@pytest.mark.parametrize("device", device_names())
def test_rows_add_up_to_latency_and_energy_on_every_profile(device: str) -> None:
    for model in MODELS:
        report = predict(model, device)
        rows = report.energy_rows()
        assert sum(r.latency_s for r in rows) == pytest.approx(report.latency_s, rel=1e-12)
        assert sum(r.energy_j for r in rows) == pytest.approx(report.energy_j, rel=1e-12)
        assert sum(report.energy_by_cause().values()) == pytest.approx(report.energy_j, rel=1e-12)
        table = list(csv.DictReader(io.StringIO(report.to_csv())))
        assert len(table) == len(rows)
        assert sum(float(r["latency_ms"]) for r in table) == pytest.approx(report.latency_s * 1e3, rel=1e-9)
        assert sum(float(r["energy_mj"]) for r in table) == pytest.approx(report.energy_j * 1e3, rel=1e-9)
        causes = ("compute_mj", "onchip_mj", "offchip_mj", "link_mj", "busy_mj", "idle_mj")
        for r in table:
            assert sum(float(r[c]) for c in causes) == pytest.approx(float(r["energy_mj"]), rel=1e-9, abs=1e-15)
        data = json.loads(report.to_json())
        listed = data["ops"] + data["terms"]
        assert sum(r["latency_ms"] for r in listed) == pytest.approx(data["latency_ms"], rel=1e-9)
        assert sum(r["energy_mj"] for r in listed) == pytest.approx(data["energy_mj"], rel=1e-9)


def test_coral_rows_cover_streaming_transfers_fallback_and_invocation() -> None:
    vgg = predict("vgg16", "coral-usb").energy_rows()
    assert {"parameter streaming", "input", "output", "invocation"} <= {r.kind for r in vgg}
    streaming = next(r for r in vgg if r.kind == "parameter streaming")
    assert streaming.link_j > 0 and streaming.busy_j > 0  # the Edge TPU waits on the weights
    v3 = predict("mobilenet_v3_large", "coral-usb")
    rows = v3.energy_rows()
    assert any(r.kind == "hand-over" for r in rows) and any(r.unit == "cpu" for r in rows)
    # the host's busy power is paid by the fallen-back ops and by the call into the device
    host = load_profile("coral-host-cpu").energy.static_power_w
    call = next(r for r in rows if r.kind == "invocation")
    assert call.busy_j == pytest.approx(host * call.latency_s)
    fallen = [r for r in rows if r.unit == "cpu"]
    assert sum(r.busy_j for r in fallen) == pytest.approx(host * sum(r.latency_s for r in fallen))
    idle = load_profile("coral-usb").energy.idle_power_w
    assert v3.energy_by_cause()["idle"] == pytest.approx(idle * v3.latency_s)


def test_a_usb_stick_is_scored_without_its_host(tmp_path: Path) -> None:
    """A measurement at a USB stick's port sees the stick's idle power, its work and the link,
    never the host's fallen-back ops or the host's busy power while it calls the stick; a
    board holds its host CPU, so there the whole energy is scored."""
    report = predict("mobilenet_v3_large", "coral-usb")  # falls back to the host at its first hard-swish
    rows = report.energy_rows()
    host = sum(r.energy_j - r.idle_j for r in rows if r.unit == "cpu") + sum(r.busy_j for r in rows if r.unit == "host")
    assert 0 < host < report.energy_j
    path = tmp_path / "ref.csv"
    path.write_text("model,latency_ms,energy_mj,device,source,boundary\n"
                    "mobilenet_v3_large,10,10,coral-usb,a,usb\n")
    seen = validate_energy(load_profile("coral-usb"), load_reference(path)).rows[0].predicted_mj
    assert seen == pytest.approx((report.energy_j - host) * 1e3, rel=1e-9)
    board = predict("mobilenet_v3_large", "coral-devboard")
    path.write_text("model,latency_ms,energy_mj,device,source,boundary\n"
                    "mobilenet_v3_large,10,10,coral-devboard,a,board\n")
    scored = validate_energy(load_profile("coral-devboard"), load_reference(path)).rows[0].predicted_mj
    assert scored == pytest.approx(board.energy_j * 1e3, rel=1e-9)


# -- stock profiles on the measured energies of the published set --------------------------
def _energy_devices() -> list[tuple[str, str]]:
    return sorted({tuple(r.device.split("@")) for r in load_reference("published") if r.energy_mj is not None})


@pytest.mark.parametrize(("device", "precision"), _energy_devices())
def test_stock_profiles_on_measured_power(device: str, precision: str) -> None:
    """Median |error| ≤ 30 % on every device's measured rows, in power while running (what
    the campaigns measured; energy per inference adds the latency error, see the README)."""
    profile = load_profile(device)
    if profile.precision != precision:
        profile = profile.replace(precision=precision)
    rows = rows_for_device(load_reference("published"), device, precision)
    result = validate_energy(profile, rows)
    assert len(result.rows) == sum(r.energy_mj is not None for r in rows)  # all at the profile's boundary
    assert result.median_abs_power_error <= 0.30, [f"{r.row.model}: {r.power_error:+.1%}" for r in result.rows]


# Devices whose energy per inference misses by more than 30 %: latency misses (power holds).
ENERGY_MISSES = {
    "coral-devboard@int8": ("median 31.3 % on 2 power runs: mobilenet_v2 -51 %, its latency 2.35 ms against "
                            "4.23 ms in DeepEdgeBench's Python loop (Coral's own Dev Board figure: 2.6 ms; "
                            "causes ruled out in tests/test_published.py); mobilenet_v1 0.25/128 -11 %"),
    "coral-usb@int8": ("50.4 % on 1 power run (Fischer et al., MobileNetV2 at the stick's USB port): power is "
                       "1.14 W priced against 1.15 W measured, energy 2.83 against 5.71 mJ because the campaign's "
                       "window is 4.96 ms per image (Python loop: set_tensor, invoke, get_tensor, CodeCarbon) "
                       "where edgesim prices 2.48 ms and Coral's own USB 3 desktop table gives 2.6 ms; the stick "
                       "idling at 0.4 W through the extra 2.5 ms would add 1.0 mJ (-33 %); the Edge TPU clock "
                       "(libedgetpu std or max) is not stated"),
    "jetson-nano-fp32@fp32": ("32.7 % on 1 power run: LatBench's fp32 TensorRT profile prices MobileNetV2 at "
                              "15.0 ms, DeepEdgeBench's ONNX -> TensorRT Python loop took 23.1 ms (power 3.8 % "
                              "off; the latency gap: tests/test_published.py)"),
}


@pytest.mark.parametrize(("device", "precision"), [
    pytest.param(d, p, marks=[pytest.mark.xfail(strict=True, reason=ENERGY_MISSES[f"{d}@{p}"])]
                 if f"{d}@{p}" in ENERGY_MISSES else []) for d, p in _energy_devices()])
def test_stock_profiles_on_measured_energy(device: str, precision: str) -> None:
    """Median |error| ≤ 30 % in energy per inference on every device's measured rows that
    its profile was not fitted to (DeepEdgeBench's runtime profiles fit its latency runs,
    never its power runs)."""
    profile = load_profile(device)
    if profile.precision != precision:
        profile = profile.replace(precision=precision)
    rows = [r for r in checked_rows(profile, rows_for_device(load_reference("published"), device, precision))
            if r.energy_mj is not None]
    assert rows
    result = validate_energy(profile, rows)
    assert result.median_abs_energy_error <= 0.30, [f"{r.row.model}: {r.energy_error:+.1%}" for r in result.rows]


def test_rows_at_another_boundary_are_not_scored(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("model,latency_ms,energy_mj,device,source,boundary\n"
                    "mobilenet_v2,4.2,18.5,coral-devboard,a,board\n"
                    "mobilenet_v2,4.2,2.0,coral-devboard,b,usb\n"
                    "mobilenet_v2,4.2,18.0,coral-devboard,c,\n")
    result = validate_energy(load_profile("coral-devboard"), load_reference(path))
    assert [r.row.line for r in result.rows] == [2, 4]  # an empty boundary is the profile's
    assert [r.line for r in result.elsewhere] == [3]
    from graphs.errors import EdgesimError

    with pytest.raises(EdgesimError, match=r"covers the 'usb' boundary.*at board"):
        validate_energy(load_profile("coral-usb"), load_reference(path)[:1])


# -- calibration --------------------------------------------------------------------------
def test_energy_calibration_recovers_a_known_profile(tmp_path: Path) -> None:
    """Energies measured on a "true" device whose busy power is twice the base's and whose
    MACs cost half: calibrating the base on them recovers the truth's predictions."""
    base = load_profile("raspi4-cpu")
    truth = base.replace(**{"energy.static_power_w": 2 * base.energy.static_power_w,
                            "energy.energy_per_mac_j.fp32": 0.5 * base.energy_per_mac_j})
    models = ["mobilenet_v2", "mobilenet_v1", "mnasnet_a1", "efficientnet_b0", "mobilenet_v3_small",
              "mobilenet_v3_large", "efficientnet_lite0", "proxylessnas_mobile", "vgg16", "resnet50"]
    path = tmp_path / "truth.csv"
    path.write_text("model,latency_ms,energy_mj,device,source\n" + "".join(
        f"{m},{predict(m, truth).latency_s * 1e3},{predict(m, truth).energy_j * 1e3},raspi4-cpu,synthetic\n"
        for m in models))
    fit = calibrate_energy(base, load_reference(path))
    for m in ("mobilenet_v2", "resnet50", "mobilenet_v1"):
        assert predict(m, fit.profile).energy_j == pytest.approx(predict(m, truth).energy_j, rel=0.02)
    assert fit.metrics.mape < 0.01 < fit.base.mape


def test_energy_calibration_holds_latency_and_records_the_fit() -> None:
    rows = [r for r in load_reference("published") if r.device == "coral-devboard@int8"]
    base = load_profile("coral-devboard")
    fit = calibrate_energy(base, rows, reference="published")
    assert fit.profile.get("array.array_rows") == base.get("array.array_rows")
    assert predict("mobilenet_v2", fit.profile).latency_s == predict("mobilenet_v2", base).latency_s
    assert fit.metrics.mape < fit.base.mape
    record = fit.profile.calibration["energy"]
    assert record["rows"] == 2 and record["boundary"] == "board"
    # the Edge TPU has no DRAM: a zero field stays zero, the others may move
    assert set(record["after"]) == {"energy.energy_per_mac_j.int8", "energy.sram_energy_per_byte_j",
                                    "energy.static_power_w"}
    assert fit.profile.energy.dram_energy_per_byte_j is None
    assert record["chosen"] in ("energy scale", "busy power + dynamic energy", "all energy fields")


@pytest.fixture(scope="module")
def tx2_runs() -> dict[int, object]:
    """HW-NAS-Bench's Jetson TX2 energy anchors (whole-module VDD_IN rail, idle included)
    on the module-boundary PyTorch profile of that campaign's runtime, `jetson-tx2-pytorch`,
    whose latency was fitted to 7 of the 15 rows. Each draw calibrates (latency, then energy
    with latency held) on those 7 and one of the other 8, and scores the remaining 7, so no
    scored row was ever fitted; every one of the 8 draws is kept (keyed by the added row)."""
    if not TX2.is_file():
        pytest.skip(f"{TX2} not present (../shared/refdata next to the repo)")
    rows = load_reference(TX2)
    base = load_profile("jetson-tx2-pytorch")
    assert base.energy.boundary == "module" and base.precision == "fp32"
    unfitted = checked_rows(base, rows)
    fitted = [r for r in rows if r not in unfitted]
    assert (len(fitted), len(unfitted)) == (7, 8)
    out = {}
    for extra in unfitted:
        train = [r for r in rows if r in fitted or r is extra]
        held = [r for r in unfitted if r is not extra]
        assert_not_fitted(base, held)
        profile = calibrate_energy(calibrate(base, train).profile, train).profile
        out[extra.line] = validate_energy(profile, held)
    return out


def test_tx2_energy_after_calibrating_on_8_of_15_rows(tx2_runs) -> None:
    """Every draw of 8 training rows: energy tau ≥ 0.6, MAPE ≤ 15 % on the other 7."""
    for line, result in tx2_runs.items():
        assert result.energy.n == 7
        assert result.energy.kendall >= 0.6, (line, result.energy.kendall)
        assert result.energy.mape <= 0.15, (line, result.energy.mape)


def test_tx2_power_holds_on_every_draw(tx2_runs) -> None:
    """Power while running (the energy model's own error) within 15 % MAPE on every draw."""
    for line, result in tx2_runs.items():
        assert result.power.mape <= 0.15, line


# -- refusals -----------------------------------------------------------------------------
def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", ["validate", "calibrate"])
def test_metric_energy_on_a_file_without_energy(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                command: str) -> None:
    ref = tmp_path / "latency.csv"
    ref.write_text("model,latency_ms,energy_mj,device,source\nmobilenet_v2,6.5,,pixel1-cpu,a\n"
                   "mobilenet_v1,5.0,,pixel1-cpu,b\n")
    out = tmp_path / "fitted.toml"
    argv = [command, "--device", "pixel1-cpu", "--reference", str(ref), "--metric", "energy"]
    if command == "calibrate":
        argv += ["--out", str(out)]
    line = _one_line_error(capsys, argv)
    assert "no measured energy (energy_mj is empty on every row)" in line
    assert not out.exists()
