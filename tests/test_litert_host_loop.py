"""The host ground-truth loop on LiteRT: time NAS-Bench-201 cells and zoo models exported
to TFLite (fp32 and int8) with LiteRT's XNNPACK kernels (`edgesim measure --runtime
litert`), calibrate `host-cpu-litert` on half of them and check it on the other half.

The test runs the loop on a few models. The issue's full loop (30 cells + 8 zoo models,
both precisions; a minute or two per precision) prints its figures with

    python tests/test_litert_host_loop.py [fp32|int8]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from test_host_loop import stratified_split

from graphs import build
from graphs.exporters.tflite import export_tflite
from graphs.spaces import nasbench201 as nb
from simulator import load_profile
from simulator.calibrate import calibrate, score_held_out
from simulator.measure import Measurement, measure, write_reference_csv
from simulator.reference import load_reference
from simulator.validate import metrics

NB201 = [nb.spec(arch) for arch in nb.sample(30, seed=0)]
ZOO = [
    f"{name}(resolution=128)"
    for name in (
        "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
        "mnasnet_a1", "efficientnet_lite0", "proxylessnas_mobile", "efficientnet_b0",
    )
]
SEED = 0


def measure_litert(specs: Sequence[str], precision: str, tmp: Path, rounds: int = 6, repeat: int = 5,
                   warmup: int = 2) -> list[Measurement]:
    """Each model's fastest LiteRT run over `rounds` passes (alternating order) of `warmup`
    untimed and `repeat` timed runs: other processes on a shared machine only add time.
    Each spec is exported once and its file timed in every pass."""
    files = {spec: str(export_tflite(build(spec), tmp / f"m{i}-{precision}.tflite", precision, seed=SEED))
             for i, spec in enumerate(specs)}
    runs: dict[str, list[float]] = {spec: [] for spec in specs}
    source = ""
    for k in range(rounds):
        order = list(specs) if k % 2 == 0 else list(specs)[::-1]
        for spec, m in zip(order, measure([files[s] for s in order], runtime="litert", repeat=repeat,
                                           warmup=warmup), strict=True):
            runs[spec].extend(m.runs_ms)
            source = m.source.replace("(XNNPACK) fp32", f"(XNNPACK) {precision}")
    return [Measurement(spec, min(r), f"{source}, min of {len(r)} runs", r) for spec, r in runs.items()]


def host_loop(specs: Sequence[str], precision: str, tmp: Path, **timing) -> tuple[str, object, object]:
    """Measure, calibrate host-cpu-litert at `precision` on half of each group (NAS-Bench-201
    cells, zoo models), score the other half. (report, held-out check, calibration)."""
    start = time.perf_counter()
    measured = measure_litert(specs, precision, tmp, **timing)
    seconds = time.perf_counter() - start
    path = tmp / f"litert-{precision}.csv"
    write_reference_csv(measured, path)
    rows = load_reference(path)
    train, held = stratified_split(rows, SEED)
    base = load_profile("host-cpu-litert").replace(precision=precision)
    result = calibrate(base, train, seed=SEED, reference=str(path))
    check = score_held_out(result, train, held)
    cells = [r for r in check.rows if r.row.model.startswith("nasbench201(")]
    cells_only = metrics([r.predicted_ms for r in cells], [r.measured_ms for r in cells])
    m = check.metrics
    report = (
        f"LiteRT {precision}: held out {m.n}: tau {m.kendall:.3f}, MAPE {m.mape:.1%} (NB201 only: tau "
        f"{cells_only.kendall:.3f}, MAPE {cells_only.mape:.1%}; MACs proxy: tau {check.proxy.kendall:.3f}, "
        f"MAPE {check.proxy.mape:.1%}); train {len(train)}: tau {result.metrics.kendall:.3f}, MAPE "
        f"{result.metrics.mape:.1%}; measured in {seconds:.0f} s; fitted "
        + ", ".join(f"{k} {a:.3g}->{b:.3g}" for k, (a, b) in result.fitted.items())
        + "; worst: " + "; ".join(f"{r.row.model} {r.predicted_ms:.3f} vs {r.measured_ms:.3f} ms"
                                  for r in check.worst(4))
    )
    return report, check, result


def test_litert_loop_on_a_few_models(tmp_path) -> None:
    """Measure → reference CSV → calibrate on half → score the other half, in fp32 and int8:
    every model is timed and read back, the fit lowers the training error of the base
    profile, and the held-out half is scored beside the MACs proxy."""
    specs = [*NB201[:4], "mobilenet_v2(resolution=96)", "mobilenet_v3_small(resolution=96)"]
    for precision in ("fp32", "int8"):
        report, check, result = host_loop(specs, precision, tmp_path, rounds=2, repeat=3, warmup=1)
        print(report)
        assert check.metrics.n == 3 and check.proxy is not None
        assert {r.row.model for r in check.rows} < set(specs)
        assert result.metrics.mape < result.base_metrics.mape, report
        assert result.profile.precision == precision


if __name__ == "__main__":
    import sys
    import tempfile

    for precision in sys.argv[1:] or ["fp32", "int8"]:
        with tempfile.TemporaryDirectory() as tmp:
            report, check, _ = host_loop(NB201 + ZOO, precision, Path(tmp))
        print(report)
        for r in sorted(check.rows, key=lambda r: r.measured_ms):
            print(f"  {r.row.model[:70]:70s} predicted {r.predicted_ms:7.3f}  measured {r.measured_ms:7.3f} ms  "
                  f"{r.predicted_ms / r.measured_ms - 1:+.1%}")
