"""The constrained-search example on a reduced budget: every chosen cell meets the latency
budget on edgesim's own numbers (the 90 % quantile when the profile is calibrated)."""

import csv
import importlib.util
import itertools
import math
from pathlib import Path

import pytest

from graphs.spaces import nasbench201
from simulator.hardware.profile import load_profile, to_toml
from simulator.predictor import Predictor

pytest.importorskip("optuna")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "constrained_search.py"


def load_example():
    spec = importlib.util.spec_from_file_location("constrained_search", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def accuracy_csv(tmp_path_factory):
    """A made-up accuracy table over every cell: each conv edge adds accuracy (3×3 more)."""
    path = tmp_path_factory.mktemp("acc") / "acc.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "accuracy"])
        for code in itertools.product(range(len(nasbench201.OPS)), repeat=len(nasbench201.EDGES)):
            writer.writerow([nasbench201.spec(code), 60 + 4 * code.count(3) + 2 * code.count(2) + 0.5 * code.count(1)])
    return path


@pytest.fixture
def calibrated_profile(tmp_path):
    """coral-usb with a validated latency interval: measured/predicted from 0.95 to 1.4."""
    data = load_profile("coral-usb").to_mapping()
    ratios = [0.95, 1.0, 1.02, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4]
    data["calibration"] = {"intervals": {"latency": {
        "method": "test", "backed_by": "made-up residuals", "log_residuals": [math.log(r) for r in ratios]}}}
    path = tmp_path / "coral-calibrated.toml"
    from simulator.hardware.profile import profile_from_mapping

    path.write_text(to_toml(profile_from_mapping(data, str(path))))
    return str(path)


def read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
@pytest.mark.parametrize("calibrated", [False, True])
def test_chosen_cells_meet_the_budget(accuracy_csv, calibrated_profile, tmp_path, capsys, calibrated):
    example = load_example()
    device = calibrated_profile if calibrated else "coral-usb"
    budget = 1.2
    out = tmp_path / "out"
    assert example.main(["--accuracy", str(accuracy_csv), "--device", device, "--budget-ms", str(budget),
                         "--trials", "60", "--population", "12", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert ("90% quantile" in printed) == calibrated
    trace, front = read(out / "trace.csv"), read(out / "front.csv")
    assert len(trace) == 60 and front
    predictor = Predictor(device)
    quantile = 0.9 if calibrated else None
    latencies = predictor.predict([r["model"] for r in front], quantile=quantile)
    assert all(lat <= budget for lat in latencies)  # edgesim's own numbers, recomputed
    for row, lat in zip(front, latencies, strict=True):
        assert float(row["latency_ms"]) == pytest.approx(lat, rel=1e-8)
        assert row["model"] in printed
    if calibrated:  # conformal rank ⌈(10 + 1) × 0.9⌉ = 10: the largest ratio, 1.4
        point = predictor.predict([front[0]["model"]])[0]
        assert float(front[0]["latency_ms"]) == pytest.approx(1.4 * point, rel=1e-8)
    # the front is exactly the non-dominated cells within budget
    feasible = {r["model"]: (float(r["accuracy"]), float(r["latency_ms"]))
                for r in trace if r["within_budget"] == "True"}
    expected = {m for m, (a, lat) in feasible.items()
                if not any(a2 >= a and l2 <= lat and (a2, l2) != (a, lat) for a2, l2 in feasible.values())}
    assert {r["model"] for r in front} == expected


def test_errors(tmp_path, capsys):
    example = load_example()
    bad = tmp_path / "acc.csv"
    bad.write_text("model,accuracy\nmobilenet_v2,71.8\n")
    assert example.main(["--accuracy", str(bad), "--device", "coral-usb", "--budget-ms", "1",
                         "--out", str(tmp_path / "o")]) == 2
    assert "no rows for search space" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
