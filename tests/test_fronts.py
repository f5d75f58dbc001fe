"""Non-dominated sorting: hand-checked fronts, a brute-force reference on random ties, and
the pareto CLI with several devices and metrics."""

import csv
import json
import tracemalloc

import numpy as np
import pytest

from graphs import EdgesimError
from graphs.spec import published_accuracy
from simulator.cli import main
from simulator.studies.pareto import nondominated_rank, pareto_mask


def brute_force_ranks(values: np.ndarray) -> np.ndarray:
    """Peel fronts by comparing every pair (all objectives minimised)."""
    ranks = np.full(len(values), -1)
    remaining = np.arange(len(values))
    rank = 0
    while remaining.size:
        sub = values[remaining]
        no_worse = (sub[None, :, :] <= sub[:, None, :]).all(axis=2)
        better = (sub[None, :, :] < sub[:, None, :]).any(axis=2)
        dominated = (no_worse & better).any(axis=1)
        ranks[remaining[~dominated]] = rank
        remaining = remaining[dominated]
        rank += 1
    return ranks


def test_two_objective_fronts_by_hand():
    # (accuracy up, latency down). Front 0: b, e (equal: neither dominates), c.
    # a is dominated by b only -> front 1; d is dominated by c -> front 1 (a does not dominate d).
    # f is dominated by a, b and e -> front 2.
    acc = [70, 72, 75, 75, 72, 69]
    lat = [10, 8, 20, 25, 8, 12]
    ranks = nondominated_rank(np.column_stack([acc, lat]), maximize=[True, False])
    assert ranks.tolist() == [1, 0, 0, 1, 0, 2]
    assert pareto_mask(acc, lat).tolist() == [r == 0 for r in ranks]


def test_three_objectives_by_hand():
    # accuracy, latency, energy. p2 beats p0 on latency but loses on energy: both survive;
    # p1 equals p0 except for a worse energy: dominated; p3 is worst everywhere.
    pts = [[75, 10, 5], [75, 10, 6], [75, 8, 7], [70, 12, 8]]
    ranks = nondominated_rank(pts, maximize=[True, False, False])
    assert ranks.tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_matches_brute_force_with_ties(k):
    rng = np.random.default_rng(k)
    for _ in range(15):
        values = rng.integers(0, 5, size=(rng.integers(1, 600), k)).astype(float)
        expected = brute_force_ranks(values)
        assert nondominated_rank(values).tolist() == expected.tolist()
        assert nondominated_rank(values, max_rank=1).tolist() == np.minimum(expected, 1).tolist()
        flipped = nondominated_rank(-values, maximize=[True] * k)
        assert flipped.tolist() == expected.tolist()


def test_bad_objectives():
    with pytest.raises(EdgesimError, match="NaN"):
        nondominated_rank([[1.0, float("nan")]])
    with pytest.raises(EdgesimError, match="maximize"):
        nondominated_rank([[1.0, 2.0]], maximize=[True])
    with pytest.raises(EdgesimError, match="shape"):
        nondominated_rank([1.0, 2.0])


def test_hundred_thousand_points_in_bounded_memory():
    # The old pairwise mask needed n^2 booleans (15,625 points: 734 MB).
    points = np.random.default_rng(0).random((100_000, 2))
    tracemalloc.start()
    mask = pareto_mask(points[:, 0], points[:, 1])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200e6
    # the front, checked the slow way on the front's neighbourhood: sorted by accuracy
    # (descending), the front is exactly where latency hits a new minimum
    order = np.lexsort((points[:, 1], -points[:, 0]))
    lat = points[order, 1]
    expected = np.zeros(len(points), dtype=bool)
    expected[order] = lat < np.minimum.accumulate(np.concatenate([[np.inf], lat[:-1]]))
    assert mask.tolist() == expected.tolist()


def test_pareto_cli_several_devices_and_metrics(tmp_path, capsys):
    out = tmp_path / "p"
    models = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_edgetpu", "mnasnet_a1", "mobilenet_v1"]
    args = ["pareto", "--models", *models, "--device", "pixel4-cpu", "--device", "pixel4-edgetpu",
            "--metric", "latency", "--metric", "energy", "--out", str(out)]
    assert main(args) == 0
    with (out / "pareto.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * len(models)
    for device in ("pixel4-cpu", "pixel4-edgetpu"):
        mine = [r for r in rows if r["device"] == device]
        objectives = np.array([[-float(r["accuracy"]), float(r["latency_ms"]), float(r["energy_mj"])] for r in mine])
        assert [int(r["rank"]) for r in mine] == brute_force_ranks(objectives).tolist()
        assert [r["pareto"] == "True" for r in mine] == [r["rank"] == "0" for r in mine]
    assert (out / "pareto.png").stat().st_size > 0
    assert main([*args, "--format", "json"]) == 0
    records = json.loads((out / "pareto.json").read_text())
    assert [r["model"] for r in records] == [r["model"] for r in rows]


def test_models_and_devices_json(capsys, tmp_path):
    from simulator.hardware.profile import device_names

    assert main(["devices", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    assert [d["device"] for d in devices] == device_names()
    assert {"kind", "precision", "calibrated", "description"} <= set(devices[0])
    assert main(["models", "--json"]) == 0
    models = {m["model"]: m for m in json.loads(capsys.readouterr().out)}
    v2 = models["mobilenet_v2"]
    # MobileNetV2 at 224: 300 M multiply-adds (Sandler et al. 2018, Table 4); its registered top-1
    assert v2["macs"] == pytest.approx(300e6, rel=0.01)
    assert v2["accuracy"] == published_accuracy("mobilenet_v2")[0]
    assert v2["accuracy_metric"] == "top1"
    assert models["nasbench201"]["macs"] is None
    assert main(["models", "--format", "parquet"]) == 2
    assert "output file" in capsys.readouterr().err
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    assert main(["models", "--format", "parquet", "--out", str(tmp_path / "m.parquet")]) == 0
    frame = pandas.read_parquet(tmp_path / "m.parquet")
    assert frame.set_index("model").loc["mobilenet_v2", "macs"] == v2["macs"]


class _Terminal:
    """A stand-in for stderr attached to a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_only_on_a_terminal_and_only_when_slow(monkeypatch, tmp_path, capsys):
    import sys

    from graphs.spaces import nasbench201
    from simulator import progress

    acc = tmp_path / "acc.csv"
    rows = [f'"{nasbench201.spec(a)}",{70 + i % 5}' for i, a in enumerate(nasbench201.sample(20, seed=1))]
    acc.write_text("model,accuracy\n" + "\n".join(rows) + "\n")
    args = ["pareto", "--device", "pixel1-cpu", "--space", "nasbench201", "--accuracy", str(acc),
            "--out", str(tmp_path / "p")]
    assert main(args) == 0  # stderr is not a terminal under pytest: no bar
    assert "model" not in capsys.readouterr().err
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # a loop this short stays under the real delay
    assert main(args) == 0
    assert "pixel1-cpu latency" in terminal.text and "model/s" in terminal.text
