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

from graphs.flat import FlatGraph
from simulator.calibrate import calibrate, split_rows
from simulator.engine.rewrite import Plan, plan
from simulator.fitted import unfitted
from simulator.hardware.profile import Profile, load_profile
from simulator.intervals import coverage
from simulator.reference import load_reference, reference_graphs
from simulator.validate import Metrics, fit_proxy_scale, metrics, predict_ms

# Development campaign -> (base profile, fields set before fitting): the shipped profile
# of the chip, runtime and precision that was measured (issue 12's runtime-named profiles
# where there is one). Its fitted rows are never scored.
BASE_PROFILES: dict[str, tuple[str, Mapping[str, Any]]] = {
    "latbench-embedded-tpu-edgetpu-int8.csv": ("coral-usb", {}),
    "latbench-mobile-cpu-sd855-kryo485-int8.csv": ("pixel4-cpu", {}),
    "latbench-mobile-dsp-sd855-hexagon690-int8.csv": ("hexagon-690", {}),
    "latbench-mobile-gpu-sd855-adreno640-int8.csv": ("adreno-640", {}),
    "latbench-embedded-gpu-jetson-nano-fp32.csv": ("jetson-nano-fp32", {}),
    "latbench-embedded-gpu-jetson-nano-fp16.csv": ("jetson-nano", {}),
    "latbench-desktop-cpu-i7-7820x-fp32.csv": ("x86-desktop-cpu", {}),
    "latbench-desktop-gpu-gtx1080ti-fp32.csv": ("gtx-1080ti", {"precision": "fp32"}),
    "hwnasbench-nb201-pixel3.csv": ("pixel3-cpu-pytorch-tflite", {}),
    "hwnasbench-nb201-raspi4.csv": ("raspi4-cpu-pytorch-tflite", {}),
    "help-nb201-pixel2.csv": ("pixel2-cpu-pytorch", {}),
    "help-nb201-gold_6226.csv": ("xeon-gold-6226-pytorch", {}),
    "help-nb201-1080ti_1.csv": ("gtx-1080ti-pytorch", {}),
    "help-fbnet-pixel2.csv": ("pixel2-cpu-pytorch", {}),
    "help-fbnet-samsung_a50.csv": ("samsung-a50-cpu-pytorch", {}),
    "help-fbnet-gold_6226.csv": ("xeon-gold-6226-pytorch", {}),
    "help-fbnet-1080ti_1.csv": ("gtx-1080ti-pytorch", {}),
    "help-fbnet-titan_rtx_1.csv": ("titan-rtx-pytorch", {}),
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


def same_networks(path: str | Path, device: str | None = None,
                  overrides: Mapping[str, Any] | None = None) -> list[tuple[int, ...]]:
    """Groups of two or more rows of `path` (indices) that are one network as the base
    profile's runtime runs it: the same ops wired the same way after its rewrites (each op
    keyed by its signature and its producers' keys, the graph by its outputs' keys and its
    op count). Their spread is measurement noise: no model, additive or not, can tell them
    apart."""
    path = Path(path)
    runtime = base_profile(path, device, overrides).runtime
    groups: dict[tuple, list[int]] = {}
    for i, graph in enumerate(reference_graphs(load_reference(path))):
        flat = graph.flat()
        rewritten = plan(flat, runtime)
        key: dict[int, int] = {s: hash(("input", s)) for s in range(-len(flat.inputs), 0)}
        for op, sources in zip(rewritten.kept, rewritten.sources, strict=True):
            key[op] = hash((flat.ops[op].signature, tuple(sorted(key[s] for s in sources))))
        network = (tuple(sorted(key[o] for o in rewritten.outputs)), len(rewritten.kept))
        groups.setdefault(network, []).append(i)
    return [tuple(v) for v in groups.values() if len(v) > 1]


@dataclass(frozen=True)
class RepeatNoise:
    """How far two measurements of one network disagree, and what that costs any model."""

    networks: int  # networks measured more than once
    rows: int  # their rows
    sigma: float  # pooled standard deviation of ln(latency) among measurements of one network
    sigma_ms: float  # the same in milliseconds
    pair_kendall: float  # tau of a first against a second measurement of those networks
    exact_kendall_relative: float  # median tau of an exact predictor, noise ∝ latency
    exact_kendall_absolute: float  # the same, noise of fixed milliseconds

    @property
    def exact_kendall(self) -> float:
        """The better of the two noise models: no model can be expected to rank above it."""
        return max(self.exact_kendall_relative, self.exact_kendall_absolute)


def repeat_noise(path: str | Path, device: str | None = None, overrides: Mapping[str, Any] | None = None,
                 draws: int = 200, seed: int = 0) -> RepeatNoise | None:
    """The measurement noise of `path` from its repeated networks (`same_networks`), or
    None without any, and the Kendall tau a predictor of each network's TRUE latency
    reaches on all rows under that noise: the true latencies are the measured ones shrunk
    about their mean to the spread left after the noise variance, and each draw adds to
    every row a within-network deviation resampled from the repeats (scaled by √(n/(n−1))
    for the group mean it was taken about). The repeats are few and may not sit where most
    rows do, so the noise is taken both as a share of the latency (deviations of ln) and
    as fixed milliseconds; `exact_kendall` is the better of the two."""
    from scipy import stats

    path = Path(path)
    groups = [list(g) for g in same_networks(path, device, overrides)]
    if not groups:
        return None
    ms = np.array([r.latency_ms for r in load_reference(path)])
    rng = np.random.default_rng(seed)

    def limit(y: np.ndarray) -> tuple[float, float]:
        """(pooled sigma, median tau of an exact predictor) with noise additive in `y`."""
        deviations = np.concatenate([(y[g] - y[g].mean()) * np.sqrt(len(g) / (len(g) - 1)) for g in groups])
        sigma = float(np.sqrt(np.mean(deviations**2)))
        true = y.mean() + (y - y.mean()) * np.sqrt(max(0.0, 1 - sigma**2 / y.var()))
        taus = [stats.kendalltau(true, true + rng.choice(deviations, y.size)).statistic for _ in range(draws)]
        return sigma, float(np.median(taus))

    sigma, relative = limit(np.log(ms))
    sigma_ms, absolute = limit(ms)
    first, second = (np.array([ms[g[k]] for g in groups]) for k in (0, 1))
    pair = float(stats.kendalltau(first, second).statistic) if len(groups) > 2 else float("nan")
    return RepeatNoise(len(groups), sum(map(len, groups)), sigma, sigma_ms, pair, relative, absolute)


def additive_fit(
    path: str | Path, device: str | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, list[FlatGraph], list[Plan]]:
    """The best any per-op-additive model does on every row of `path`, fitted to all of
    them: each distinct op (by signature) left after the runtime's rewrites gets its own
    non-negative cost, plus one per-inference constant, minimising the squared relative
    error over all rows; both settings of dead-op pruning are tried and the better kept.
    Returns its predictions (ms) with each row's graph and rewrite plan."""
    from scipy.optimize import nnls

    path = Path(path)
    base = base_profile(path, device, overrides)
    rows = load_reference(path)
    flats = [g.flat() for g in reference_graphs(rows)]
    measured = np.array([r.latency_ms for r in rows])
    found = []
    for prune in (False, True):
        runtime = base.replace(**{"runtime.prune_dead_ops": prune}).runtime
        plans = [plan(flat, runtime) for flat in flats]
        columns: dict[tuple, int] = {}
        counts = []
        for flat, rewritten in zip(flats, plans, strict=True):
            row: dict[int, int] = {}
            for i in rewritten.kept:
                k = columns.setdefault(flat.ops[i].signature, len(columns))
                row[k] = row.get(k, 0) + 1
            counts.append(row)
        x = np.zeros((len(rows), len(columns) + 1))
        x[:, -1] = 1.0  # the per-inference constant
        for r, row in enumerate(counts):
            for k, n in row.items():
                x[r, k] = n
        coef, _ = nnls(x / measured[:, None], np.ones(len(rows)), maxiter=20 * x.shape[1])
        found.append((x @ coef, plans))
    predicted, plans = min(found, key=lambda f: metrics(f[0], measured).mape)
    return predicted, flats, plans


def additive_ceiling(
    path: str | Path, device: str | None = None, overrides: Mapping[str, Any] | None = None
) -> Metrics:
    """Metrics of `additive_fit` on all rows. Every additive cost model on these op lists
    is a special case, so no few-shot fit of one can be expected to beat it."""
    predicted = additive_fit(path, device, overrides)[0]
    return metrics(predicted, [r.latency_ms for r in load_reference(Path(path))])


# Graph features a non-additive effect would follow: work, size, depth, branching.
FEATURES = ("ops run", "depth", "joins", "MACs", "parameter bytes")


def residual_structure(
    path: str | Path, device: str | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, float], float]:
    """How much of `additive_fit`'s residuals ln(measured/predicted) graph features explain:
    each feature's Spearman correlation with them, and the share of their variance a linear
    fit on all features (standardised) takes out. A physical non-additive effect (on-chip
    memory, overlap along the critical path, branch scheduling) would show here."""
    from scipy import stats

    path = Path(path)
    predicted, flats, plans = additive_fit(path, device, overrides)
    residual = np.log(np.array([r.latency_ms for r in load_reference(path)]) / predicted)
    columns = np.array([_features(f, p) for f, p in zip(flats, plans, strict=True)])
    # A feature constant over the file (every cell has the same joins) has no rank to correlate.
    spearman = {name: float(stats.spearmanr(col, residual).statistic) if np.ptp(col) > 0 else float("nan")
                for name, col in zip(FEATURES, columns.T, strict=True)}
    spread = np.where(columns.std(axis=0) > 0, columns.std(axis=0), 1.0)  # a constant feature: 0
    design = np.column_stack([np.ones(len(residual)), (columns - columns.mean(axis=0)) / spread])
    fit, *_ = np.linalg.lstsq(design, residual, rcond=None)
    return spearman, float(1 - np.var(residual - design @ fit) / np.var(residual))


def _features(flat: FlatGraph, rewritten: Plan) -> tuple[float, ...]:
    depth: dict[int, int] = {}
    for op, sources in zip(rewritten.kept, rewritten.sources, strict=True):
        depth[op] = 1 + max((depth.get(s, 0) for s in sources if s >= 0), default=0)
    joins = sum(len(sources) > 1 for sources in rewritten.sources)
    kept = [flat.ops[i] for i in rewritten.kept]
    return (len(kept), max(depth.values(), default=0), joins, sum(op.macs for op in kept),
            sum(op.weight_bytes for op in kept))
