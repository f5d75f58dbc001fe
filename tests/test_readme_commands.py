"""The README's commands that no other test ran (issue 18): `models`, `predict --per-op /
--csv / --allow-unknown`, `Report.to_csv`, `pareto --space --n --metric energy`, the default
zoo-wide `pareto`, `sweep --scheduler` from the command line, and the full `study seed`
with its agree/disagree verdicts. Each checks the numbers it prints against their source
(the graph, `predict`, a hand computation or a published figure)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re

import numpy as np
import pytest

from graphs import build, entries
from graphs.spaces import nasbench201 as nb
from simulator import Predictor, predict
from simulator.cli import main
from simulator.report import CSV_COLUMNS
from simulator.studies.pareto import pareto_mask
from simulator.studies.seed import EDGE_TPU, MOBILE_CPU, STORY_PAIR, run_seed
from simulator.studies.seed_report import verdicts
from tests.cli_check import finite_numbers, run_cli


def ok(capsys, argv: list[str]) -> str:
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    assert finite_numbers(out), out
    return out


def test_models_lists_the_zoo_with_published_sizes(capsys):
    out = ok(capsys, ["models"])
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == {e.name for e in entries()}
    # MobileNetV2 1.0/224: 300 M MACs and 72.0 % top-1 (Sandler et al. 2018, Table 4).
    assert float(rows["mobilenet_v2"][1]) == pytest.approx(300, rel=0.01)
    assert rows["mobilenet_v2"][4:6] == ["72", "top1"]
    # ResNet-50: 4.1 G MACs, 25.6 M parameters (He et al. 2016; torchvision's count).
    assert float(rows["resnet50"][1]) == pytest.approx(4100, rel=0.01)
    assert float(rows["resnet50"][2]) == pytest.approx(25.6, rel=0.01)


def test_predict_per_op_and_csv_add_up_to_the_total(capsys):
    argv = ["predict", "mobilenet_v3_large", "--device", "coral-usb"]
    report = predict("mobilenet_v3_large", "coral-usb")
    per_op = ok(capsys, [*argv, "--per-op"])
    table = [line.split() for line in per_op.splitlines()[2:] if line.split()[:1] and "/" in line.split()[0]]
    assert len(table) == len(report.rows)
    assert {row[2] for row in table} == {"tpu", "cpu"}  # hard-swish falls back to the host CPU
    rows = list(csv.DictReader(io.StringIO(ok(capsys, [*argv, "--csv"]))))
    # one row per op, then one per graph term (transfers, invocation): they add up
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == len(report.energy_rows())
    assert [r["name"] for r in rows[: len(report.rows)]] == [r.name for r in report.rows]
    assert sum(float(r["latency_ms"]) for r in rows) == pytest.approx(report.latency_s * 1e3, rel=1e-9)
    assert sum(float(r["energy_mj"]) for r in rows) == pytest.approx(report.energy_j * 1e3, rel=1e-9)
    data = json.loads(ok(capsys, [*argv, "--json"]))
    assert data["latency_ms"] == pytest.approx(report.latency_s * 1e3, rel=1e-12)


def test_report_to_csv_is_the_per_op_rows():
    report = predict("mobilenet_v2", "pixel4-cpu")
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    # the op rows, then the CPU's one graph term: the runtime's per-inference set-up
    assert [r["name"] for r in rows] == [r.name for r in report.rows] + ["inference"]
    rows = rows[:-1]
    for parsed, row in zip(rows, report.rows, strict=True):
        assert float(parsed["latency_ms"]) == pytest.approx(row.latency_s * 1e3, rel=1e-12)
        assert int(parsed["macs"]) == row.op.macs
    assert sum(int(r["macs"]) for r in rows) == build("mobilenet_v2").macs  # folded BN adds no MACs


def test_pareto_over_a_space_sample_by_energy(tmp_path, capsys):
    archs = nb.sample(12, seed=3, connected=True)
    acc = tmp_path / "nb201-acc.csv"
    acc.write_text("model,accuracy\n" + "".join(f"\"{nb.spec(a)}\",{80 + i * 0.7:.1f}\n" for i, a in enumerate(archs)))
    out = tmp_path / "p"
    printed = ok(capsys, ["pareto", "--device", "coral-usb", "--space", "nasbench201", "--n", "5", "--accuracy",
                          str(acc), "--metric", "energy", "--seed", "1", "--out", str(out)])
    with (out / "pareto.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and list(rows[0]) == ["device", "model", "accuracy", "energy_mj", "macs", "rank", "pareto"]
    energy = Predictor("coral-usb").predict([r["model"] for r in rows], metric="energy")
    assert [float(r["energy_mj"]) for r in rows] == pytest.approx(energy, rel=1e-5)
    front = pareto_mask([float(r["accuracy"]) for r in rows], energy)
    assert [r["pareto"] == "True" for r in rows] == front.tolist()
    assert f"coral-usb: 5 points, {front.sum()} on the front" in printed


def test_default_pareto_covers_every_published_zoo_variant(tmp_path, capsys):
    out = tmp_path / "p"
    ok(capsys, ["pareto", "--device", "pixel4-edgetpu", "--out", str(out)])
    with (out / "pareto.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    wanted = {spec for e in entries() if e.task == "classification" and e.metric == "top1" for spec in e.accuracy}
    assert {r["model"] for r in rows} == wanted
    best = max(rows, key=lambda r: float(r["accuracy"]))
    fastest = min(rows, key=lambda r: float(r["latency_ms"]))
    assert best["pareto"] == fastest["pareto"] == "True"  # the extremes are always on the front
    lat = predict(fastest["model"], "pixel4-edgetpu").latency_s * 1e3
    assert float(fastest["latency_ms"]) == pytest.approx(lat, rel=1e-5)
    assert (out / "pareto.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_sweep_on_a_dask_scheduler_from_the_cli(tmp_path, capsys):
    distributed = pytest.importorskip("dask.distributed")
    argv = ["sweep", "--device", "coral-usb", "--set", "array_rows=32,64", "--models", "mobilenet_v1",
            "--no-progress"]
    ok(capsys, [*argv, "--workers", "1", "--out", str(tmp_path / "local")])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        ok(capsys, [*argv, "--scheduler", c.scheduler_address, "--out", str(tmp_path / "dask")])
    local, dask = ((tmp_path / d / "sweep.csv").read_text() for d in ("local", "dask"))
    assert local == dask and len(local.splitlines()) == 3


@pytest.fixture(scope="module")
def full_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed") / "edgesim-out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["study", "seed", "--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.mark.slow
def test_full_study_verdicts_follow_its_own_numbers(full_study):
    out, printed = full_study
    verdict_lines = [line for line in printed.splitlines() if line.startswith("[")]
    assert verdict_lines and all(re.match(r"\[(agrees|DISAGREES|skipped)\] ", line) for line in verdict_lines)
    with (out / "points.csv").open() as handle:
        points = {r["model"]: r for r in csv.DictReader(handle)}
    assert len(points) > 20  # every published variant, not the --quick few
    a, b = (points[m] for m in STORY_PAIR)
    cpu = float(a[f"latency_ms_{MOBILE_CPU}"]) / float(b[f"latency_ms_{MOBILE_CPU}"])
    tpu = float(a[f"latency_ms_{EDGE_TPU}"]) / float(b[f"latency_ms_{EDGE_TPU}"])
    story = next(line for line in verdict_lines if "One model, opposite verdicts" in line)
    assert f"{cpu:.2f}x on {MOBILE_CPU}, {tpu:.2f}x on {EDGE_TPU}" in story
    assert story.startswith("[agrees]" if cpu > tpu else "[DISAGREES]")
    with (out / "power.csv").open() as handle:
        power = {r["model"]: float(r["avg_power_w_30fps"]) for r in csv.DictReader(handle)}
    line = next(line for line in verdict_lines if "Edge TPU power at 30 fps" in line)
    subject, ratio = re.search(r": (\S+) [\d.]+ W vs .* ([\d.]+)x$", line).groups()
    assert float(ratio) == pytest.approx(power[subject] / power[STORY_PAIR[1]], abs=0.006)
    assert line.startswith("[agrees]" if float(ratio) < 0.5 else "[DISAGREES]")
    for line in verdict_lines:  # each published latency: the mark says whether it is within ±20 %
        found = re.search(r"published ([\d.]+) ms .*simulated ([\d.]+) ms", line)
        if found:
            pub, sim = map(float, found.groups())
            off = abs(sim / pub - 1)
            if abs(off - 0.2) > 0.01:  # the printed numbers are rounded: at the bar either mark is right
                assert line.startswith("[agrees]" if off <= 0.2 else "[DISAGREES]"), line
    assert (out / "report.md").read_text().count("|") > 100


@pytest.mark.slow
def test_verdicts_turn_to_disagree_when_the_numbers_do():
    result = run_seed(quick=True)
    agreed = {v.claim: v.agrees for v in verdicts(result)}
    story = next(c for c in agreed if c.startswith("One model, opposite verdicts"))
    assert agreed[story] is True
    # Swap the two devices' latencies: the story now runs the other way round.
    swapped = tuple(dataclasses.replace(p, latency_ms={EDGE_TPU: p.latency_ms[MOBILE_CPU],
                                                       MOBILE_CPU: p.latency_ms[EDGE_TPU]}) for p in result.points)
    flipped = {v.claim: v for v in verdicts(dataclasses.replace(result, points=swapped))}
    assert flipped[story].agrees is False
    ratios = [float(x) for x in re.findall(r"([\d.]+)x", flipped[story].detail)]
    assert ratios[0] < ratios[1]
    assert np.isfinite(ratios).all()
