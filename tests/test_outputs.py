"""Output files: every writer refuses an unwritable target in one line before any work,
writes through a temporary sibling, replaces an output folder whole, and leaves files with
ordinary permissions (issue 18: "Output paths", "files from calibrate/export/measure are
mode 0600")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from graphs import EdgesimError, NetBuilder
from graphs.files import MARKER, atomic_file, atomic_folder, check_target, write_text
from tests.cli_check import files_under, one_line_error, run_cli


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    b = NetBuilder("tiny", (1, 3, 32, 32))
    b.conv_bn_act(8, 3, 2, "relu")
    b.global_pool()
    b.flatten()
    b.dense(10)
    path = tmp_path / "tiny.json"
    b.build().save(path)
    return str(path)


def _writers(tiny: str, ref: Path) -> dict[str, list[str]]:
    """Each writing command with its output argument last (filled in by the test)."""
    return {
        "sweep": ["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1e-6", "--models", tiny,
                  "--workers", "1", "--no-progress", "--out"],
        "pareto": ["pareto", "--device", "pixel1-cpu", "--models", "mobilenet_v2", "--out"],
        "study": ["study", "seed", "--quick", "--out"],
        "export": ["export", tiny, "--out"],
        "measure": ["measure", tiny, "--repeat", "1", "--warmup", "0", "--out"],
        "validate": ["validate", "--device", "pixel1-cpu", "--reference", str(ref), "--plot"],
        "calibrate": ["calibrate", "--device", "pixel1-cpu", "--reference", str(ref), "--out"],
    }


FOLDER_WRITERS = {"sweep", "pareto", "study"}


@pytest.fixture
def ref(tmp_path: Path) -> Path:
    path = tmp_path / "ref.csv"
    path.write_text("model,latency_ms,energy_mj,device,source\nmobilenet_v2,20,,d,s\nmobilenet_v1,25,,d,s\n"
                    "mnasnet_a1,24,,d,s\nmobilenet_v3_small,6,,d,s\n")
    return path


@pytest.mark.parametrize("writer", ["sweep", "pareto", "study", "export", "measure", "validate", "calibrate"])
def test_every_writer_refuses_bad_targets_in_one_line(writer, tiny, ref, tmp_path, capsys):
    argv = _writers(tiny, ref)[writer]
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("keep me\n")
    a_folder = tmp_path / "a_folder"
    a_folder.mkdir()
    (a_folder / "mine.txt").write_text("the user's\n")
    suffix = {"export": ".onnx", "measure": ".csv", "validate": ".png", "calibrate": ".toml"}.get(writer, "")
    bad = ["", str(a_file / f"under{suffix}"), f"/proc/edgesim-test{suffix}"]
    bad.append(str(a_file) if writer in FOLDER_WRITERS else str(a_folder))
    if writer in FOLDER_WRITERS:
        bad.append(str(a_folder))  # a folder of someone else's files is never replaced
    before = files_under(tmp_path)
    for target in bad:
        line = one_line_error(capsys, [*argv, target])
        assert "Traceback" not in line
    assert files_under(tmp_path) == before
    assert a_file.read_text() == "keep me\n" and (a_folder / "mine.txt").read_text() == "the user's\n"


def test_unwritable_folder_is_refused_before_the_work(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = one_line_error(capsys, ["export", "mobilenet_v2", "--out", str(locked / "m.onnx")])
    assert "permission denied" in line


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_and_folders_get_ordinary_modes(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_text(tmp_path / "deep" / "er" / "f.txt", "x")  # parents are created
        with atomic_folder(tmp_path / "out") as staging:
            (staging / "a.csv").write_text("a")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask


def test_cli_writers_leave_0644_files(tiny, ref, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        outs = {"export": tmp_path / "m.onnx", "calibrate": tmp_path / "fit.toml", "validate": tmp_path / "v.png",
                "measure": tmp_path / "host.csv"}
        argv = _writers(tiny, ref)
        for writer, out in outs.items():
            code, _, err = run_cli(capsys, [*argv[writer], str(out)])
            assert code == 0, err
            assert stat.S_IMODE(out.stat().st_mode) == 0o644, writer
    finally:
        os.umask(old)
    assert not [p for p in files_under(tmp_path) if p.startswith(".")]  # no temporary file left


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write("half of the new")
        raise RuntimeError
    assert target.read_text() == "old" and files_under(tmp_path) == {"f.txt"}


def test_folder_is_replaced_whole_and_a_failure_keeps_the_old_one(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as staging:
        (staging / "old_figure.png").write_text("1")
        (staging / "table.csv").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(out) as staging:
        (staging / "table.csv").write_text("half")
        raise RuntimeError
    assert files_under(out) == {MARKER, "old_figure.png", "table.csv"} and (out / "table.csv").read_text() == "old"
    with atomic_folder(out) as staging:
        (staging / "table.csv").write_text("new")
    assert files_under(out) == {MARKER, "table.csv"}  # the old run's figure does not linger
    assert files_under(tmp_path) == {"out", f"out/{MARKER}", "out/table.csv"}


def test_an_empty_existing_folder_is_accepted(tmp_path):
    (tmp_path / "empty").mkdir()
    assert check_target(tmp_path / "empty", folder=True) == tmp_path / "empty"
    with pytest.raises(EdgesimError, match="longer than 255 bytes"):
        check_target(tmp_path / ("d" * 300))


def test_sweep_replaces_its_previous_folder_whole(tiny, tmp_path, capsys):
    out = tmp_path / "sw"
    base = ["sweep", "--device", "pixel1-cpu", "--models", tiny, "--workers", "1", "--no-progress", "--out", str(out)]
    assert run_cli(capsys, [*base, "--set", "per_op_s=1e-6,1e-5", "--set", "dram_bw_bytes_per_s=1e9,1e10"])[0] == 0
    assert (out / "sweep_heatmap_tiny.json.png").exists() or any(out.glob("sweep_heatmap_*.png"))
    assert run_cli(capsys, [*base, "--set", "per_op_s=1e-6,1e-5"])[0] == 0
    assert not list(out.glob("sweep_heatmap_*.png"))  # one setting: no heat map, and the old one is gone
    assert files_under(tmp_path) == {"tiny.json", "sw", "sw/sweep.csv", "sw/sweep_lines.png", f"sw/{MARKER}"}
