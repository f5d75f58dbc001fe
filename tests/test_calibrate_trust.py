"""Calibration you can trust: a cross-validated choice of what to fit, refusals, warnings,
prediction intervals and the stock / calibrated / MACs-proxy comparison of `validate`."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from graphs.spaces.nasbench201 import sample, spec
from simulator import Predictor, intervals
from simulator.calibrate import calibrate
from simulator.cli import main
from simulator.hardware.profile import Profile, load_profile
from simulator.reference import ReferenceRow, reference_graphs
from simulator.selection import Candidate, Design, ParamSet, Score, choose, score
from simulator.validate import predict_ms


@pytest.fixture(scope="module")
def base() -> Profile:
    # Fixed values, so the test does not move when the shipped profile is re-estimated.
    return load_profile("pixel1-cpu").replace(**{
        "efficiency.conv": 0.5, "efficiency.pointwise": 0.5, "efficiency.depthwise": 0.3,
        "overhead.per_op_s": 5e-6, "runtime.prune_dead_ops": False,
    })


@pytest.fixture(scope="module")
def specs() -> list[str]:
    return [spec(a) for a in sample(40, seed=3, connected=True)]


def measured(device: Profile, specs: list[str], noise: float, seed: int = 0) -> np.ndarray:
    """Latencies of `device` with multiplicative log-normal noise of sigma `noise`."""
    graphs = reference_graphs([ReferenceRow(s, 1.0, None, "x", "t") for s in specs])
    return predict_ms(device, graphs) * np.exp(np.random.default_rng(seed).normal(0, noise, len(specs)))


def rows_of(specs: list[str], ms: np.ndarray, file: str = "dev.csv") -> list[ReferenceRow]:
    return [ReferenceRow(s, float(v), None, "dev", "t", file, i + 2)
            for i, (s, v) in enumerate(zip(specs, ms, strict=True))]


def write_csv(path: Path, specs: list[str], ms: np.ndarray) -> Path:
    path.write_text("model,latency_ms,energy_mj,device,source\n"
                    + "".join(f'"{s}",{float(v)!r},,dev,t\n' for s, v in zip(specs, ms, strict=True)))
    return path


# -- the choice ------------------------------------------------------------------------
def test_a_uniformly_slower_device_is_fitted_by_one_scale(base: Profile, specs: list[str]) -> None:
    """Every time 3x longer, plus 5 % noise: nothing but the scale is worth fitting, and
    cross-validation says so; the fit ranks no worse than the base."""
    truth = base.replace(**{f"efficiency.{c}": base.get(f"efficiency.{c}") / 3
                            for c in ("conv", "pointwise", "depthwise", "dense", "elementwise", "pool")},
                         **{"overhead.per_op_s": 3 * 5e-6, "memory.dram_bw_bytes_per_s":
                            base.get("memory.dram_bw_bytes_per_s") / 3,
                            "memory.cache_bw_bytes_per_s": base.get("memory.cache_bw_bytes_per_s") / 3})
    ms = measured(truth, specs, 0.05)
    result = calibrate(base, rows_of(specs[:20], ms[:20]))
    record = result.profile.calibration
    assert result.chosen.startswith("scale")
    assert record["chosen"] in ("scale", "scale + fixed costs")
    assert result.cv["fit"].mape <= result.cv["base"].mape
    # One scale of 3 on every time: mobilenet_v2 is 3x slower too (within the noise).
    ratio = predict_ms(result.profile, reference_graphs([ReferenceRow("mobilenet_v2", 1, None, "x", "t")]))[0] / \
        predict_ms(base, reference_graphs([ReferenceRow("mobilenet_v2", 1, None, "x", "t")]))[0]
    assert ratio == pytest.approx(3.0, rel=0.1)
    assert set(record["cv"]) == {"base", "fit", "proxy"}
    assert list(record["fitted_rows"]) == list(range(2, 22))


def test_a_device_with_other_category_costs_gets_them(base: Profile, specs: list[str]) -> None:
    """Convolutions 2.5x slower and dispatch 4x dearer (1 % noise): a richer set wins the
    cross-validation and predicts the other 20 rows far better than one scale."""
    truth = base.replace(**{"efficiency.conv": 0.2, "overhead.per_op_s": 2e-5})
    ms = measured(truth, specs, 0.01)
    result = calibrate(base, rows_of(specs[:20], ms[:20]))
    assert result.chosen.split(",")[0] != "scale"
    assert result.cv["fit"].mape < result.cv["base"].mape / 2
    held = predict_ms(result.profile, reference_graphs(rows_of(specs[20:], ms[20:])))
    assert np.mean(np.abs(held - ms[20:]) / ms[20:]) < 0.03


def test_cross_validation_never_prefers_a_fit_worse_than_one_scale(base: Profile, specs: list[str]) -> None:
    """Pure noise around a scaled base (20 %): whatever is chosen, its leave-one-out MAPE
    is no worse than the base with one fitted scale."""
    truth = base.replace(**{"overhead.per_op_s": 1e-5})
    for seed in range(3):
        ms = measured(truth, specs, 0.2, seed)
        result = calibrate(base, rows_of(specs[:20], ms[:20]))
        assert result.cv["fit"].mape <= result.cv["base"].mape


def candidate(name: str, groups: int, prior: float, y: np.ndarray, errors: np.ndarray) -> Candidate:
    """A candidate whose leave-one-out predictions miss `y` by `errors` (relative, over)."""
    loo = y * (1 + errors)
    pset = ParamSet(name, tuple((i,) for i in range(groups)))
    return Candidate(Design(None, pset), prior, loo, score(loo, y), np.abs(errors))  # type: ignore[arg-type]


def test_a_bigger_set_wins_only_by_more_than_one_standard_error() -> None:
    """The one-standard-error rule: 20 rows, a 4-field set 0.3 points better than one scale on
    average but with row-to-row differences of ±3 points (standard error 0.7) loses to it;
    0.3 points better on every row (standard error 0) it wins. Within a set, the strongest
    prior the rule admits; among sets it admits, the one that ranks the rows best."""
    y = np.linspace(5.0, 15.0, 20)
    one = 0.05 + 0.01 * np.sin(np.arange(20.0))
    alternate = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
    noisy = [candidate("scale", 1, 0.0, y, one),
             candidate("scale + fixed costs", 4, 0.01, y, one + 0.03 * alternate - 0.003)]
    assert noisy[1].cv.mape < noisy[0].cv.mape
    assert choose(noisy).design.pset.name == "scale"
    steady = [noisy[0], candidate("scale + fixed costs", 4, 0.01, y, one - 0.003),
              candidate("scale + fixed costs", 4, 0.3, y, one - 0.003 + 0.001 * alternate)]
    assert choose(steady).prior_weight == 0.3
    # as accurate as one scale (5 % on every row) but with no rows swapped: the bigger set
    rows = np.arange(1.0, 21.0)
    swapped = candidate("scale", 1, 0.0, rows, 0.05 * alternate)
    ranked = candidate("scale + fixed costs", 4, 0.01, rows, np.full(20, 0.05))
    assert ranked.cv.kendall == 1.0 > swapped.cv.kendall
    assert choose([swapped, ranked]) is ranked
    # never above the ceiling (the base with one scale), whatever the rule admits
    assert choose(steady, ceiling=0.0).cv.mape == min(c.cv.mape for c in steady)


def test_warnings_fit_below_proxy_and_fields_far_from_base(base: Profile) -> None:
    from simulator.calibrate import _warnings

    cv = {"base": Score(0.1, 0.7), "fit": Score(0.05, 0.54), "proxy": Score(0.08, 0.66)}
    moved = base.replace(**{"efficiency.pointwise": 0.02})
    out = _warnings(base, moved, {"efficiency.pointwise": 0.5}, {"efficiency.pointwise": 0.02}, cv)
    assert len(out) == 2
    assert "below the MACs proxy" in out[0] and "0.54 vs 0.66" in out[0]
    assert "efficiency.pointwise 0.5 -> 0.02" in out[1]
    # The zoo model whose prediction moves most is a pointwise-heavy one, with its figures.
    assert "mobilenet" in out[1] and " ms" in out[1]
    assert _warnings(base, base, {"efficiency.pointwise": 0.5}, {"efficiency.pointwise": 0.3},
                     {**cv, "fit": Score(0.05, 0.7)}) == ()


# -- refusals --------------------------------------------------------------------------
def refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref: Path, *extra: str) -> str:
    out = tmp_path / "never.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--reference", str(ref), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert not out.exists() and list(tmp_path.glob(".never.toml*")) == []
    return err


def test_refuses_one_row(capsys: pytest.CaptureFixture[str], tmp_path: Path, specs: list[str]) -> None:
    ref = write_csv(tmp_path / "one.csv", specs[:1], np.array([5.0]))
    assert "at least 3" in refused(capsys, tmp_path, ref)


def test_refuses_duplicated_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path, specs: list[str]) -> None:
    ref = write_csv(tmp_path / "dup.csv", [specs[0]] * 2 + [specs[1]] * 10, np.linspace(5, 6, 12))
    assert "2 distinct models" in refused(capsys, tmp_path, ref)


def test_refuses_constant_latencies(capsys: pytest.CaptureFixture[str], tmp_path: Path, specs: list[str]) -> None:
    ref = write_csv(tmp_path / "flat.csv", specs[:12], np.full(12, 5.0))
    assert "all 12 latencies are 5 ms" in refused(capsys, tmp_path, ref)


def test_refuses_train_larger_than_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, specs: list[str]
) -> None:
    ref = write_csv(tmp_path / "small.csv", specs[:12], np.linspace(5, 6, 12))
    assert "--train 1000: the reference has only 12 rows" in refused(capsys, tmp_path, ref, "--train", "1000")


# -- intervals -------------------------------------------------------------------------
def test_conformal_quantiles_by_hand() -> None:
    res = np.log(np.arange(1, 20) / 10)  # 19 residuals: ratios 0.1 ... 1.9
    # n = 19: the 0.9 quantile is the ceil(20 * 0.9) = 18th smallest, the 0.1 quantile the
    # floor(20 * 0.1) = 2nd smallest; 0.95 needs the 19th, 0.99 more residuals than there are.
    assert intervals.ratio_quantile(res, 0.9) == pytest.approx(1.8)
    assert intervals.ratio_quantile(res, 0.1) == pytest.approx(0.2)
    assert intervals.ratio_quantile(res, 0.95) == pytest.approx(1.9)
    with pytest.raises(Exception, match="needs at least 99"):
        intervals.ratio_quantile(res, 0.99)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, base: Profile, specs: list[str]) -> tuple[Path, Path, np.ndarray]:
    """A profile calibrated on the first 20 rows of a 40-row file (5 % noise)."""
    folder = tmp_path_factory.mktemp("fit")
    truth = base.replace(**{"efficiency.conv": 0.2, "overhead.per_op_s": 2e-5})
    ms = measured(truth, specs, 0.05)
    ref = write_csv(folder / "dev.csv", specs, ms)
    out = folder / "mine.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--set", "efficiency.conv=0.5",
                 "--reference", str(ref), "--out", str(out), "--train", "20"]) == 0
    return out, ref, ms


def test_predict_interval_and_quantile(
    fitted: tuple[Path, Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, _ = fitted
    capsys.readouterr()
    profile = load_profile(str(out))
    record = tomllib.loads(out.read_text())["calibration"]["intervals"]["latency"]
    res = np.sort(record["log_residuals"])
    assert len(res) == 20 and "leave-one-out" in record["backed_by"]
    assert main(["predict", "mobilenet_v2", "--device", str(out), "--interval", "0.8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # 80 %: the floor(21 * 0.1) = 2nd and ceil(21 * 0.9) = 19th smallest of 20 residuals.
    assert data["latency_ms_low"] == pytest.approx(data["latency_ms"] * math.exp(res[1]))
    assert data["latency_ms_high"] == pytest.approx(data["latency_ms"] * math.exp(res[18]))
    assert data["latency_ms_low"] < data["latency_ms"] * 1.01 and data["latency_ms_high"] > data["latency_ms"] * 0.99
    assert main(["predict", "mobilenet_v2", "--device", str(out), "--interval", "0.8"]) == 0
    assert "80% interval: latency" in capsys.readouterr().out
    p = Predictor(profile)
    plain, q90 = p.predict(["mobilenet_v2"])[0], p.predict(["mobilenet_v2"], quantile=0.9)[0]
    assert q90 == pytest.approx(plain * math.exp(res[18]))  # ceil(21 * 0.9) = 19th


def test_stock_profile_without_validation_gives_no_interval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "mobilenet_v2", "--device", "pixel1-cpu", "--interval", "0.8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency_ms_low"] is None and data["latency_ms_high"] is None
    assert data["interval_backed_by"].startswith("none")
    with pytest.raises(Exception, match="no latency interval"):
        Predictor("pixel1-cpu").predict(["mobilenet_v2"], quantile=0.9)


def test_validate_side_by_side_leaves_fitted_rows_out(
    fitted: tuple[Path, Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    out, ref, _ = fitted
    capsys.readouterr()
    assert main(["validate", "--device", str(out), "--reference", str(ref), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 20 and data["rows_fitted_left_out"] == 20
    assert data["stock"]["device"] == "pixel1-cpu"
    assert data["mape"] < data["stock"]["mape"]
    assert 0.0 <= data["interval"]["coverage"] <= 1.0 and data["interval"]["level"] == 0.8
    assert main(["validate", "--device", str(out), "--reference", str(ref)]) == 0
    text = capsys.readouterr().out
    assert "calibrated" in text and "stock pixel1-cpu" in text and "MACs proxy" in text
    assert "80% interval covers" in text and "20 rows the profile was fitted to are left out" in text


# -- the README example ------------------------------------------------------------------
def test_readme_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's calibrate / validate / predict --interval walk-through, with what the
    README says about it: the fit holds on the 733 other cells, the pointwise efficiency
    falls from the stock value to about 0.03 and a warning says so with the zoo models it moves."""
    from refdata import refdata_path

    ref = str(refdata_path("latbench-mobile-cpu-sd855-kryo485-int8.csv"))
    out = str(tmp_path / "my-phone.toml")
    assert main(["calibrate", "--device", "pixel4-cpu", "--reference", ref, "--train", "20", "--seed", "0",
                 "--out", out]) == 0
    text = capsys.readouterr().out
    assert "chosen by leave-one-out:" in text and "held out: 733 rows" in text
    warning = next(line for line in text.splitlines() if line.startswith("warning: fields moved"))
    stock_pointwise = load_profile("pixel4-cpu").get("efficiency.pointwise")
    assert f"efficiency.pointwise {stock_pointwise:.3g} -> 0.0" in warning
    assert "zoo models whose prediction moves most" in warning
    assert main(["validate", "--device", out, "--reference", ref, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 733 and data["rows_fitted_left_out"] == 20
    assert data["kendall"] >= 0.85 and data["mape"] <= 0.05
    # The stock profile was fitted on 30 other rows of this file (tools/fit_stock_profiles.py).
    assert data["stock"]["device"] == "pixel4-cpu" and data["stock"]["mape"] <= 0.15
    assert 0.7 <= data["interval"]["coverage"] <= 0.9
    assert main(["predict", "mobilenet_v2", "--device", out, "--interval", "0.8", "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["latency_ms_low"] < pred["latency_ms"] < pred["latency_ms_high"]
    assert 80 <= pred["latency_ms"] <= 140  # "about 110 ms", from 6.6 ms stock
    assert load_profile(out).get("efficiency.pointwise") == pytest.approx(0.03, abs=0.01)


def test_energy_interval_where_energy_is_calibrated(
    fitted: tuple[Path, Path, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A profile whose `[calibration.intervals]` also has an `energy` table (what an energy
    calibration records) gets `energy_mj_low` / `_high` from those residuals."""
    out, _, _ = fitted
    text = out.read_text()
    energy = tmp_path / "with-energy.toml"
    energy.write_text(text + '\n[calibration.intervals.energy]\nmethod = "test"\nbacked_by = "test rows"\n'
                      "log_residuals = [-0.3, -0.2, -0.1, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]\n")
    capsys.readouterr()
    assert main(["predict", "mobilenet_v2", "--device", str(energy), "--interval", "0.8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # n = 10: the floor(11 * 0.1) = 1st and ceil(11 * 0.9) = 10th smallest residual.
    assert data["energy_mj_low"] == pytest.approx(data["energy_mj"] * math.exp(-0.3))
    assert data["energy_mj_high"] == pytest.approx(data["energy_mj"] * math.exp(0.3))
    assert "latency_ms_low" in data
