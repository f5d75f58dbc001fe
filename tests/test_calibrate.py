"""Calibration round trip: data generated from a profile with known coefficients is fitted
back from the unperturbed base; the fitted profile is written and loads anywhere."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from graphs import NetBuilder, build
from graphs.graph import OpGraph
from graphs.spaces.nasbench201 import sample, spec
from simulator.calibrate import calibrate, split_rows
from simulator.cli import main
from simulator.engine import simulate
from simulator.hardware.profile import Profile, load_profile, to_toml
from simulator.reference import ReferenceRow
from simulator.validate import predict_ms, validate

# Field -> factor applied to the base value to make the "true" device.
PERTURBATION = {
    "efficiency.conv": 0.5,
    "efficiency.pointwise": 0.5,
    "efficiency.depthwise": 0.5,
    "overhead.per_op_s": 2.0,
}


@pytest.fixture(scope="module")
def base() -> Profile:
    # Fixed values, so the test does not move when the shipped profile is re-estimated.
    return load_profile("pixel1-cpu").replace(**{
        "efficiency.conv": 0.5, "efficiency.pointwise": 0.5, "efficiency.depthwise": 0.3,
        "overhead.per_op_s": 5e-6, "runtime.prune_dead_ops": True,
    })


@pytest.fixture(scope="module")
def truth(base: Profile) -> Profile:
    return base.replace(**{k: base.get(k) * f for k, f in PERTURBATION.items()})


def probe(i: int, rng: np.random.Generator) -> OpGraph:
    """Inverted-residual nets from 16 to 224 pixels and 1 to 9 blocks: tiny ones are
    all dispatch overhead, large ones all arithmetic, so every perturbed field shows."""
    res = int(rng.choice([16, 32, 64, 128, 224]))
    c = int(rng.choice([8, 16, 32, 64]))
    b = NetBuilder(f"probe{i}", (1, 3, res, res))
    b.conv_bn_act(c, 3, 1)
    b.conv_bn_act(c, 3, 1)
    for _ in range(int(rng.integers(1, 10))):
        x = b.x
        b.conv_bn_act(c * 4, 1, 1, "relu6")
        b.dw_bn_act(3, 1, "relu6")
        b.conv(c, 1)
        b.bn()
        b.add(x, b.x)
    b.global_pool()
    b.flatten()
    b.dense(10)
    return b.build()


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory, truth: Profile) -> list[ReferenceRow]:
    """30 probe graphs saved as JSON (a graph file is a model spec), timed on `truth`."""
    folder = tmp_path_factory.mktemp("probes")
    rng = np.random.default_rng(0)
    out = []
    for i in range(30):
        graph = probe(i, rng)
        path = folder / f"{graph.name}.json"
        graph.save(path)
        out.append(ReferenceRow(str(path), simulate(graph, truth).latency_s * 1e3, None,
                                "synthetic", "round trip", "probes.csv", i + 2))
    return out


def test_recovers_known_coefficients(base: Profile, truth: Profile, rows: list[ReferenceRow]) -> None:
    result = calibrate(base, rows)
    for path in PERTURBATION:
        before, after = result.fitted[path]
        assert before == base.get(path)
        assert after == pytest.approx(truth.get(path), rel=0.04), path
    assert result.metrics.mape < 0.01
    assert result.base_metrics.mape > 0.2  # the fit had something to do
    assert result.choices == {"prune_dead_ops": True}  # pruning changes none of these graphs


def test_ten_rows_are_enough(base: Profile, truth: Profile, rows: list[ReferenceRow]) -> None:
    train, held = split_rows(rows, 10, seed=0)
    assert len(train) == 10 and len(held) == 20
    result = calibrate(base, train, seed=0)
    assert validate(result.profile, held).metrics.mape < 0.01
    for path in PERTURBATION:
        assert result.profile.get(path) == pytest.approx(truth.get(path), rel=0.10), path


def test_split_is_seeded_and_disjoint(rows: list[ReferenceRow]) -> None:
    a_train, a_held = split_rows(rows, 12, seed=3)
    b_train, _ = split_rows(rows, 12, seed=3)
    c_train, _ = split_rows(rows, 12, seed=4)
    assert a_train == b_train != c_train
    assert {r.line for r in a_train}.isdisjoint(r.line for r in a_held)
    assert len(a_train) + len(a_held) == len(rows)
    assert split_rows(rows, None) == (rows, [])


@pytest.fixture(scope="module")
def nb201() -> tuple[list[str], list[OpGraph]]:
    """20 NAS-Bench-201 networks (PyTorch build) whose cells have `none` edges."""
    specs = [spec(a) for a in sample(60, seed=1) if "none" in a][:20]
    return specs, [build(s) for s in specs]


def timed(specs: list[str], graphs: list[OpGraph], device: Profile) -> list[ReferenceRow]:
    return [ReferenceRow(s, ms, None, "x", "t", "nb201.csv", i + 2)
            for i, (s, ms) in enumerate(zip(specs, predict_ms(device, graphs), strict=True))]


def test_decides_whether_the_runtime_pruned_dead_ops(
    base: Profile, nb201: tuple[list[str], list[OpGraph]]
) -> None:
    """Data from a runtime that did not remove the ops no output depends on is recognised
    as such, and the other way round, whatever the base profile said."""
    for pruned in (False, True):
        device = base.replace(**{"runtime.prune_dead_ops": pruned, "efficiency.conv": 0.3})
        start = base.replace(**{"runtime.prune_dead_ops": not pruned})
        result = calibrate(start, timed(*nb201, device))
        assert result.choices == {"prune_dead_ops": pruned}
        assert result.metrics.mape < 0.01


def test_fields_the_rows_cannot_see_stay_at_base(
    base: Profile, nb201: tuple[list[str], list[OpGraph]]
) -> None:
    # NAS-Bench-201 has no depthwise convolution: the prior keeps that field where it
    # was instead of letting it wander to a bound, while the conv field moves.
    device = base.replace(**{"efficiency.conv": 0.25})
    result = calibrate(base, timed(*nb201, device)[:10])
    assert result.profile.get("efficiency.depthwise") == base.get("efficiency.depthwise")
    assert result.profile.get("efficiency.conv") == pytest.approx(0.25, rel=0.05)


def test_calibration_record_and_toml_round_trip(
    base: Profile, rows: list[ReferenceRow], tmp_path: Path
) -> None:
    result = calibrate(base, rows[:12], name="my-phone", seed=7, reference="probes.csv")
    record = result.profile.calibration
    assert result.profile.name == "my-phone"
    assert record["base"] == "pixel1-cpu" and record["reference"] == "probes.csv"
    assert record["rows"] == 12 and record["seed"] == 7
    assert set(record["before"]) == set(record["after"]) == set(result.fitted)
    assert record["train"]["mape"] == pytest.approx(result.metrics.mape)
    path = tmp_path / "my-phone.toml"
    path.write_text(to_toml(result.profile))
    loaded = load_profile(str(path))
    assert loaded.calibration == record
    graph = probe(99, np.random.default_rng(5))
    assert simulate(graph, loaded).latency_s == simulate(graph, result.profile).latency_s


# -- the command line -------------------------------------------------------------------
def write_reference(tmp_path: Path, rows: list[ReferenceRow]) -> Path:
    ref = tmp_path / "ref.csv"
    ref.write_text("model,latency_ms,energy_mj,device,source\n"
                   + "".join(f"{r.model},{r.latency_ms!r},,synthetic,t\n" for r in rows))
    return ref


def test_cli_calibrate_writes_a_profile_that_predicts(
    rows: list[ReferenceRow], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = write_reference(tmp_path, rows)
    out = tmp_path / "fitted.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--reference", str(ref), "--out", str(out),
                 "--train", "15", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert "15 of 30 rows" in text and "held out: 15 rows" in text
    data = tomllib.loads(out.read_text())
    assert data["name"] == "fitted" and data["calibration"]["seed"] == 2
    assert main(["predict", "mobilenet_v2", "--device", str(out), "--json"]) == 0
    assert '"device": "fitted"' in capsys.readouterr().out


def test_cli_calibrate_error_writes_nothing(
    rows: list[ReferenceRow], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = write_reference(tmp_path, rows[:5])
    ref.write_text(ref.read_text() + "mobilenet_v2,0,,synthetic,t\n")
    out = tmp_path / "never.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--reference", str(ref), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{ref}:7:" in err
    assert not out.exists() and list(tmp_path.glob(".never.toml*")) == []


def test_cli_calibrate_set_changes_the_base_before_fitting(
    rows: list[ReferenceRow], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = write_reference(tmp_path, rows[:10])
    out = tmp_path / "int8.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--set", "precision=int8", "--set", "per_op_s=2e-6",
                 "--reference", str(ref), "--out", str(out)]) == 0
    data = tomllib.loads(out.read_text())
    assert data["precision"] == "int8"
    assert data["calibration"]["before"]["overhead.per_op_s"] == 2e-6
    bad = tmp_path / "bad.toml"
    assert main(["calibrate", "--device", "pixel1-cpu", "--set", "precision=fp64",
                 "--reference", str(ref), "--out", str(bad)]) == 2
    assert "precision" in capsys.readouterr().err and not bad.exists()
