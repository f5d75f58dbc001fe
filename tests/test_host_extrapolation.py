"""Issue 12 item 5: resolution and width extrapolation, checked on this machine.

Six zoo models at 96/128/160/224 px and widths 0.5/1.0 are timed with onnxruntime
(`measure_host`: the fastest of 30 runs spread over 6 passes). `host-cpu` is fitted on the
six 224 px width-1.0 rows only and must predict the other 42 within 12 % MAPE.

The fit held to the bar is the physics alone (below). `edgesim calibrate` on the same six
rows is printed by the script, not asserted: which parameter set its leave-one-out picks
flips with the timing noise of six rows of one size. On four measurements on 2026-11-30
(loads 0.8-2.6) it kept one scale twice (held-out MAPE 4.4 and 5.9 %) and twice preferred
scale + fixed costs by more than one standard error (leave-one-out 4.6 against 6.5 %),
moving overhead.per_op_s 1 -> 9 us to absorb MobileNetV3-Large's time, which the stock
profile prices 31-42 % too fast at every size: the 0.5-width 96 px rows then came out
70-110 % too slow (26.8 and 28.9 %). A test whose outcome is a coin flip would guard nothing.

- The physics alone: `host-cpu` with one fitted scale (calibrate's own first step, its
  "base, one fitted scale" column). Whether size carries over is decided by the memory
  levels: with the weights read at the old 15 GB/s DRAM estimate the small rows come out
  too slow (one scale: MAPE 19.8 %); read from the 32 MiB L3 that holds them
  across the timing loop, 6.0 % (tau 0.937; 14.6 % when measured at load 6-9).

`python tests/test_host_extrapolation.py` measures and prints the per-size table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from test_host_loop import measure_host

from simulator import selection
from simulator.cli import main as cli_main
from simulator.costmodels import model_class
from simulator.hardware.profile import Profile, load_profile
from simulator.measure import write_reference_csv
from simulator.reference import ReferenceRow, load_reference, reference_graphs
from simulator.validate import ValidationResult, metrics, predict_ms, validate

MODELS = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mnasnet_a1", "efficientnet_lite0",
          "proxylessnas_mobile")
WIDTHS = (0.5, 1.0)
RESOLUTIONS = (96, 128, 160, 224)
FITTED = "width=1.0, resolution=224"
SPECS = [f"{m}(width={w}, resolution={r})" for m in MODELS for w in WIDTHS for r in RESOLUTIONS]
BAR = 0.12


def measure_rows(folder: Path) -> tuple[list[ReferenceRow], list[ReferenceRow], str]:
    """(fitted rows, checked rows, how loaded the machine was) through the CSV a user gets."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    write_reference_csv(measure_host(SPECS), folder / "host.csv")
    seconds = time.perf_counter() - start
    return (*split(folder), f"measured in {seconds:.0f} s, load {load:.1f} -> {os.getloadavg()[0]:.1f}")


def split(folder: Path) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """The rows of `folder/host.csv` at 224 px width 1.0 (fitted), and the others."""
    rows = load_reference(folder / "host.csv")
    return [r for r in rows if FITTED in r.model], [r for r in rows if FITTED not in r.model]


def calibrate_as_user(fitted: Sequence[ReferenceRow], folder: Path) -> Profile:
    """`edgesim calibrate --device host-cpu` on the fitted rows' own CSV."""
    train = folder / "train.csv"
    lines = (folder / "host.csv").read_text().splitlines()
    train.write_text("\n".join([lines[0], *(line for line in lines[1:] if FITTED in line)]) + "\n")
    assert len(lines) - 1 == len(SPECS) and len(fitted) == len(MODELS)
    out = folder / "host-fit.toml"
    assert cli_main(["calibrate", "--device", "host-cpu", "--reference", str(train), "--out", str(out)]) == 0
    return load_profile(out)


def one_scale(fitted: Sequence[ReferenceRow]) -> Profile:
    """host-cpu with one multiplier on every time-bearing field, fitted to `fitted`."""
    base = load_profile("host-cpu")
    fields = selection.make_fields(base, model_class(base.kind).free_parameters(base))
    measured = np.array([r.latency_ms for r in fitted])
    graphs = reference_graphs(fitted)
    return selection.fit_scale(base, fields, measured, lambda p: predict_ms(p, graphs))


def size_table(check: ValidationResult) -> str:
    """Per width and resolution: rows, MAPE, Kendall tau, worst row."""
    lines = ["| width | px | n | MAPE | tau | worst |", "|---|---|---|---|---|---|"]
    for w in WIDTHS:
        for px in RESOLUTIONS:
            sub = [r for r in check.rows if f"width={w}, resolution={px})" in r.row.model]
            if not sub:
                continue
            m = metrics([r.predicted_ms for r in sub], [r.measured_ms for r in sub])
            worst = max(sub, key=lambda r: abs(r.predicted_ms / r.measured_ms - 1))
            lines.append(f"| {w} | {px} | {m.n} | {m.mape:.1%} | {m.kendall:.2f} | "
                         f"{worst.row.model.split('(')[0]} {worst.predicted_ms / worst.measured_ms - 1:+.0%} |")
    m = check.metrics
    lines.append(f"| all | | {m.n} | {m.mape:.1%} | {m.kendall:.3f} | |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def host_rows(tmp_path_factory) -> tuple[list[ReferenceRow], list[ReferenceRow], str, Path]:
    # With more runnable processes than cores the scheduler preempts a 10 ms inference
    # many times more often than a 1 ms one, inflating exactly the fitted 224 px rows
    # (1.6-2x at load 7.5 on 2 cores, 2026-11-30): no fastest-of-30 undoes that.
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        pytest.skip(f"machine loaded ({load:.1f} runnable on {cores} cores): 224 px timings are preempted")
    folder = tmp_path_factory.mktemp("host_extrapolation")
    return (*measure_rows(folder), folder)


@pytest.mark.slow
def test_one_scale_extrapolates_from_224_px_width_1(host_rows) -> None:
    fitted, checked, load, _ = host_rows
    check = validate(one_scale(fitted), checked)
    assert FITTED not in "".join(r.row.model for r in check.rows)
    report = f"host-cpu + one scale fitted on {len(fitted)} rows, {load}\n{size_table(check)}"
    print(report)
    assert check.metrics.n == 42
    assert check.metrics.mape <= BAR, report


if __name__ == "__main__":
    import shutil
    import sys
    import tempfile

    # `python tests/test_host_extrapolation.py [host.csv]`: measure, or score a CSV it wrote.
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            shutil.copy(sys.argv[1], Path(tmp) / "host.csv")
            fitted, checked = split(Path(tmp))
        else:
            fitted, checked, load = measure_rows(Path(tmp))
            shutil.copy(Path(tmp) / "host.csv", "host_extrapolation.csv")
            print(f"{load}; rows in host_extrapolation.csv")
        for name, profile in (("host-cpu (stock)", load_profile("host-cpu")),
                              ("host-cpu + one scale", one_scale(fitted)),
                              ("edgesim calibrate", calibrate_as_user(fitted, Path(tmp)))):
            print(f"\n{name}, fitted on the {len(fitted)} rows at {FITTED}:")
            print(size_table(validate(profile, checked)))
