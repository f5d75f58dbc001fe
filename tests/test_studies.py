"""Pareto fronts and what-if sweeps."""

import csv

import numpy as np
import pytest

from graphs import EdgesimError, NetBuilder
from simulator.cli import main
from simulator.studies.pareto import pareto_mask
from simulator.studies.sweep import grid, sweep, write_rows
from simulator.textfmt import parse_setting


def test_pareto_mask_by_hand():
    # (accuracy, latency): b dominates a (better and faster); c is slower but more accurate;
    # d ties c on accuracy at more cost; e equals b exactly (neither dominates the other);
    # f ties c on cost with less accuracy (dominated: cost is compared with <=, not <).
    acc = [70, 72, 75, 75, 72, 74]
    lat = [10, 8, 20, 25, 8, 20]
    assert pareto_mask(acc, lat).tolist() == [False, True, True, False, True, False]


def test_parse_setting_and_grid():
    assert parse_setting("array_rows=32,64") == ("array_rows", [32, 64])
    assert parse_setting("clock_hz=2.5e8, 5e8") == ("clock_hz", [2.5e8, 5e8])
    assert parse_setting("fallback=per_op") == ("fallback", ["per_op"])
    with pytest.raises(EdgesimError, match="FIELD=V1"):
        parse_setting("array_rows")
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"},
    ]


@pytest.fixture
def model_files(tmp_path):
    paths = []
    for width in (8, 32):
        b = NetBuilder(f"net{width}", (1, 3, 64, 64))
        b.conv_bn_act(width, 3, 2, "relu6")
        b.dw_bn_act(3, 1, "relu6")
        b.conv(2 * width)
        b.global_pool()
        b.flatten()
        b.dense(10)
        path = tmp_path / f"net{width}.json"
        b.build().save(path)
        paths.append(str(path))
    return paths


def test_sweep_rows_follow_the_overrides(model_files):
    settings = {"overhead.per_op_s": [1e-6, 1e-4], "memory.dram_bw_bytes_per_s": [1e9, 1e10]}
    rows = sweep("pixel1-cpu", settings, model_files, workers=1, progress=False)
    assert len(rows) == 8
    assert [r["overhead.per_op_s"] for r in rows[::2]] == [1e-6, 1e-6, 1e-4, 1e-4]
    by = {(r["overhead.per_op_s"], r["memory.dram_bw_bytes_per_s"], r["model"]): r["latency_ms"] for r in rows}
    for model in model_files:
        assert by[(1e-4, 1e9, model)] > by[(1e-6, 1e9, model)]  # more overhead: slower
        assert by[(1e-6, 1e10, model)] <= by[(1e-6, 1e9, model)]  # more bandwidth: never slower


def test_sweep_rejects_unknown_field_before_running(model_files):
    with pytest.raises(EdgesimError, match="no field 'array_rowz'"):
        sweep("pixel1-cpu", {"array_rowz": [1]}, model_files, progress=False)


def _csv(rows, settings, path):
    write_rows(rows, path, list(settings))
    return path.read_text()


@pytest.mark.slow
def test_sweep_same_csv_locally_in_parallel_and_on_dask(model_files, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    settings = {"overhead.per_op_s": [1e-6, 1e-5, 1e-4], "memory.dram_bw_bytes_per_s": [1e9, 1e10]}
    serial = _csv(sweep("pixel1-cpu", settings, model_files, workers=1, progress=False), settings, tmp_path / "a")
    parallel = _csv(sweep("pixel1-cpu", settings, model_files, workers=2, progress=False), settings, tmp_path / "b")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = sweep("pixel1-cpu", settings, model_files, scheduler=cluster.scheduler_address, progress=False)
    assert serial == parallel == _csv(on_dask, settings, tmp_path / "c")


def test_sweep_cli_writes_csv_and_figures(model_files, tmp_path):
    out = tmp_path / "out"
    code = main(["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1e-6,1e-5", "--set",
                 "dram_bw_bytes_per_s=1e9,1e10", "--models", *model_files, "--out", str(out),
                 "--workers", "1", "--no-progress"])
    assert code == 0
    with (out / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and {"per_op_s", "dram_bw_bytes_per_s", "latency_ms"} <= set(rows[0])
    assert (out / "sweep_lines.png").stat().st_size > 0
    assert len(list(out.glob("sweep_heatmap_*.png"))) == 2


def test_pareto_cli_with_accuracy_file(model_files, tmp_path, capsys):
    acc = tmp_path / "acc.csv"
    acc.write_text(f"model,accuracy\n{model_files[0]},60\n{model_files[1]},70\n")
    out = tmp_path / "p"
    assert main(["pareto", "--device", "pixel1-cpu", "--accuracy", str(acc), "--out", str(out)]) == 0
    with (out / "pareto.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    lat = np.array([float(r["latency_ms"]) for r in rows])
    assert (np.diff(lat) >= 0).all()  # sorted by cost
    # the small net is faster and the big one more accurate: both on the front
    assert [r["pareto"] for r in rows] == ["True", "True"]
    assert (out / "pareto.png").stat().st_size > 0


def test_pareto_cli_errors(tmp_path, capsys):
    bad = tmp_path / "acc.csv"
    bad.write_text("model,acc\nx,1\n")
    assert main(["pareto", "--device", "pixel1-cpu", "--accuracy", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "model,accuracy" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
