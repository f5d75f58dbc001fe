"""Validation metrics against hand computations, the MACs proxy, and `edgesim validate`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from graphs.errors import EdgesimError
from simulator.cli import main
from simulator.engine import simulate
from simulator.hardware.profile import load_profile
from simulator.reference import ReferenceRow, reference_graphs
from simulator.validate import fit_proxy_scale, metrics, validate


def test_metrics_match_a_hand_computation() -> None:
    measured = [1.0, 2.0, 4.0, 8.0]
    predicted = [2.2, 1.9, 4.2, 9.0]
    m = metrics(predicted, measured)
    # relative errors 1.2, 0.05, 0.05, 0.125
    assert m.n == 4
    assert m.mape == pytest.approx((1.2 + 0.05 + 0.05 + 0.125) / 4)
    assert m.within_10pct == 0.5
    # differences 1.2, -0.1, 0.2, 1.0
    assert m.rmse == pytest.approx(math.sqrt((1.44 + 0.01 + 0.04 + 1.0) / 4))
    # predicted ranks 2,1,3,4 vs 1,2,3,4: Σd² = 2, ρ = 1 − 6·2/(4·15) = 0.8
    assert m.spearman == pytest.approx(0.8)
    # one discordant pair of six: τ = (5 − 1)/6
    assert m.kendall == pytest.approx(4 / 6)


def test_rank_metrics_need_two_distinct_values() -> None:
    m = metrics([3.0], [2.0])
    assert m.mape == pytest.approx(0.5) and math.isnan(m.kendall) and math.isnan(m.spearman)
    assert math.isnan(metrics([1.0, 1.0], [1.0, 2.0]).kendall)
    with pytest.raises(ValueError):
        metrics([], [])


def test_proxy_scale_minimises_relative_error() -> None:
    # r = macs/measured = (0.5, 1): s = Σr/Σr² = 1.5/1.25 = 1.2, and it is the minimum.
    assert fit_proxy_scale([1.0, 2.0], [2.0, 2.0]) == pytest.approx(1.2)

    def cost(s: float) -> float:
        return ((s * 1 - 2) / 2) ** 2 + ((s * 2 - 2) / 2) ** 2

    assert cost(1.2) < min(cost(1.19), cost(1.21))


SPECS = ("mobilenet_v1(width=0.25, resolution=128)", "mobilenet_v2(width=0.35, resolution=96)",
         "mobilenet_v3_small(resolution=128)")


def rows_from(latencies: list[float], specs: tuple[str, ...] = SPECS) -> list[ReferenceRow]:
    return [ReferenceRow(s, ms, None, "x", "test", "mem.csv", i + 2)
            for i, (s, ms) in enumerate(zip(specs, latencies, strict=True))]


def test_validate_scores_the_profile_and_the_proxy() -> None:
    profile = load_profile("pixel1-cpu")
    graphs = reference_graphs(rows_from([1.0, 1.0, 1.0]))
    own = [simulate(g, profile).latency_s * 1e3 for g in graphs]
    # Measurements 0 %, +20 % and −10 % away from the model's own predictions.
    result = validate(profile, rows_from([own[0], own[1] * 1.2, own[2] * 0.9]))
    assert result.metrics.mape == pytest.approx((0 + 0.2 / 1.2 + 0.1 / 0.9) / 3)
    assert [r.predicted_ms for r in result.rows] == pytest.approx(own)
    assert result.worst(1)[0].row.line == 3  # −16.7 % is the worst
    # Measurements proportional to MACs: the proxy is exact, whatever the model says.
    macs = [g.macs for g in graphs]
    proxy_exact = validate(profile, rows_from([m * 2e-6 for m in macs]))
    assert proxy_exact.proxy.mape == pytest.approx(0, abs=1e-12)
    assert proxy_exact.proxy_scale_ms_per_mac == pytest.approx(2e-6)


def test_energy_is_scored_where_measured() -> None:
    profile = load_profile("pixel1-cpu")
    (graph,) = reference_graphs(rows_from([1.0], SPECS[:1]))
    energy_mj = simulate(graph, profile).energy_j * 1e3
    rows = [ReferenceRow(SPECS[0], 5.0, energy_mj * 1.5, "x", "t", "m", 2),
            ReferenceRow(SPECS[1], 5.0, None, "x", "t", "m", 3)]
    result = validate(profile, rows)
    assert result.energy is not None and result.energy.n == 1
    assert result.energy.mape == pytest.approx(0.5 / 1.5)
    assert validate(profile, rows[1:]).energy is None


# -- the command line -------------------------------------------------------------------
def test_cli_validate_published_on_pixel1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--device", "pixel1-cpu", "--reference", "published", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] > 0
    for key in ("mape", "within_10pct", "spearman", "kendall", "rmse"):
        assert key in data and key in data["proxy"]
    assert len(data["worst"]) == 5


def test_cli_validate_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = tmp_path / "ref.csv"
    ref.write_text("model,latency_ms,energy_mj,device,source\n"
                   + "".join(f'"{s}",{ms},,x,t\n' for s, ms in zip(SPECS, (3.0, 4.0, 5.0), strict=True)))
    plot = tmp_path / "out.png"
    assert main(["validate", "--device", "pixel1-cpu", "--reference", str(ref),
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "MACs proxy" in out and "Kendall tau" in out and "worst rows" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_validate_bad_row_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = tmp_path / "bad.csv"
    ref.write_text("model,latency_ms,energy_mj,device,source\nmobilenet_v2,-1,,x,t\n")
    assert main(["validate", "--device", "pixel1-cpu", "--reference", str(ref)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{ref}:2:" in err


def test_cli_validate_device_without_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--device", "raspi5-cpu", "--reference", "published"]) == 2
    assert "no rows for device raspi5-cpu" in capsys.readouterr().err


def test_validate_rejects_a_spec_that_does_not_build() -> None:
    rows = [ReferenceRow("nasbench201(arch='|x~0|')", 1.0, None, "x", "t", "f.csv", 7)]
    with pytest.raises(EdgesimError, match=r"f\.csv:7"):
        validate(load_profile("pixel1-cpu"), rows)


def test_json_has_no_nan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # One row: no rank correlation; the JSON says null, which every parser reads.
    ref = tmp_path / "one.csv"
    ref.write_text(f'model,latency_ms,energy_mj,device,source\n"{SPECS[0]}",3.0,,x,t\n')
    assert main(["validate", "--device", "pixel1-cpu", "--reference", str(ref), "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert data["n"] == 1 and data["kendall"] is None and data["proxy"]["spearman"] is None
