"""Accuracy against latency, energy or any other costs: non-dominated sorting and fronts.

`nondominated_rank` sorts points into fronts: rank 0 is the Pareto front, rank 1 the front
once rank 0 is removed, and so on. A point dominates another when it is no worse in every
objective and strictly better in one, so identical points share a rank. Two objectives are
sorted in O(n log n) (one lexicographic sort, then a binary search per point over the
fronts' last members); more use Efficient Non-dominated Sort with sequential search
(ENS-SS, Zhang et al., IEEE TEVC 2015): points in lexicographic order, each placed in the
first front none of whose members dominates it. Memory stays O(n) either way.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphs.errors import EdgesimError
from graphs.spec import canonical, parse_spec, published_accuracy

METRICS = {"latency": "latency_ms", "energy": "energy_mj"}


def nondominated_rank(
    objectives: np.ndarray | Sequence[Sequence[float]],
    maximize: Sequence[bool] | None = None,
    max_rank: int | None = None,
) -> np.ndarray:
    """The front index of each row of an (n, k) array (0: non-dominated). Column j is
    maximised where `maximize[j]` (default: every column minimised). With `max_rank`, the
    sort stops there: rows of rank `max_rank` or more report `max_rank`."""
    values = np.asarray(objectives, dtype=float)
    if values.ndim != 2 or values.shape[1] < 1:
        raise EdgesimError(f"objectives must be an (n, k) array, not of shape {values.shape}")
    if np.isnan(values).any():
        raise EdgesimError("objectives hold NaN: a point without a value cannot be ranked")
    if maximize is not None:
        if len(maximize) != values.shape[1]:
            raise EdgesimError(f"maximize has {len(maximize)} entries for {values.shape[1]} objectives")
        values = values * np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    cap = len(values) if max_rank is None else max_rank
    order = np.lexsort(values.T[::-1])  # by the first column, ties by the next, ...
    ordered = values[order]
    sorted_ranks = _rank_two(ordered, cap) if values.shape[1] <= 2 else _rank_many(ordered, cap)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = sorted_ranks
    return ranks


def _rank_two(ordered: np.ndarray, cap: int) -> list[int]:
    """Two (or one) minimised objectives, rows sorted lexicographically. Within a front the
    second objective falls as the first rises, so a front dominates the next row exactly
    when its last member is lexicographically below it in (second, first); those last
    members ascend front by front, so a binary search finds the row's front."""
    first = ordered[:, 0].tolist()
    second = ordered[:, 1].tolist() if ordered.shape[1] == 2 else [0.0] * len(first)
    tails: list[tuple[float, float]] = []  # (second, first) of each front's last member
    ranks = []
    for a, b in zip(first, second, strict=True):
        key = (b, a)
        rank = bisect.bisect_left(tails, key)
        if rank >= cap:
            rank = cap
        elif rank == len(tails):
            tails.append(key)
        else:
            tails[rank] = key
        ranks.append(rank)
    return ranks


def _rank_many(ordered: np.ndarray, cap: int, block: int = 256) -> np.ndarray:
    """ENS-SS in blocks of rows: only an earlier row in lexicographic order can dominate a
    later one, a row's rank is one more than its dominators' highest, and a row dominated by
    some member of front k is dominated by every front before k (transitivity), so each
    block is checked front by front until no row of it is dominated, then within itself."""
    fronts: list[_Front] = []
    ranks = np.empty(len(ordered), dtype=np.int64)
    for start in range(0, len(ordered), block):
        rows = ordered[start : start + block]
        rank = np.zeros(len(rows), dtype=np.int64)
        active = np.arange(len(rows))
        for k, front in enumerate(fronts[:cap]):
            active = active[front.dominates(rows[active])]
            if not active.size:
                break
            rank[active] = k + 1
        inside = _dominance(rows, rows)  # [j, i]: row j dominates row i
        while True:  # as many passes as the longest chain of dominance inside the block
            raised = np.maximum(rank, np.where(inside, rank[:, None] + 1, 0).max(axis=0))
            if np.array_equal(raised, rank):
                break
            rank = raised
        np.minimum(rank, cap, out=rank)
        for k in np.unique(rank[rank < cap]):
            members = rows[rank == k]
            if k == len(fronts):
                fronts.append(_Front(members.shape[1]))
            fronts[k].add(members)
        ranks[start : start + block] = rank
    return ranks


def _dominance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[j, i]: row j of `a` dominates row i of `b` (all minimised)."""
    no_worse = np.ones((len(a), len(b)), dtype=bool)
    better = np.zeros((len(a), len(b)), dtype=bool)
    for column in range(a.shape[1]):  # column by column: 2-D passes, no reduction over a short axis
        x, y = a[:, column, None], b[None, :, column]
        no_worse &= x <= y
        better |= x < y
    return no_worse & better


class _Front:
    """The members of one front, in a growing buffer (amortised O(1) appends)."""

    def __init__(self, width: int) -> None:
        self._rows = np.empty((64, width))
        self._size = 0

    def add(self, rows: np.ndarray) -> None:
        while self._size + len(rows) > len(self._rows):
            self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
        self._rows[self._size : self._size + len(rows)] = rows
        self._size += len(rows)

    def dominates(self, rows: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """Whether some member dominates each of `rows` (members in chunks: bounded memory)."""
        hit = np.zeros(len(rows), dtype=bool)
        for start in range(0, self._size, chunk):
            hit |= _dominance(self._rows[start : min(start + chunk, self._size)], rows).any(axis=0)
        return hit


def pareto_mask(accuracy: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """True where no other point has at least the accuracy at no more cost, and is
    strictly better in one of the two."""
    objectives = np.column_stack([np.asarray(accuracy, dtype=float), np.asarray(cost, dtype=float)])
    return nondominated_rank(objectives, maximize=(True, False), max_rank=1) == 0


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
    if n is not None and n < 1:
        raise EdgesimError(f"--n {n}: the sample needs at least one point")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is not a column name
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"model", "accuracy"} <= {f.strip() for f in reader.fieldnames}:
                raise EdgesimError(f"{path}: needs columns model,accuracy")
            reader.fieldnames = [f.strip() for f in reader.fieldnames]
            rows = {}
            for line, row in enumerate(reader, start=2):
                rows[_model(row, path, line)] = _accuracy(row, path, line)
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise EdgesimError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise EdgesimError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise EdgesimError(f"{path}: no rows under the header model,accuracy")
    if space is not None:
        rows = {m: a for m, a in rows.items() if parse_spec(m)[0] == space}
        if not rows:
            raise EdgesimError(f"{path}: no rows for search space {space!r}")
    if n is not None and n < len(rows):
        keep = sorted(random.Random(seed).sample(sorted(rows), n))
        rows = {m: rows[m] for m in keep}
    return rows


def _model(row: dict[str, str | None], path: Path, line: int) -> str:
    model = (row["model"] or "").strip()
    if not model:
        raise EdgesimError(f"{path}:{line}: empty model spec")
    return model


def _accuracy(row: dict[str, str | None], path: Path, line: int) -> float:
    text = (row["accuracy"] or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise EdgesimError(f"{path}:{line}: accuracy {text!r} is not a number") from None
    if not math.isfinite(value):
        raise EdgesimError(f"{path}:{line}: accuracy {text!r} is not a finite number")
    return value


@dataclass(frozen=True)
class Point:
    """One model on one device: its accuracy, its cost per metric (ms, mJ), and its rank
    among that device's points over accuracy and every metric (0: on the front)."""

    device: str
    model: str
    accuracy: float
    costs: dict[str, float]
    macs: int
    rank: int

    @property
    def pareto(self) -> bool:
        return self.rank == 0


def pareto_points(
    accuracies: dict[str, float],
    devices: Sequence[str],
    metrics: Sequence[str] = ("latency",),
    batch: int | None = None,
) -> list[Point]:
    """Every model on every device (costs per batch of `batch` samples if given), ranked
    per device (accuracy maximised, metrics minimised)."""
    from simulator.predictor import Predictor
    from simulator.progress import progress

    for metric in metrics:
        if metric not in METRICS:
            raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    models = list(accuracies)
    acc = np.array([accuracies[m] for m in models], dtype=float)
    points = []
    for device in devices:
        predictor = Predictor(device)
        costs = {metric: predictor.predict(progress(models, len(models), f"{device} {metric}", "model"),
                                           metric=metric, batch=batch) for metric in metrics}
        macs = [predictor.graph(m, batch=batch).macs for m in models]
        objectives = np.column_stack([acc, *costs.values()])
        ranks = nondominated_rank(objectives, maximize=[True] + [False] * len(metrics))
        points += [
            Point(device, canonical(m), float(acc[i]), {k: float(v[i]) for k, v in costs.items()}, macs[i],
                  int(ranks[i]))
            for i, m in enumerate(models)
        ]
    first = metrics[0]
    return sorted(points, key=lambda p: (p.device, p.costs[first]))


def point_rows(points: Sequence[Point], metrics: Sequence[str]) -> tuple[list[str], list[list[object]]]:
    """The points as a table: header and rows."""
    header = ["device", "model", "accuracy", *(METRICS[m] for m in metrics), "macs", "rank", "pareto"]
    rows = [[p.device, p.model, p.accuracy, *(p.costs[m] for m in metrics), p.macs, p.rank, p.pareto]
            for p in points]
    return header, rows


def plot_points(points: Sequence[Point], path: Path, metrics: Sequence[str], batch: int | None = None) -> None:
    """A panel per metric: accuracy against it, a colour per device, each device's front
    (in accuracy and that metric) as a step line whose models are labelled where a label
    fits; dominated points faint; the legend outside the panels."""
    from simulator.plots import label_points, pyplot, wide_spread

    plt = pyplot()
    devices = list(dict.fromkeys(p.device for p in points))
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.5 * len(metrics) + 2.5, 5.5), sharey=True, squeeze=False)
    panels = []
    for ax, metric in zip(axes[0], metrics, strict=True):
        labels: list[tuple[float, float, str]] = []
        for n, device in enumerate(devices):
            mine = [p for p in points if p.device == device]
            cost = np.array([p.costs[metric] for p in mine])
            acc = np.array([p.accuracy for p in mine])
            front = np.flatnonzero(pareto_mask(acc, cost))
            front = front[np.argsort(cost[front])]
            color = f"C{n % 10}"
            ax.scatter(cost, acc, s=10, color=color, alpha=0.3, linewidths=0)
            ax.step(cost[front], acc[front], where="post", color=color, lw=1.2)
            ax.scatter(cost[front], acc[front], s=28, color=color, zorder=3, label=device)
            labels += [(cost[i], acc[i], mine[i].model) for i in front]
        if wide_spread([p.costs[metric] for p in points]):
            ax.set_xscale("log")
        unit = "latency (ms)" if metric == "latency" else "energy per inference (mJ)"
        per = f" per batch of {batch}" if batch and batch > 1 else ""
        ax.set_xlabel(f"{unit}{per}, simulated")
        ax.grid(alpha=0.3)
        panels.append((ax, labels, [(p.costs[metric], p.accuracy) for p in points]))
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, title="front per device",
                       title_fontsize=8)
    fig.tight_layout()
    left_out = sum(label_points(ax, labels, avoid=data) for ax, labels, data in panels)
    if left_out:
        fig.text(0.005, 0.005, f"{left_out} front labels left out where they would overlap", fontsize=7, color="0.4")
    fig.savefig(path, dpi=130)
    plt.close(fig)
