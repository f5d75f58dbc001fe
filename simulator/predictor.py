"""Batch prediction for search loops: many candidates, one device.

`Predictor.predict` takes models in every form the API knows: spec strings (zoo models,
search-space points, graph files), graphs, and integer codes of a search space (lists,
tuples, numpy arrays, or a 2-D array of them). Search-space points go to the segment fast
path (`SegmentPricer`: each distinct segment priced once, graph-level terms per network)
wherever that is exact, and to `engine.run` on the whole graph where it is not, the path
`predict()` takes; results are remembered per spec and per code, so a search loop that
revisits a point pays a dictionary lookup. Graphs are priced afresh each time (a graph
object can change).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from os import PathLike
from types import ModuleType
from typing import TYPE_CHECKING, Any

from graphs.batch import check_batch
from graphs.errors import EdgesimError
from graphs.flat import FlatGraph
from graphs.graph import OpGraph
from graphs.spec import InputShape, Model, build, code_spec, is_path_spec, parse_spec
from simulator.api import MAX_RESULT, check_results, resolve_profile
from simulator.engine import run
from simulator.engine.fastpath import SegmentPricer
from simulator.hardware.profile import Profile

if TYPE_CHECKING:
    import numpy as np

METRICS = ("latency", "energy")
COLUMNS = {"latency": "latency_ms", "energy": "energy_mj"}
_ALL = list(METRICS)
_KNOWN = frozenset(METRICS)


class Predictor:
    """`Predictor("pixel4-cpu").predict(["mobilenet_v2", ...])` → latencies in ms
    (`metric="energy"`: mJ per inference; `metrics=("latency", "energy")`: both)."""

    def __init__(self, device: str | Profile, cache_size: int = 8192, memo_size: int = 1 << 20) -> None:
        self.profile = resolve_profile(device)
        self._graphs: OrderedDict[tuple[str, int | None], FlatGraph] = OrderedDict()
        self._cache_size = cache_size
        self._pricer = SegmentPricer(self.profile)
        # Per spec or code, its column of `_values`: (latency s, energy J), so that every
        # call gathers its columns once, whichever metrics it asks for.
        self._memo: dict[Hashable, int] = {}
        self._memo_size = memo_size
        self._values: np.ndarray | None = None  # made by the first `predict` (numpy loads lazily)
        self._columns = 0  # columns of `_values` ever used; `_free` lists those to reuse
        self._free: list[int] = []

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
        models: Iterable[Any],
        metric: str = "latency",
        quantile: float | None = None,
        batch: int | None = None,
        input_shape: InputShape | None = None,
        *,
        metrics: Sequence[str] | None = None,
        space: str | None = None,
        **options: Any,
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Latency in ms (`metric="energy"`: mJ per inference) of each model, as a numpy
        array in the models' order. With `metrics=("latency", "energy")`, every metric
        from one pass: a dict from metric name to such an array (`pandas.DataFrame(result)`
        makes it a table).

        `models`: spec strings, graphs, or integer codes (a code names its space by its
        length, or give `space`); with `space`, strings are that space's arch strings and
        `options` its options (dataset, variant), as `predict_space` takes them. Values
        are per batch of `batch` samples (default: each spec's own batch, else 1).
        With `quantile` (e.g. 0.9), the conformal quantile of the measured value instead,
        from the profile's validated interval: "fits the budget with 90 % confidence" is
        `predict(models, quantile=0.9) <= budget`. Paths, ONNX models and torch modules
        are priced whole (`input_shape` applies to every ONNX model and torch module)."""
        from graphs.spaces import is_code

        names = _metric_names(metric, metrics)
        factors = [1.0 if quantile is None or m not in names else self._quantile_factor(m, quantile) for m in METRICS]
        if isinstance(models, str | OpGraph | FlatGraph):
            raise EdgesimError("Predictor.predict takes a list of models; wrap a single one in [ ]")
        if batch is not None:
            check_batch(batch)
        module = None
        if space is not None:
            from graphs.spaces import code_space

            module = code_space((), space)
            _check_space_options(space, module, options)
        elif options:
            raise EdgesimError(f"options {', '.join(options)} need space=...; spec strings carry their own")
        suffix = (tuple(sorted(options.items())), batch) if options or batch is not None else None
        if self._values is None:
            self._values = _new_values(1024)
        memo = self._memo
        columns = []
        unremembered = []  # columns of this call's graphs, freed once gathered
        try:
            for model in models:
                if isinstance(model, str):
                    key: Hashable = model if suffix is None else (model, suffix)
                elif space is not None or is_code(model):
                    key = (_code_key(model, space), space, suffix)
                else:  # a graph, a path, an ONNX model, a torch module: priced whole, not remembered
                    unremembered.append(column := self._store(self._whole(model, batch, input_shape)))
                    columns.append(column)
                    continue
                column = memo.get(key)
                if column is None:
                    column = memo[key] = self._store(self._price(model, module, options, batch))
                columns.append(column)
            import numpy  # lazily: `import simulator` (and so `edgesim --help`) stays light

            # Every metric is gathered, checked and scaled whichever are asked, so that
            # asking for both costs what asking for one does: row 0 latency, row 1 energy.
            table = self._values.take(numpy.asarray(columns, dtype=numpy.intp), axis=1)
        finally:
            self._forget(unremembered)
        self._check(table, names)
        table *= 1e3  # ms, mJ
        if quantile is not None:
            table *= numpy.asarray(factors)[:, None]
        rows = dict(zip(METRICS, table, strict=True))  # every row, whichever are asked
        if metrics is None:
            return rows[metric]
        return rows if names == _ALL else {m: rows[m] for m in names}

    def predict_frame(self, models: Iterable[Any], metrics: Sequence[str] = METRICS, **kwargs: Any) -> Any:
        """`predict` as a pandas DataFrame: a `model` column (specs as given, codes as their
        specs, graphs by name) and `latency_ms` / `energy_mj`. Needs `edgesim[frames]`."""
        from simulator.tabular import to_frame

        models = list(models)
        values = self.predict(models, metrics=metrics, **kwargs)
        names = [_label(m, kwargs.get("space")) for m in models]
        header = ["model", *(COLUMNS[m] for m in values)]
        return to_frame(header, list(zip(names, *values.values(), strict=True)))

    def predict_space(
        self, space: str, archs: Iterable[str | Sequence[int]], metric: str = "latency", **options: Any
    ) -> np.ndarray:
        """Latencies (ms) or energies (mJ) of search-space points given as arch strings or
        integer codes (`graphs.spaces.<space>.encode`); `options` are the space's
        (dataset, variant; none for `ofa_mbv3`, whose arch strings carry the resolution)
        and `batch` (default 1: latency and energy per batch of that many samples). The
        same as `predict(archs, metric, batch=batch, space=space, **options)`."""
        batch = options.pop("batch", None)
        return self.predict(archs, metric, batch=batch, space=space, **options)

    def _check(self, table: np.ndarray, names: Sequence[str]) -> None:
        """Every value of the metrics asked (`names`) finite, below `MAX_RESULT` and
        (latencies) positive; row k of `table` holds `METRICS[k]` in seconds or joules. Two
        reductions over the whole table, whichever metrics are asked (NaN fails every
        comparison); the values of a metric asked only when one fails."""
        import numpy

        if not table.shape[1]:
            return
        low, high = table.min(axis=1), table.max(axis=1)
        if low[0] > 0 and low[1] >= 0 and high[0] <= MAX_RESULT["latency"] and high[1] <= MAX_RESULT["energy"]:
            return
        for name in names:
            values = table[METRICS.index(name)]
            bad = ~numpy.isfinite(values) | (values <= 0 if name == "latency" else values < 0)
            bad |= values > MAX_RESULT[name]
            if bad.any():
                i = int(numpy.argmax(bad))
                check_results(self.profile, f"model #{i}", **{name: float(values[i])})

    def _store(self, values: tuple[float, float]) -> int:
        """A column of `_values` holding (latency s, energy J): a freed one, else the next."""
        if self._free:
            column = self._free.pop()
        else:
            column = self._columns
            self._columns += 1
            if column == self._values.shape[1]:
                grown = _new_values(2 * column)
                grown[:, :column] = self._values
                self._values = grown
        self._values[:, column] = values
        return column

    def _forget(self, unremembered: list[int]) -> None:
        """Free the columns of this call's unremembered results, then the oldest entries'
        beyond `memo_size` (after the call has gathered them: a column freed mid-call
        could be overwritten before the gather)."""
        memo = self._memo
        self._free += unremembered
        while len(memo) > self._memo_size:
            self._free.append(memo.pop(next(iter(memo))))

    def _quantile_factor(self, metric: str, quantile: float) -> float:
        from simulator import intervals

        return intervals.ratio_quantile(intervals.require(self.profile, metric), quantile)

    def _whole(self, model: Model | FlatGraph, batch: int | None = None,
               input_shape: InputShape | None = None) -> tuple[float, float]:
        result = run(self.graph(model, input_shape, batch), self.profile)
        return result.latency_s, result.energy_j

    def _price(self, model: Any, module: Any, options: dict[str, Any], batch: int | None) -> tuple[float, float]:
        """(latency s, energy J) of a spec string, an arch string of `module` or a code:
        by segments where the model is a search-space point and that is exact, else whole."""
        from graphs.spaces import SPACES, code_space

        if not isinstance(model, str):
            module = code_space(_code_key(model), module.NAME if module else None)
            model = module.decode(_code_key(model))
        if module is not None:  # an arch string of a named space
            chain = module.chain(model, **options)
            return self._by_segments(chain, batch or 1, module.spec(model, **options), batch)
        if is_path_spec(model):
            return self._whole(model, batch)
        name, spec_options = parse_spec(model)
        if name not in SPACES:
            return self._whole(model, batch)
        spec_batch = spec_options.pop("batch", 1)
        if batch is not None and "batch" in parse_spec(model)[1] and batch != spec_batch:
            return self._whole(model, batch)  # building it says that they disagree
        try:
            chain = SPACES[name].spec_chain(**spec_options)
        except (TypeError, EdgesimError):  # a bad option: building the spec says what is wrong
            return self._whole(model, batch)
        return self._by_segments(chain, check_batch(batch or spec_batch), model, batch)

    def _by_segments(self, chain: tuple, samples: int, whole: str, batch: int | None) -> tuple[float, float]:
        """The chain at `samples` by segments, or the spec `whole` at `batch` where that is not exact."""
        segments, (n, *sample) = chain
        invocations = samples if self._pricer.device.batch_as_invocations else 1  # (not a profile hash per arch)
        priced = self._pricer.price(segments, (n * samples // invocations, *sample))
        if priced is None:
            return self._whole(whole, batch)
        return priced[0] * invocations, priced[1] * invocations


def _new_values(columns: int) -> np.ndarray:
    import numpy

    return numpy.empty((len(METRICS), columns))


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


def _metric_names(metric: str, metrics: Sequence[str] | None) -> list[str]:
    names = [metric] if metrics is None else list(metrics)
    try:  # one check whether one metric or two is asked
        if names and not isinstance(metrics, str) and _KNOWN.issuperset(names):
            return names
    except TypeError:  # an unhashable name
        pass
    if isinstance(metrics, str) or not names:
        raise EdgesimError(f"metrics must be a non-empty sequence of {', '.join(METRICS)}")
    unknown = next(name for name in names if name not in METRICS)
    raise EdgesimError(f"metric must be one of {', '.join(METRICS)}, not {unknown!r}")


def _code_key(code: Any, space: str | None = None) -> tuple[int, ...]:
    """A code (list, tuple, numpy row) as a tuple of ints; anything else is not a model."""
    from graphs.spaces import is_code

    if isinstance(code, tuple) and is_code(code):
        return code
    if is_code(code):
        return tuple(code.tolist()) if hasattr(code, "tolist") else tuple(code)
    raise EdgesimError(f"{space}: an arch is a string or a list of integer codes, not {code!r:.80}")


def _label(model: Any, space: str | None) -> str:
    if isinstance(model, str):
        return model
    if isinstance(model, OpGraph | FlatGraph):
        return model.name
    from graphs.spaces import spec_of_code

    return spec_of_code(_code_key(model), space)
