"""Accuracy against latency (or energy): the non-dominated points."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphs.errors import EdgesimError
from graphs.spec import canonical, parse_spec, published_accuracy

METRICS = {"latency": "latency_ms", "energy": "energy_mj"}


@dataclass(frozen=True)
class Point:
    model: str
    accuracy: float
    cost: float  # latency in ms or energy in mJ
    macs: int
    pareto: bool = False


def pareto_mask(accuracy: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """True where no other point has at least the accuracy at no more cost, and is
    strictly better in one of the two."""
    acc = np.asarray(accuracy, dtype=float)
    cst = np.asarray(cost, dtype=float)
    better_or_equal = (acc[None, :] >= acc[:, None]) & (cst[None, :] <= cst[:, None])
    strictly = (acc[None, :] > acc[:, None]) | (cst[None, :] < cst[:, None])
    return ~np.any(better_or_equal & strictly, axis=1)


def zoo_accuracies(models: Sequence[str]) -> dict[str, float]:
    """Published accuracy of each zoo spec; an error names the first one without any."""
    out = {}
    for spec in models:
        found = published_accuracy(spec)
        if found is None:
            raise EdgesimError(
                f"{spec}: no published accuracy; give search-space points their accuracy with --accuracy FILE.csv"
            )
        out[spec] = found[0]
    return out


def read_accuracy_csv(
    path: str | Path, space: str | None = None, n: int | None = None, seed: int = 0
) -> dict[str, float]:
    """`model,accuracy` rows; with `space`, only that space's models; with `n`, a seeded
    sample of n of them."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"model", "accuracy"} <= set(reader.fieldnames):
                raise EdgesimError(f"{path}: needs columns model,accuracy")
            rows = {}
            for line, row in enumerate(reader, start=2):
                try:
                    rows[row["model"]] = float(row["accuracy"])
                except (TypeError, ValueError):
                    raise EdgesimError(f"{path}:{line}: accuracy {row['accuracy']!r} is not a number") from None
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read ({exc.strerror})") from None
    if space is not None:
        rows = {m: a for m, a in rows.items() if parse_spec(m)[0] == space}
        if not rows:
            raise EdgesimError(f"{path}: no rows for search space {space!r}")
    if n is not None and n < len(rows):
        keep = sorted(random.Random(seed).sample(sorted(rows), n))
        rows = {m: rows[m] for m in keep}
    return rows


def pareto_points(accuracies: dict[str, float], device: str, metric: str = "latency") -> list[Point]:
    from simulator.predictor import Predictor

    if metric not in METRICS:
        raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    models = list(accuracies)
    predictor = Predictor(device)
    costs = predictor.predict(models, metric=metric)
    macs = [predictor.graph(m).macs for m in models]
    acc = [accuracies[m] for m in models]
    mask = pareto_mask(acc, costs)
    points = [
        Point(canonical(m), a, float(c), k, bool(p))
        for m, a, c, k, p in zip(models, acc, costs, macs, mask, strict=True)
    ]
    return sorted(points, key=lambda p: p.cost)


def write_points(points: Sequence[Point], path: Path, metric: str) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "accuracy", METRICS[metric], "macs", "pareto"])
        for p in points:
            writer.writerow([p.model, p.accuracy, f"{p.cost:.6g}", p.macs, p.pareto])


def plot_points(points: Sequence[Point], path: Path, device: str, metric: str, label_limit: int = 40) -> None:
    from simulator.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    cost = np.array([p.cost for p in points])
    acc = np.array([p.accuracy for p in points])
    on = np.array([p.pareto for p in points])
    ax.scatter(cost[~on], acc[~on], s=18, color="0.6", label="dominated")
    ax.scatter(cost[on], acc[on], s=30, color="C3", label="Pareto front", zorder=3)
    front = sorted((p.cost, p.accuracy) for p in points if p.pareto)
    ax.step([c for c, _ in front], [a for _, a in front], where="post", color="C3", lw=1)
    if cost.max() / max(cost.min(), 1e-12) > 20:
        ax.set_xscale("log")
    if len(points) <= label_limit:
        for p in points:
            ax.annotate(p.model, (p.cost, p.accuracy), fontsize=6, xytext=(3, 2), textcoords="offset points")
    unit = "latency (ms)" if metric == "latency" else "energy per inference (mJ)"
    ax.set_xlabel(f"{unit} on {device} (simulated)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
