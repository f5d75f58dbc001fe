"""Matplotlib, imported only when a figure is drawn, with a non-interactive backend."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
