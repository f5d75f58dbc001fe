"""How far calibration can be trusted: few-shot calibration on a measurement campaign,
scored on the rows it was not fitted to, beside the stock profile and the MACs proxy.

`fidelity("latbench-mobile-cpu-sd855-kryo485-int8.csv")` calibrates the file's base
profile (`BASE_PROFILES`) on `n_train` rows drawn with each seed and scores every other
row: Kendall tau, MAPE, share within ±10 %, and the coverage of the 80 % interval. The
tests' must-holds and `benchmarks/bench_fidelity.py` both read it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.calibrate import calibrate, split_rows
from simulator.engine.rewrite import plan
from simulator.fitted import unfitted
from simulator.hardware.profile import Profile, load_profile
from simulator.intervals import coverage
from simulator.reference import load_reference, reference_graphs
from simulator.validate import Metrics, fit_proxy_scale, metrics, predict_ms

# Development campaign -> (base profile, fields set before fitting): the shipped profile
# of the same chip and precision.
BASE_PROFILES: dict[str, tuple[str, Mapping[str, Any]]] = {
    "latbench-embedded-tpu-edgetpu-int8.csv": ("coral-usb", {}),
    "latbench-mobile-cpu-sd855-kryo485-int8.csv": ("pixel4-cpu", {}),
    "latbench-mobile-dsp-sd855-hexagon690-int8.csv": ("hexagon-690", {}),
    "latbench-mobile-gpu-sd855-adreno640-int8.csv": ("adreno-640", {}),
    "latbench-embedded-gpu-jetson-nano-fp32.csv": ("jetson-nano", {"precision": "fp32"}),
    "latbench-embedded-gpu-jetson-nano-fp16.csv": ("jetson-nano", {}),
    "latbench-desktop-cpu-i7-7820x-fp32.csv": ("x86-desktop-cpu", {}),
    "latbench-desktop-gpu-gtx1080ti-fp32.csv": ("gtx-1080ti", {"precision": "fp32"}),
    "hwnasbench-nb201-pixel3.csv": ("pixel3-cpu", {}),
    "hwnasbench-nb201-raspi4.csv": ("raspi4-cpu", {}),
    "help-nb201-pixel2.csv": ("pixel2-cpu", {}),
    "help-nb201-gold_6226.csv": ("x86-desktop-cpu", {}),
    "help-nb201-1080ti_1.csv": ("gtx-1080ti", {}),
    "help-fbnet-pixel2.csv": ("pixel2-cpu", {}),
    "help-fbnet-samsung_a50.csv": ("pixel4-cpu", {}),
    "help-fbnet-gold_6226.csv": ("x86-desktop-cpu", {}),
    "help-fbnet-1080ti_1.csv": ("gtx-1080ti", {}),
    "help-fbnet-titan_rtx_1.csv": ("gtx-1080ti", {}),
}
SEEDS = range(5)
LEVEL = 0.8  # the interval whose coverage is reported


@dataclass(frozen=True)
class SeedResult:
    """One draw of training rows: each predictor scored on every other row."""

    seed: int
    calibrated: Metrics
    stock: Metrics
    proxy: Metrics
    coverage: float  # share of scored rows inside the calibrated profile's 80 % interval
    chosen: str


@dataclass(frozen=True)
class Fidelity:
    file: str
    device: str
    rows: int
    seeds: tuple[SeedResult, ...]

    def median(self, who: str, metric: str) -> float:
        """Median over seeds of `metric` ("kendall", "mape", "within_10pct") of `who`
        ("calibrated", "stock", "proxy")."""
        return statistics.median(getattr(getattr(s, who), metric) for s in self.seeds)

    @property
    def coverage(self) -> float:
        """Median over seeds of the 80 % interval's coverage."""
        return statistics.median(s.coverage for s in self.seeds)


def base_profile(path: Path, device: str | None, overrides: Mapping[str, Any] | None) -> Profile:
    """`device` with `overrides`, by default the file's `BASE_PROFILES` entry."""
    if device is None:
        device, overrides = BASE_PROFILES[path.name]
    base = load_profile(device)
    return base.replace(**overrides) if overrides else base


def fidelity(
    path: str | Path, device: str | None = None, *, n_train: int = 20, seeds: Iterable[int] = SEEDS,
    overrides: Mapping[str, Any] | None = None,
) -> Fidelity:
    """Few-shot calibration of `device` (default: the file's `BASE_PROFILES` entry) on
    `path`, scored per seed on every row neither it nor the stock profile was fitted to."""
    path = Path(path)
    base = base_profile(path, device, overrides)
    rows = load_reference(path)
    graphs = reference_graphs(rows)
    measured = np.array([r.latency_ms for r in rows])
    macs = np.array([float(g.macs) for g in graphs])
    stock = predict_ms(base, graphs)
    line_index = {r.line: i for i, r in enumerate(rows)}
    results = []
    for seed in seeds:
        train, held = split_rows(rows, n_train, seed)
        held = unfitted(base, held)  # nor any row the stock profile was fitted to
        fit_idx = np.array([line_index[r.line] for r in train])
        idx = np.array([line_index[r.line] for r in held])
        result = calibrate(base, train, seed=seed, reference=path.name)
        predicted = predict_ms(result.profile, [graphs[i] for i in idx])
        scale = fit_proxy_scale(macs[fit_idx], measured[fit_idx])
        y = measured[idx]
        results.append(SeedResult(
            seed=seed,
            calibrated=metrics(predicted, y),
            stock=metrics(stock[idx], y),
            proxy=metrics(scale * macs[idx], y),
            coverage=coverage(result.profile, predicted, y, LEVEL),
            chosen=result.chosen,
        ))
    return Fidelity(path.name, base.name, len(rows), tuple(results))


def additive_ceiling(
    path: str | Path, device: str | None = None, overrides: Mapping[str, Any] | None = None
) -> Metrics:
    """The best any per-op-additive model does on every row of `path`, fitted to all of
    them: each distinct op (by signature) left after the runtime's rewrites gets its own
    non-negative cost, plus one per-inference constant, minimising the squared relative
    error over all rows; both settings of dead-op pruning are tried and the better kept.
    Every additive cost model on these op lists is a special case, so no few-shot fit of
    one can be expected to beat it."""
    from scipy.optimize import nnls

    path = Path(path)
    base = base_profile(path, device, overrides)
    rows = load_reference(path)
    flats = [g.flat() for g in reference_graphs(rows)]
    measured = np.array([r.latency_ms for r in rows])
    found = []
    for prune in (False, True):
        runtime = base.replace(**{"runtime.prune_dead_ops": prune}).runtime
        columns: dict[tuple, int] = {}
        counts = []
        for flat in flats:
            row: dict[int, int] = {}
            for i in plan(flat, runtime).kept:
                k = columns.setdefault(flat.ops[i].signature, len(columns))
                row[k] = row.get(k, 0) + 1
            counts.append(row)
        x = np.zeros((len(rows), len(columns) + 1))
        x[:, -1] = 1.0  # the per-inference constant
        for r, row in enumerate(counts):
            for k, n in row.items():
                x[r, k] = n
        coef, _ = nnls(x / measured[:, None], np.ones(len(rows)), maxiter=20 * x.shape[1])
        found.append(metrics(x @ coef, measured))
    return min(found, key=lambda m: m.mape)
