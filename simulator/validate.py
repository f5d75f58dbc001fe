"""Score a profile on reference measurements, beside the MACs-proxy baseline.

The baseline predicts latency = scale × MACs with one scale fitted on the rows (least
squares on relative error), so every report shows what the cost model adds over counting
MACs. Rank metrics (Spearman, Kendall) do not depend on the scale at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from graphs.errors import EdgesimError
from graphs.files import atomic_file, check_target
from graphs.graph import OpGraph
from simulator.engine import run
from simulator.hardware.profile import Profile
from simulator.measured_energy import energy_seen_j
from simulator.reference import ReferenceRow, reference_graphs


@dataclass(frozen=True)
class Metrics:
    """Agreement of predictions with measurements. `mape` and `within_10pct` are
    fractions (0.05 = 5 %), `rmse` is in ms; the rank correlations are NaN below 2 rows."""

    n: int
    mape: float
    rmse: float
    within_10pct: float
    spearman: float
    kendall: float

    def to_dict(self) -> dict[str, float | None]:
        """The fields, NaN as None (JSON has no NaN)."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in asdict(self).items()}


def metrics(predicted: Sequence[float], measured: Sequence[float]) -> Metrics:
    """Metrics of `predicted` against `measured` (same units, measured > 0)."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    if p.shape != m.shape:
        raise ValueError(f"{p.size} predictions for {m.size} measurements")
    if p.size == 0:
        raise ValueError("no rows to score")
    rel = np.abs(p - m) / m
    spearman = kendall = math.nan
    # A constant column has no ranking; scipy would warn and return NaN anyway.
    if p.size >= 2 and np.ptp(p) > 0 and np.ptp(m) > 0:
        spearman = float(stats.spearmanr(p, m).statistic)
        kendall = float(stats.kendalltau(p, m).statistic)
    return Metrics(
        n=int(p.size),
        mape=float(rel.mean()),
        rmse=float(np.sqrt(np.mean((p - m) ** 2))),
        within_10pct=float(np.mean(rel <= 0.10)),
        spearman=spearman,
        kendall=kendall,
    )


def fit_proxy_scale(macs: Sequence[float], measured: Sequence[float]) -> float:
    """The scale s minimising Σ((s·macs − measured)/measured)²: s = Σr / Σr², r = macs/measured."""
    r = np.asarray(macs, dtype=float) / np.asarray(measured, dtype=float)
    denom = float(np.sum(r * r))
    return float(np.sum(r)) / denom if denom > 0 else 0.0


@dataclass(frozen=True)
class RowResult:
    row: ReferenceRow
    predicted_ms: float
    proxy_ms: float

    @property
    def measured_ms(self) -> float:
        return self.row.latency_ms

    @property
    def rel_error(self) -> float:
        """Signed: (predicted − measured) / measured."""
        return (self.predicted_ms - self.measured_ms) / self.measured_ms


@dataclass(frozen=True)
class ValidationResult:
    device: str
    metrics: Metrics
    proxy: Metrics
    proxy_scale_ms_per_mac: float
    rows: tuple[RowResult, ...]
    energy: Metrics | None = None  # on the rows that have a measured energy, if any

    @property
    def predicted_ms(self) -> np.ndarray:
        return np.array([r.predicted_ms for r in self.rows])

    @property
    def measured_ms(self) -> np.ndarray:
        return np.array([r.measured_ms for r in self.rows])

    def worst(self, k: int = 5) -> list[RowResult]:
        """The `k` rows with the largest relative error."""
        return sorted(self.rows, key=lambda r: -abs(r.rel_error))[:k]

    def to_dict(self, worst: int = 5) -> dict[str, Any]:
        data: dict[str, Any] = {"device": self.device, **self.metrics.to_dict()}
        data["proxy"] = {**self.proxy.to_dict(), "scale_ms_per_mac": self.proxy_scale_ms_per_mac}
        if self.energy is not None:
            data["energy"] = self.energy.to_dict()
        data["worst"] = [
            {
                "model": r.row.model,
                "line": r.row.line,
                "predicted_ms": r.predicted_ms,
                "measured_ms": r.measured_ms,
                "rel_error": r.rel_error,
            }
            for r in self.worst(worst)
        ]
        return data


def predict_ms(profile: Profile, graphs: Sequence[OpGraph]) -> np.ndarray:
    """Predicted latency in ms of each graph on `profile` (the engine's lean path)."""
    return np.array([run(g.flat(), profile).latency_s * 1e3 for g in graphs])


def validate(
    profile: Profile,
    rows: Sequence[ReferenceRow],
    *,
    proxy_scale: float | None = None,
) -> ValidationResult:
    """Predict every row on `profile` and score it. The proxy's scale is fitted on `rows`
    unless `proxy_scale` (ms per MAC, e.g. fitted on a training split) is given."""
    graphs = reference_graphs(rows)
    reports = [run(g.flat(), profile) for g in graphs]
    predicted = np.array([r.latency_s * 1e3 for r in reports])
    measured = np.array([r.latency_ms for r in rows])
    macs = np.array([float(g.macs) for g in graphs])
    scale = fit_proxy_scale(macs, measured) if proxy_scale is None else proxy_scale
    proxy = scale * macs
    with_energy = [i for i, r in enumerate(rows) if r.energy_mj is not None]
    energy = None
    if with_energy:
        energy = metrics(
            [energy_seen_j(reports[i], profile.energy.boundary) * 1e3 for i in with_energy],
            [rows[i].energy_mj for i in with_energy],
        )
    return ValidationResult(
        device=profile.name,
        metrics=metrics(predicted, measured),
        proxy=metrics(proxy, measured),
        proxy_scale_ms_per_mac=scale,
        rows=tuple(
            RowResult(row, float(p), float(q))
            for row, p, q in zip(rows, predicted, proxy, strict=True)
        ),
        energy=energy,
    )


def plot(result: ValidationResult, path: str, title: str = "") -> None:
    """Log-log scatter of predicted vs measured latency (model and MACs proxy) with the
    identity line, written to `path` (PNG/PDF/SVG by suffix)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    measured = result.measured_ms
    proxy = np.array([r.proxy_ms for r in result.rows])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(measured, proxy, s=8, alpha=0.4, color="0.6",
               label=f"MACs proxy (MAPE {result.proxy.mape:.1%})")
    ax.scatter(measured, result.predicted_ms, s=8, alpha=0.7,
               label=f"{result.device} (MAPE {result.metrics.mape:.1%})")
    values = np.concatenate([measured, result.predicted_ms, proxy])
    values = values[values > 0]
    lo, hi = values.min() / 1.2, values.max() * 1.2
    ax.plot([lo, hi], [lo, hi], color="k", linewidth=0.8, label="predicted = measured")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
           xlabel="measured latency (ms)", ylabel="predicted latency (ms)",
           title=title or f"{result.device}: n={result.metrics.n}")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    try:
        with atomic_file(path, "wb") as handle:
            fig.savefig(handle, format=plot_format(path))
    finally:
        plt.close(fig)


def plot_format(path: str) -> str:
    """The figure format `path`'s suffix names, or a one-line error listing the formats."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    check_target(path)
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise EdgesimError(f"--plot {path}: end the file name in one of .{', .'.join(sorted(formats))}")
    return suffix
