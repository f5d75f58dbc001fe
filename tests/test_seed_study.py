"""`edgesim study seed`: the MobileNetEdgeTPU study, on its reduced (--quick) set."""

import csv
import re

import pytest

import simulator.studies.seed as seed
import simulator.studies.seed_report as seed_report
from graphs import EdgesimError
from simulator.api import predict
from simulator.cli import main
from simulator.studies.seed import EDGE_TPU, MOBILE_CPU, Point, family_models, run_seed
from simulator.studies.seed_report import rival_at_accuracy, rival_at_latency, write_study

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed") / "edgesim-out"
    assert main(["study", "seed", "--out", str(out), "--quick"]) == 0
    return out


def table_row(report: str, section: str, first_cell: str) -> dict[str, str]:
    """The row of the first markdown table in `section` whose first cell is `first_cell`,
    as {column header: cell}."""
    body = report.split(section, 1)[1]
    lines = [line for line in body.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == first_cell:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"no row {first_cell} in {section}")


def test_quick_study_writes_report_csvs_and_figures(study):
    for name in ("accuracy_latency.png", "power.png", "energy.png", "detection.png", "breakdown.png"):
        data = (study / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    report = (study / "report.md").read_text()
    for heading in ("## 1. One model", "## 2. Average Edge TPU power", "## 3. Object detection",
                    "## 4. Where the time goes", "## Where the simulator agrees"):
        assert heading in report
    assert "Quick run" in report
    # Nothing left behind by the staging folder.
    assert sorted(p.name for p in study.parent.iterdir()) == ["edgesim-out"]


def test_report_numbers_are_the_predicted_ones(study):
    report = (study / "report.md").read_text()
    row = table_row(report, "## 1. One model", "`mobilenet_edgetpu`")
    for device in (EDGE_TPU, MOBILE_CPU):
        assert row[f"{device} sim ms"] == f"{predict('mobilenet_edgetpu', device).latency_s * 1e3:.2f}"
    assert row["pixel4-edgetpu published ms"].startswith("3.6 ")  # tensorflow/models slim README

    power = table_row(report, "## 2. Average Edge TPU power", "`mobilenet_v3_large_minimalistic`")
    minimalistic = predict("mobilenet_v3_large_minimalistic", EDGE_TPU, fps=30)
    assert power["sim avg W"] == f"{minimalistic.avg_power_w:.3f}"
    assert power["busy power"] == f"{minimalistic.energy_by_cause()['busy power'] * 1e3:.3f}"

    det = table_row(report, "## 3. Object detection", "`mobilenet_edgetpu`")
    expected = predict("ssdlite(backbone=mobilenet_edgetpu)", EDGE_TPU).latency_s * 1e3
    assert det[f"{EDGE_TPU} sim ms"] == f"{expected:.2f}"
    assert det["mAP (blog)"] == "24.3"


def test_power_gap_by_hand():
    """What the reference lacks for the blog's "under half": A_ref ≥ 2 A_subject + idle / fps,
    with A the energy per inference above the idle floor."""
    profile = seed.load_profile(EDGE_TPU)
    subject, reference = "mobilenet_edgetpu(width=0.75)", "mobilenet_v3_large_minimalistic"
    gap = seed.power_gap(profile, subject, reference, 45e-12)
    above = {}
    for spec in (subject, reference):
        r = predict(spec, EDGE_TPU)
        above[spec] = r.energy_j - profile.energy.idle_power_w * r.latency_s
    idle_share = profile.energy.idle_power_w / seed.FPS
    assert gap.missing_mj == pytest.approx((2 * above[subject] + idle_share - above[reference]) * 1e3)
    # closing it with Edge TPU busy time alone, at the profile's busy power
    assert gap.busy_needed_ms - gap.reference_busy_ms == pytest.approx(
        gap.missing_mj / profile.energy.static_power_w)
    assert gap.dram_bytes_needed == pytest.approx(gap.missing_mj * 1e-3 / 45e-12)
    # with those changes the ratio would be exactly one half
    at_30 = {s: profile.energy.idle_power_w + seed.FPS * a for s, a in above.items()}
    closed = at_30[reference] + seed.FPS * gap.missing_mj * 1e-3
    assert at_30[subject] / closed == pytest.approx(0.5)



def test_points_csv_is_predict_to_six_digits(study):
    # The CSVs carry 6 significant digits (no `3.7477388999999994`): rel 5e-6 is their rounding.
    with (study / "points.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["model"] for r in rows} == {spec for _, spec, _ in family_models(quick=True)}
    for r in rows:
        for device in (EDGE_TPU, MOBILE_CPU):
            want = predict(r["model"], device).latency_s * 1e3
            cell = r[f"latency_ms_{device}"]
            assert len(cell.replace(".", "").lstrip("0")) <= 6
            assert float(cell) == pytest.approx(want, rel=5e-6)


def test_story_direction_on_the_simulator(study):
    """The blog's mechanism: against minimalistic MobileNetV3-Large, MobileNetEdgeTPU loses
    more on the CPU (time ~ MACs, 4.7x the MACs) than on the Edge TPU."""
    ratio = {
        d: predict("mobilenet_edgetpu", d).latency_s / predict("mobilenet_v3_large_minimalistic", d).latency_s
        for d in (EDGE_TPU, MOBILE_CPU)
    }
    assert ratio[MOBILE_CPU] > ratio[EDGE_TPU]
    report = (study / "report.md").read_text()
    verdict = table_row(report, "## Where the simulator agrees", next(
        line.split("|")[1].strip() for line in report.splitlines() if "One model, opposite verdicts:" in line))
    assert verdict["simulator"] == "**agrees**"
    assert verdict["numbers"] == f"{ratio[MOBILE_CPU]:.2f}x on {MOBILE_CPU}, {ratio[EDGE_TPU]:.2f}x on {EDGE_TPU}"


def test_breakdown_slices_add_up_to_the_latency(study):
    with (study / "breakdown.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["device"] for r in rows} == set(seed.HARDWARE) & set(seed.device_names())
    for model in seed.BREAKDOWN_MODELS:
        for device in {r["device"] for r in rows}:
            total = sum(float(r["latency_ms"]) for r in rows if r["model"] == model and r["device"] == device)
            # Slices of 6 significant digits each: their sum holds to about 1e-5.
            assert total == pytest.approx(predict(model, device).latency_s * 1e3, rel=1e-5)


def point(model: str, family: str, top1: float, ms: float) -> Point:
    return Point(family, model, top1, 0, {"d": ms}, {"d": False}, None, None)


def test_rivals_by_hand():
    subject = point("s", seed.SUBJECT, 75.0, 3.0)
    points = [
        subject,
        point("fast_weak", "A", 72.0, 2.0),
        point("equal_time", "A", 74.0, 3.0),  # ties count as "no more latency"
        point("slow_strong", "A", 76.0, 5.0),
        point("faster_stronger", "B", 75.5, 4.0),
        point("other_family", "C", 80.0, 1.0),  # not a rival
    ]
    assert rival_at_latency(subject, points, "d", ["A", "B"]).model == "equal_time"
    assert rival_at_accuracy(subject, points, "d", ["A", "B"]).model == "faster_stronger"
    assert rival_at_accuracy(subject, points, "d", ["A"]).model == "slow_strong"
    assert rival_at_latency(point("x", seed.SUBJECT, 70.0, 1.5), points, "d", ["A"]) is None


def test_missing_device_is_skipped_with_a_note(monkeypatch, tmp_path):
    names = seed.device_names()
    monkeypatch.setattr(seed, "device_names", lambda: [n for n in names if n != "adreno-640"])
    result = run_seed(quick=True)
    assert "adreno-640" in result.missing and "adreno-640" not in result.devices
    write_study(result, tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text()
    assert re.search(r"\*\*Skipped:\*\* no profile for [^\n]*`adreno-640`", report)
    with (tmp_path / "out" / "breakdown.csv").open() as handle:
        assert "adreno-640" not in {r["device"] for r in csv.DictReader(handle)}


def test_an_error_leaves_no_output(monkeypatch, tmp_path):
    result = run_seed(quick=True)

    def broken(*args):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(seed_report, "plot_breakdown", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_study(result, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the output nor the staging folder


def test_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["study", "seed", "--out", str(target), "--quick"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(EdgesimError):
        write_study(run_seed(quick=True), target)


def test_published_latencies_skip_rows_the_profile_was_fitted_on():
    """Issue 12: a claim is never checked against a row its profile was fitted on.
    pixel4-edgetpu's Edge TPU core was fitted on MobileNetEdgeTPU 0.75 at 3.1 ms
    (published.csv line 67); MobileNetEdgeTPU 1.0 at 3.6 ms (line 68) was not."""
    from simulator.fitted import fitted_rows
    from simulator.reference import load_reference

    profiles = {d: seed.load_profile(d) for d in (EDGE_TPU, MOBILE_CPU)}
    models = {"mobilenet_edgetpu", "mobilenet_edgetpu(width=0.75)", "mobilenet_v2", "mobilenet_v3_large"}
    published = seed.published_latencies(profiles, models)
    assert (("mobilenet_edgetpu(width=0.75)", EDGE_TPU)) not in published
    assert published[("mobilenet_edgetpu", EDGE_TPU)].latency_ms == 3.6
    # Every pair it keeps comes from a row no profile of the pair was fitted on.
    rows = load_reference("published")
    for (model, device), pub in published.items():
        matches = [r for r in rows if seed.canonical(r.model) == model and r.device.split("@")[0] == device
                   and r.latency_ms == pub.latency_ms]
        assert matches and not any(r in fitted_rows(profiles[device]) for r in matches), (model, device)
    fitted = [r for r in rows if r.device.startswith(f"{EDGE_TPU}@") and r in fitted_rows(profiles[EDGE_TPU])]
    assert {seed.canonical(r.model) for r in fitted} & models == {"mobilenet_edgetpu(width=0.75)"}
