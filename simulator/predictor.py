"""Batch prediction for search loops: many candidates, one device.

Op costs are cached by op signature inside each cost model, so a repeated block costs a
lookup; built graphs are cached by spec; graph-level terms (parameter cache, fallback
hand-overs, offload overhead) are still applied per network, by the same `engine.run`
that `predict()` uses, so the numbers are the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from graphs.spec import build
from simulator.api import resolve_profile
from simulator.engine import run
from simulator.profile import Profile

METRICS = ("latency", "energy")


class Predictor:
    """`Predictor("pixel4-cpu").predict(["mobilenet_v2", ...])` → latencies in ms
    (`metric="energy"`: mJ per inference)."""

    def __init__(self, device: str | Profile, cache_size: int = 8192) -> None:
        self.profile = resolve_profile(device)
        self._graphs: OrderedDict[str, FlatGraph] = OrderedDict()
        self._cache_size = cache_size

    def graph(self, model: str | OpGraph | FlatGraph) -> FlatGraph:
        if isinstance(model, FlatGraph):
            return model
        if isinstance(model, OpGraph):
            return model.flat()
        flat = self._graphs.get(model)
        if flat is None:
            flat = self._graphs[model] = build(model).flat()
            if len(self._graphs) > self._cache_size:
                self._graphs.popitem(last=False)
        return flat

    def predict(self, models: Iterable[str | OpGraph | FlatGraph], metric: str = "latency") -> np.ndarray:
        if metric not in METRICS:
            raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
        profile = self.profile
        if metric == "latency":
            values = [run(self.graph(m), profile).latency_s for m in models]
        else:
            values = [run(self.graph(m), profile).energy_j for m in models]
        return np.asarray(values, dtype=float) * 1e3
