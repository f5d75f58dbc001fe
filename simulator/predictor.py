"""Batch prediction for search loops: many candidates, one device.

Op costs are cached by op signature inside each cost model, so a repeated block costs a
lookup; built graphs are cached by spec; graph-level terms (parameter cache, fallback
hand-overs, offload overhead) are still applied per network, by the same `engine.run`
that `predict()` uses, so the numbers are the same.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from os import PathLike
from types import ModuleType
from typing import TYPE_CHECKING

from graphs.batch import check_batch
from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from graphs.spec import InputShape, Model, build, code_spec
from simulator.api import MAX_RESULT, check_results, resolve_profile
from simulator.engine import run
from simulator.engine.fastpath import SegmentPricer
from simulator.hardware.profile import Profile

if TYPE_CHECKING:
    import numpy as np

METRICS = ("latency", "energy")


class Predictor:
    """`Predictor("pixel4-cpu").predict(["mobilenet_v2", ...])` → latencies in ms
    (`metric="energy"`: mJ per inference)."""

    def __init__(self, device: str | Profile, cache_size: int = 8192) -> None:
        self.profile = resolve_profile(device)
        self._graphs: OrderedDict[tuple, FlatGraph] = OrderedDict()
        self._cache_size = cache_size
        self._pricer = SegmentPricer(self.profile)

    def graph(self, model: Model, input_shape: InputShape | None = None, batch: int | None = None) -> FlatGraph:
        """The flat graph of a model (anything `graphs.build` takes), at `batch` samples if
        given; spec strings and paths are built once and cached."""
        if isinstance(model, FlatGraph):
            return model
        model = code_spec(model)
        if not isinstance(model, str | PathLike):
            return build(model, input_shape=input_shape, batch=batch).flat()
        key = (str(model), batch) if input_shape is None else (str(model), batch, repr(input_shape))
        flat = self._graphs.get(key)
        if flat is None:
            flat = self._graphs[key] = build(model, input_shape=input_shape, batch=batch).flat()
            if len(self._graphs) > self._cache_size:
                self._graphs.popitem(last=False)
        return flat

    def predict(
        self,
        models: Iterable[Model | FlatGraph],
        metric: str = "latency",
        quantile: float | None = None,
        batch: int | None = None,
        input_shape: InputShape | None = None,
    ) -> np.ndarray:
        """Predictions in ms (mJ), per batch of `batch` samples (default: each spec's own
        batch, else 1). With `quantile` (e.g. 0.9), the conformal quantile of the measured
        value instead, from the profile's validated interval: "fits the budget with 90 %
        confidence" is `predict(models, quantile=0.9) <= budget`. `input_shape` applies to
        every ONNX model and torch module in `models`."""
        if metric not in METRICS:
            raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
        factor = 1.0 if quantile is None else self._quantile_factor(metric, quantile)
        profile = self.profile
        if isinstance(models, str | OpGraph | FlatGraph):
            raise EdgesimError("Predictor.predict takes a list of models; wrap a single one in [ ]")
        if metric == "latency":
            values = [run(self.graph(m, input_shape, batch), profile).latency_s for m in models]
        else:
            values = [run(self.graph(m, input_shape, batch), profile).energy_j for m in models]
        return self._checked(values, metric) * factor

    def _quantile_factor(self, metric: str, quantile: float) -> float:
        from simulator import intervals

        return intervals.ratio_quantile(intervals.require(self.profile, metric), quantile)

    def predict_space(
        self, space: str, archs: Iterable[str | Sequence[int]], metric: str = "latency", **options: str
    ) -> np.ndarray:
        """Latencies (ms) or energies (mJ) of search-space points given as arch strings or
        integer codes (`graphs.spaces.<space>.encode`), priced segment by segment where
        that is exact and as whole graphs where it is not; `options` are the space's
        (dataset, variant; none for `ofa_mbv3`, whose arch strings carry the resolution)
        and `batch` (default 1: latency and energy per batch of that many samples)."""
        from graphs.spaces import SPACES

        if metric not in METRICS:
            raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
        if space not in SPACES:
            raise EdgesimError(f"unknown search space {space!r}; spaces: {', '.join(SPACES)}")
        module = SPACES[space]
        batch = check_batch(options.pop("batch", 1))
        _check_space_options(space, module, options)
        if isinstance(archs, str):
            raise EdgesimError("predict_space takes a list of archs; wrap a single one in [ ]")
        pick = 0 if metric == "latency" else 1
        values = []
        for arch in archs:
            arch = arch if isinstance(arch, str) else _decode(space, module, arch)
            segments, (n, *sample) = module.chain(arch, **options)
            priced = self._pricer.price(segments, (n * batch, *sample))
            if priced is None:
                result = run(self.graph(module.spec(arch, **options), batch=batch), self.profile)
                priced = (result.latency_s, result.energy_j)
            values.append(priced[pick])
        return self._checked(values, metric)

    def _checked(self, values: list[float], metric: str) -> np.ndarray:
        """Milliseconds or millijoules, once every value is finite (and latencies positive)."""
        import numpy  # lazily: `import simulator` (and so `edgesim --help`) stays light

        out = numpy.asarray(values, dtype=float)
        bad = ~numpy.isfinite(out) | (out <= 0 if metric == "latency" else out < 0) | (out > MAX_RESULT[metric])
        if bad.any():
            check_results(self.profile, f"model #{int(numpy.argmax(bad))}", **{metric: float(out[bad][0])})
        return out * 1e3


def _check_space_options(space: str, module: ModuleType, options: dict[str, object]) -> None:
    allowed = [p for p in inspect.signature(module.chain).parameters if p != "arch"]
    for key, value in options.items():
        if key not in allowed:
            raise EdgesimError(f"{space}: unknown option {key!r}; options: {', '.join(allowed)}")
        if not isinstance(value, str):
            raise EdgesimError(f"{space}: option {key} is a string, not {type(value).__name__}")
    datasets = getattr(module, "DATASETS", {})
    if "dataset" in options and options["dataset"] not in datasets:
        raise EdgesimError(f"{space}: unknown dataset {options['dataset']!r}; datasets: {', '.join(datasets)}")


def _decode(space: str, module: ModuleType, arch: object) -> str:
    try:
        return module.decode(arch)
    except (TypeError, ValueError, IndexError) as exc:
        raise EdgesimError(f"{space}: an arch is a string or a list of integer codes, not {arch!r:.80} ({exc})") \
            from None
