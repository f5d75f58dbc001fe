"""Lookup tables: the sum of a network's block entries plus the graph terms, read back from
the written file, reproduces predict() wherever pricing is additive."""

import csv

import numpy as np
import pytest

from graphs import EdgesimError
from graphs.spaces import fbnet
from simulator import predict
from simulator.cli import main
from simulator.predictor import Predictor
from simulator.results import TermKind


def read_csv_table(path):
    """What a user's search code does with the CSV: block latency/energy by (position, choice),
    and the graph terms to add once."""
    blocks, fixed = {}, np.zeros(2)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            value = np.array([float(row["latency_ms"] or "nan"), float(row["energy_mj"] or "nan")])
            if row["kind"] == "block":
                for position in row["positions"].split():
                    blocks[position, row["choice"]] = value
            elif row["kind"] == "graph":
                fixed += value
    return blocks, fixed


def from_table(blocks, fixed, arch):
    positions = [("stem", "stem"), *((f"block{n}", c) for n, c in enumerate(fbnet.parse(arch))), ("head", "head")]
    return sum(blocks[p] for p in positions) + fixed


@pytest.mark.parametrize("device, dataset", [
    ("pixel4-cpu", "cifar100"), ("coral-usb", "cifar100"), ("gtx-1080ti", "cifar100"),
    ("pixel4-cpu", "imagenet"), ("coral-usb", "imagenet"),
])
def test_table_sum_reproduces_predict_where_additive(device, dataset, tmp_path, capsys):
    out = tmp_path / "lut.csv"
    assert main(["lut", "--space", "fbnet", "--device", device, "--dataset", dataset, "--out", str(out)]) == 0
    blocks, fixed = read_csv_table(out)
    # every choice at every position has an entry
    assert {(f"block{n}", c) for n in range(fbnet.BLOCKS) for c in fbnet.CHOICES} <= set(blocks)
    archs = fbnet.sample(40, seed=5)
    specs = [fbnet.spec(a, dataset=dataset) for a in archs]
    both = Predictor(device).predict(specs, metrics=("latency", "energy"))
    additive = 0
    for i, (arch, spec) in enumerate(zip(archs, specs, strict=True)):
        streamed = [t for t in predict(spec, device).terms if t.kind == TermKind.PARAMETER_STREAMING]
        expected = np.array([both["latency"][i], both["energy"][i]])
        got = from_table(blocks, fixed, arch)
        if streamed:  # weights past the Edge TPU's cache: the sum leaves exactly that term out
            term = np.array([streamed[0].latency_s, streamed[0].energy_j]) * 1e3
            assert got[0] == pytest.approx(expected[0] - term[0], rel=1e-6)
            continue
        additive += 1
        np.testing.assert_allclose(got, expected, rtol=1e-6)  # the file rounds to 9 digits
    assert additive >= 10
    if device == "coral-usb":
        assert "parameter streaming" in capsys.readouterr().out


def test_yaml_has_ofa_shape(tmp_path):
    yaml = pytest.importorskip("yaml")
    out = tmp_path / "lut.yaml"
    assert main(["lut", "--space", "fbnet", "--device", "pixel4-cpu", "--out", str(out)]) == 0
    table = yaml.safe_load(out.read_text())
    key = "k3_e6-input:32x32x16-output:32x32x24"  # block 1 (stride 1 on CIFAR), expansion 6
    assert table[key]["mean"] == table[key]["latency_ms"] > 0 and "block1" in table[key]["positions"]
    csv_blocks, _ = read_csv_table(_csv(tmp_path))
    assert table[key]["latency_ms"] == pytest.approx(csv_blocks["block1", "k3_e6"][0], rel=1e-9)
    # a CPU's one graph term: the runtime's per-inference set-up; nothing per network
    assert set(table["_graph_terms"]) == {"inference"} and table["_per_network"] == {}


def _csv(tmp_path):
    out = tmp_path / "lut.csv"
    assert main(["lut", "--space", "fbnet", "--device", "pixel4-cpu", "--out", str(out)]) == 0
    return out


def test_errors(tmp_path, capsys):
    assert main(["lut", "--space", "fbnet", "--device", "pixel4-cpu", "--out", str(tmp_path / "lut.txt")]) == 2
    assert ".yaml" in capsys.readouterr().err and not (tmp_path / "lut.txt").exists()
    with pytest.raises(EdgesimError, match="fixed shapes"):
        from simulator.studies.lut import uniform_archs

        uniform_archs("nasbench201")
