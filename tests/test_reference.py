"""Reference CSV loading: errors name the file and line, a bad row refuses the whole
file, and the shipped `published` set builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from refdata import refdata_path

from graphs.errors import EdgesimError
from simulator.reference import (
    ReferenceRow,
    load_reference,
    reference_graphs,
    rows_for_device,
    shipped_sets,
)

HEADER = "model,latency_ms,energy_mj,device,source\n"
GOOD = (
    "mobilenet_v2,64,,pixel1-cpu,paper A\n"
    '"mobilenet_v1(width=0.25, resolution=128)",6.2,1.5,pixel1-cpu,"paper B, table 2"\n'
)


def write(tmp_path: Path, text: str, name: str = "ref.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loads_rows_with_their_fields(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD)
    rows = load_reference(path)
    assert rows == [
        ReferenceRow("mobilenet_v2", 64.0, None, "pixel1-cpu", "paper A", str(path), 2),
        ReferenceRow("mobilenet_v1(width=0.25, resolution=128)", 6.2, 1.5, "pixel1-cpu",
                     "paper B, table 2", str(path), 3),
    ]


def test_columns_in_any_order_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "device,source,model,energy_mj,latency_ms\n\nx,s,mobilenet_v2,,3.5\n")
    (row,) = load_reference(path)
    assert (row.model, row.latency_ms, row.device, row.line) == ("mobilenet_v2", 3.5, "x", 3)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("resnet9000,5,,d,s", "unknown model 'resnet9000'"),
        ('"mobilenet_v2(width=",5,,d,s', "is not `name` or `name(key=value, ...)`"),
        ('"mobilenet_v2(depth=3)",5,,d,s', "unknown option 'depth'"),
        ("mobilenet_v2,0,,d,s", "latency_ms must be a positive number"),
        ("mobilenet_v2,-3,,d,s", "latency_ms must be a positive number"),
        ("mobilenet_v2,fast,,d,s", "latency_ms 'fast' is not a number"),
        ("mobilenet_v2,,,d,s", "latency_ms is empty"),
        ("mobilenet_v2,nan,,d,s", "latency_ms must be a positive number"),
        ("mobilenet_v2,5,-1,d,s", "energy_mj must be a positive number"),
        ("mobilenet_v2,5,,d", "4 fields, the header has 5"),
        ("mobilenet_v2,5,,,s", "empty device"),
    ],
)
def test_a_bad_row_refuses_the_file_naming_file_and_line(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    # The bad row is line 4, after two good ones: nothing of the file is returned.
    path = write(tmp_path, HEADER + GOOD + bad_line + "\n")
    with pytest.raises(EdgesimError) as err:
        load_reference(path)
    text = str(err.value)
    assert text.startswith(f"{path}:4: ")
    assert message in text
    assert "\n" not in text


def test_optional_boundary_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.strip() + ",boundary\n"
                 "mobilenet_v2,4.2,18.5,coral-devboard@int8,paper,board\n"
                 "mobilenet_v2,4.2,,coral-devboard@int8,paper,\n")
    with_boundary, without = load_reference(path)
    assert (with_boundary.boundary, without.boundary) == ("board", None)
    # A measured energy at a stated boundary is a power run; a latency-only row is not.
    assert with_boundary.is_power_run and not without.is_power_run
    assert load_reference(write(tmp_path, HEADER + GOOD, "plain.csv"))[0].boundary is None
    bad = write(tmp_path, HEADER.strip() + ",boundary\nmobilenet_v2,4.2,1,d,s,wall\n", "bad.csv")
    with pytest.raises(EdgesimError, match=r"bad.csv:2: boundary 'wall' is not one of chip, core-rail, "
                                           r"module, board, usb"):
        load_reference(bad)


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "model,energy_mj,device,source\nmobilenet_v2,,d,s\n")
    with pytest.raises(EdgesimError, match=re.escape(f"{path}:1: missing column latency_ms")):
        load_reference(path)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(EdgesimError, match="empty file"):
        load_reference(write(tmp_path, ""))
    with pytest.raises(EdgesimError, match="no rows"):
        load_reference(write(tmp_path, HEADER))


def test_unknown_reference_lists_the_shipped_sets() -> None:
    with pytest.raises(EdgesimError, match=r"no such reference file.*published"):
        load_reference("no-such-file.csv")


def test_a_graph_that_does_not_build_names_its_row(tmp_path: Path) -> None:
    # Parses and names a known model, but the arch string is not a NAS-Bench-201 cell.
    path = write(tmp_path, HEADER + "mobilenet_v2,5,,d,s\n\"nasbench201(arch='|bogus~0|')\",5,,d,s\n")
    rows = load_reference(path)
    with pytest.raises(EdgesimError, match=re.escape(f"{path}:3: ")):
        reference_graphs(rows)


def test_graphs_are_built_once_per_model(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD + "mobilenet_v2,70,,pixel2-cpu,paper C\n")
    graphs = reference_graphs(load_reference(path))
    assert graphs[0] is graphs[2]
    assert graphs[0].macs > graphs[1].macs


def rows(*devices: str) -> list[ReferenceRow]:
    return [ReferenceRow("mobilenet_v2", 1.0, None, d, "s", "f.csv", i) for i, d in enumerate(devices)]


def test_rows_for_device() -> None:
    campaign = rows("latbench/x", "latbench/x")
    assert rows_for_device(campaign, "pixel4-cpu", "int8") == campaign  # one device: all rows
    mixed = rows("pixel1-cpu@fp32", "pixel1-cpu@int8", "pixel1-cpu", "pixel2-cpu@fp32")
    assert [r.line for r in rows_for_device(mixed, "pixel1-cpu", "fp32")] == [0, 2]
    assert [r.line for r in rows_for_device(mixed, "pixel1-cpu", "int8")] == [1, 2]
    with pytest.raises(EdgesimError, match=r"no rows for device pixel2-cpu@int8; rows for other "
                       r"precisions: pixel2-cpu@fp32"):
        rows_for_device(mixed, "pixel2-cpu", "int8")


def test_published_set_ships_and_every_row_builds() -> None:
    assert "published" in shipped_sets()
    published = load_reference("published")
    assert len(published) >= 100
    graphs = reference_graphs(published)
    assert all(g.macs > 0 for g in graphs)
    # Every row names a profile and the precision it ran at, and cites where it came from.
    for row in published:
        profile, _, precision = row.device.partition("@")
        assert profile and "@" not in profile, row.device
        assert precision in ("fp32", "fp16", "int8"), row.device
        # power runs and their campaigns' latency runs are read from result files
        origins = ["published_energy.csv line"] + ([] if row.is_power_run else ["published-raw.csv line"])
        assert any(origin in row.source for origin in origins), row.where
    # MobileNetV3 paper Table 3: V3-Large 1.0 on the Pixel 1 big core, float, 51 ms.
    (v3,) = [r for r in published if r.model == "mobilenet_v3_large" and r.device == "pixel1-cpu@fp32"]
    assert v3.latency_ms == 51.0


def test_published_set_is_what_the_curation_script_makes() -> None:
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    raw = refdata_path("published-raw.csv")
    spec = importlib.util.spec_from_file_location("curate", root / "tools" / "curate_published.py")
    curate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curate)
    rows, _ = curate.curate(raw)
    shipped = (root / "simulator" / "data" / "published.csv").read_text(encoding="utf-8")
    assert curate.render(rows) == shipped, "run: python tools/curate_published.py"


def test_tsukamotos_quantized_mobilenet_v2_detector_is_plain_ssd() -> None:
    # Their tables say "SSDLite Mobilenet v2" for the INT8 and EdgeTPU runs, but the file
    # timed is ssd_mobilenet_v2_300x300_quant_coco (the TF1 zoo's quantized SSD); their FP32
    # SSDLite rows are the float SSDLite model.
    published = load_reference("published")
    tsukamoto = [r for r in published if "tf1_detection_model_zoo" in r.source and "MobileNetV2" in r.source]
    assert {(r.model, r.device) for r in tsukamoto if r.device.endswith("@int8")} == {
        ("ssd", "raspi4-cpu@int8"), ("ssd(postprocess=True)", "coral-usb@int8"),
        ("ssd(postprocess=True)", "coral-usb2@int8"), ("ssd(postprocess=True)", "coral-pcie@int8")}
    assert {r.model for r in tsukamoto if r.device.endswith("@fp32")} == {"ssdlite(resolution=300)"}
