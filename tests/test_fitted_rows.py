"""Fitted rows and checked rows kept apart: `[calibration].fitted_rows` in its three forms,
`edgesim validate` scoring only the rows a profile was not fitted to (fitted ones shown
apart, `--include-fitted` to score them), and the helper every real-data check goes
through failing on overlap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from checked_rows import assert_not_fitted, checked_rows
from cli_check import run_cli

from simulator.fitted import fitted_rows, row_key, set_name
from simulator.hardware.profile import device_names, load_profile
from simulator.reference import ReferenceRow, load_reference, rows_for_device


def row(file: str, line: int, model: str = "mobilenet_v2", ms: float = 2.6) -> ReferenceRow:
    return ReferenceRow(model, ms, None, "d", "s", file, line)


def with_fitted(entries: list, reference: str = "x.csv"):
    return load_profile("coral-usb").replace(**{"calibration": {"reference": reference, "fitted_rows": entries}})


def test_the_three_forms_name_rows() -> None:
    profile = with_fitted(["latbench.csv:7", "published:125", 4, "mobilenet_v1 = 2.4 ms"], reference="/a/x.csv")
    fitted = fitted_rows(profile)
    assert row("/r/latbench.csv", 7) in fitted and row("/r/latbench.csv", 8) not in fitted
    assert row("/pkg/simulator/data/published.csv", 125) in fitted
    assert row("/elsewhere/x.csv", 4) in fitted and row("/elsewhere/y.csv", 4) not in fitted
    assert row("/b/x.csv", 99, "mobilenet_v1", 2.4) in fitted
    assert row("/b/x.csv", 99, "mobilenet_v1", 2.5) not in fitted
    assert set_name("/pkg/simulator/data/published.csv") == "published"
    assert row_key(row("/r/latbench.csv", 7)) == "latbench.csv:7"


def test_an_entry_that_names_no_row_is_an_error() -> None:
    with pytest.raises(ValueError, match="names no row"):
        fitted_rows(with_fitted(["just words"]))


def test_the_helper_fails_on_overlap_and_keeps_every_other_row() -> None:
    rows = [row("/r/f.csv", n) for n in range(2, 12)]
    profile = with_fitted(["f.csv:3", "f.csv:5"])
    assert [r.line for r in checked_rows(profile, rows)] == [2, 4, 6, 7, 8, 9, 10, 11]
    with pytest.raises(AssertionError, match=r"f\.csv:5"):
        assert_not_fitted(profile, rows[3:4])


@pytest.mark.parametrize("device", device_names())
def test_every_shipped_fitted_row_exists(device: str) -> None:
    """Each entry names a row that is there: a published line, or (for a campaign file)
    a line number past the header; otherwise a check could never see the overlap."""
    profile = load_profile(device)
    fitted = fitted_rows(profile)
    published = {r.line: r for r in load_reference("published")}
    for key in fitted.keys:
        name, line = key.rsplit(":", 1)
        assert int(line) >= 2, key
        if name == "published":
            assert int(line) in published, key
    for name, model, ms in fitted.measured:
        assert name == "published" and any(r.model == model and r.latency_ms == ms for r in published.values())


def test_validate_scores_only_rows_not_fitted(capsys: pytest.CaptureFixture[str]) -> None:
    profile = load_profile("coral-usb")
    rows = [r for r in rows_for_device(load_reference("published"), "coral-usb", "int8")
            if not r.is_power_run]  # a power run scores energy, not latency (--metric energy)
    checked, fitted = fitted_rows(profile).split(rows)
    assert checked and fitted
    code, out, _ = run_cli(capsys, ["validate", "--device", "coral-usb", "--reference", "published", "--json"])
    data = json.loads(out)
    assert code == 0 and data["n"] == len(checked) and data["rows_fitted_left_out"] == len(fitted)
    assert data["fitted_rows"]["n"] == len(fitted)
    assert {w["line"] for w in data["worst"]} <= {r.line for r in checked}
    code, out, _ = run_cli(capsys, ["validate", "--device", "coral-usb", "--reference", "published"])
    assert code == 0 and f"fitted rows (n={len(fitted)})" in out and "left out of the score" in out
    code, out, _ = run_cli(capsys, ["validate", "--device", "coral-usb", "--reference", "published",
                                    "--include-fitted", "--json"])
    data = json.loads(out)
    assert data["n"] == len(rows) and data["rows_fitted_left_out"] == 0 and "fitted_rows" not in data


def test_a_profile_fitted_to_every_row_has_nothing_to_check(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    ref = tmp_path / "two.csv"
    ref.write_text("model,latency_ms,energy_mj,device,source\nmobilenet_v1,2.4,,coral-usb,s\nmobilenet_v2,2.6,,coral-usb,s\n")
    data = load_profile("coral-usb").to_mapping()
    data["calibration"] = {"fitted_rows": ["two.csv:2", "two.csv:3"]}
    from simulator.hardware.profile import profile_from_mapping, to_toml

    path = tmp_path / "all-fitted.toml"
    path.write_text(to_toml(profile_from_mapping(data, str(path))))
    code, _, err = run_cli(capsys, ["validate", "--device", str(path), "--reference", str(ref)])
    assert code == 2 and "nothing left to check" in err
    code, out, _ = run_cli(capsys, ["validate", "--device", str(path), "--reference", str(ref), "--include-fitted"])
    assert code == 0 and "2 rows" in out


def test_validate_energy_leaves_fitted_rows_out_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from simulator.hardware.profile import profile_from_mapping, to_toml

    data = load_profile("coral-devboard").to_mapping()
    data["calibration"] = {"fitted_rows": ["published:146"]}  # DeepEdgeBench's MobileNetV2 row
    path = tmp_path / "devboard-fitted.toml"
    path.write_text(to_toml(profile_from_mapping(data, str(path))))
    argv = ["validate", "--device", str(path), "--reference", "published", "--metric", "energy", "--json"]
    code, out, _ = run_cli(capsys, argv)
    assert code == 0 and [r["line"] for r in json.loads(out)["energy"]["rows"]] == [147]
    code, out, _ = run_cli(capsys, [*argv, "--include-fitted"])
    assert code == 0 and sorted(r["line"] for r in json.loads(out)["energy"]["rows"]) == [146, 147]
