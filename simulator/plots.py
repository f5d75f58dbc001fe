"""Matplotlib, imported only when a figure is drawn, with a non-interactive backend, and
the helpers every figure shares (label placement, axis scaling)."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

# Where a label may sit around its point, in points: right, left, above, below, then farther out.
_OFFSETS = ((4, 2, "left", "bottom"), (4, -2, "left", "top"), (-4, 2, "right", "bottom"),
            (-4, -2, "right", "top"), (0, 6, "center", "bottom"), (0, -6, "center", "top"),
            (10, 8, "left", "bottom"), (-10, -8, "right", "top"), (10, -8, "left", "top"),
            (-10, 8, "right", "bottom"))
WIDE_SPREAD = 20.0  # max/min of positive values beyond which an axis goes logarithmic


def pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def wide_spread(values: Sequence[float]) -> bool:
    """Whether positive values spread over more than `WIDE_SPREAD`× (then a log axis reads better)."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) and bool(positive) and max(positive) / min(positive) > WIDE_SPREAD


def label_points(ax: Any, labels: Sequence[tuple[float, float, str]], avoid: Sequence[tuple[float, float]] = (),
                 fontsize: float = 6.5) -> int:
    """Write each (x, y, text) next to its point where the text overlaps no label already
    placed, no point in `avoid` and nothing outside the axes; returns how many found no
    place. Call it once the figure's layout is final (positions are fixed in pixels)."""
    import numpy as np

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    marks = ax.transData.transform(np.asarray(avoid, dtype=float).reshape(-1, 2))
    taken: list[Any] = []
    left_out = 0
    for x, y, text in labels:
        for dx, dy, ha, va in _OFFSETS:
            artist = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                                 fontsize=fontsize, annotation_clip=False)
            box = artist.get_window_extent(renderer).expanded(1.05, 1.1)
            inside = (marks[:, 0] > box.x0) & (marks[:, 0] < box.x1) & (marks[:, 1] > box.y0) & (marks[:, 1] < box.y1)
            fits = (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)
            if fits and not inside.any() and not any(box.overlaps(t) for t in taken):
                taken.append(box)
                break
            artist.remove()
        else:
            left_out += 1
    return left_out
