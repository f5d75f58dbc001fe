"""`OpGraph`: ops on a `networkx.DiGraph`, with totals, validation and a JSON form."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphs.errors import EdgesimError
from graphs.files import write_text
from graphs.flat import FlatGraph
from graphs.ops import Op, Shape

if TYPE_CHECKING:
    import networkx as nx

FORMAT = "edgesim-graph"
VERSION = 1

# Op fields written to JSON only when they differ from these defaults.
_OPTIONAL_FIELDS = {
    "kernel": (1, 1),
    "stride": (1, 1),
    "dilation": (1, 1),
    "groups": 1,
    "bias": False,
    "bits": 32,
    "tag": "",
}


class OpGraph:
    """A network as a DAG of ops.

    Nodes are op names; each node carries its `Op` and `sources`, the producers of its
    inputs in port order. A source is another op's name or the name of a graph input
    (`inputs` maps those names to shapes). Builders add ops in a topological order.
    """

    def __init__(
        self,
        name: str,
        inputs: Mapping[str, Shape],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.inputs: dict[str, Shape] = {k: tuple(v) for k, v in inputs.items()}
        self.meta: dict[str, Any] = dict(meta or {})
        # Ops and their sources in insertion order; the networkx view is built on demand
        # (`nx`), so building and pricing graphs never pays for it.
        self._ops: dict[str, Op] = {}
        self._sources: dict[str, tuple[str, ...]] = {}
        self._order: tuple[Op, ...] | None = None
        self._flat: FlatGraph | None = None
        self._nx: nx.DiGraph | None = None

    # -- building ---------------------------------------------------------------------
    def add(self, op: Op, sources: Sequence[str]) -> str:
        """Add `op` fed by `sources` (one per input, in order); return its name."""
        if op.name in self._ops or op.name in self.inputs:
            raise EdgesimError(f"graph {self.name!r}: duplicate op name {op.name!r}")
        if len(sources) != len(op.inputs):
            raise EdgesimError(
                f"graph {self.name!r}: op {op.name!r} has {len(op.inputs)} inputs "
                f"but {len(sources)} sources"
            )
        for src in sources:
            if src not in self._ops and src not in self.inputs:
                raise EdgesimError(f"graph {self.name!r}: op {op.name!r} reads unknown {src!r}")
        sources = tuple(sources)
        self._ops[op.name] = op
        self._sources[op.name] = sources
        self._order = None
        self._flat = None
        self._nx = None
        return op.name

    def extend(self, ops: Sequence[Op], sources: Sequence[tuple[str, ...]]) -> None:
        """`add` each op in turn, for ops copied from a graph that was checked when it was
        built (a builder part's record): only names are checked, since the record's
        sources exist (the part's inputs and its own earlier ops)."""
        for op, srcs in zip(ops, sources, strict=True):
            if op.name in self._ops or op.name in self.inputs:
                raise EdgesimError(f"graph {self.name!r}: duplicate op name {op.name!r}")
            self._ops[op.name] = op
            self._sources[op.name] = srcs
        self._order = None
        self._flat = None
        self._nx = None

    # -- reading ----------------------------------------------------------------------
    @property
    def nx(self) -> nx.DiGraph:
        """The graph as a `networkx.DiGraph` (nodes are op names carrying `op` and
        `sources`), for graph algorithms; read it, build through `add`."""
        if self._nx is None:
            import networkx

            g = networkx.DiGraph()
            for name, op in self._ops.items():
                g.add_node(name, op=op, sources=self._sources[name])
                g.add_edges_from((src, name) for src in self._sources[name] if src in self._ops)
            self._nx = g
        return self._nx

    def ops(self) -> tuple[Op, ...]:
        """All ops in insertion order, which is topological: `add` only accepts sources
        that already exist."""
        if self._order is None:
            self._order = tuple(self._ops.values())
        return self._order

    def flat(self) -> FlatGraph:
        """The graph as a `FlatGraph` (computed once), which the engine prices."""
        if self._flat is None:
            names = list(self.inputs)
            index = {n: -1 - k for k, n in enumerate(names)}
            ops = self.ops()
            index.update(zip(self._ops, range(len(ops)), strict=True))
            self._flat = FlatGraph(
                self.name,
                ops,
                tuple([tuple([index[s] for s in srcs]) for srcs in self._sources.values()]),
                tuple(self.inputs[n] for n in names),
                tuple(names),
            )
        return self._flat

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops())

    def __len__(self) -> int:
        return len(self._ops)

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def op(self, name: str) -> Op:
        return self._ops[name]

    def sources(self, name: str) -> tuple[str, ...]:
        return self._sources[name]

    def consumers(self, name: str) -> list[str]:
        return [n for n, srcs in self._sources.items() if name in srcs]

    def outputs(self) -> list[str]:
        """Names of the ops whose results leave the graph (no consumer)."""
        flat = self.flat()
        return [flat.ops[i].name for i in flat.outputs]

    def shape_of(self, tensor: str) -> Shape:
        """Shape of a graph input or of an op's output."""
        if tensor in self.inputs:
            return self.inputs[tensor]
        return self._ops[tensor].output

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops())

    @property
    def params(self) -> int:
        return sum(op.params for op in self.ops())

    # -- checking ---------------------------------------------------------------------
    def validate(self) -> OpGraph:
        """Check that the graph has ops and every input shape equals its producer's
        output; return self."""
        if not self._ops:
            raise EdgesimError(f"graph {self.name!r} has no ops (all of it is constant or empty)")
        for name, op in self._ops.items():
            for port, (src, want) in enumerate(zip(self._sources[name], op.inputs, strict=True)):
                got = self.shape_of(src)
                if tuple(got) != tuple(want):
                    raise EdgesimError(
                        f"graph {self.name!r}: op {name!r} input {port} expects shape "
                        f"{list(want)} but {src!r} gives {list(got)}"
                    )
        return self

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        ops = []
        for op in self.ops():
            item: dict[str, Any] = {
                "name": op.name,
                "kind": op.kind.value,
                "sources": list(self.sources(op.name)),
                "inputs": [list(s) for s in op.inputs],
                "output": list(op.output),
            }
            for key, default in _OPTIONAL_FIELDS.items():
                value = getattr(op, key)
                if value != default:
                    item[key] = list(value) if isinstance(value, tuple) else value
            if op.attrs:
                item["attrs"] = {k: _jsonable(v) for k, v in op.attrs}
            ops.append(item)
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "meta": self.meta,
            "ops": ops,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> OpGraph:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise EdgesimError(f"{origin}: not an edgesim graph (missing format={FORMAT!r})")
        try:
            if not isinstance(data["name"], str) or not isinstance(data["ops"], list) or not data["ops"]:
                raise ValueError("a graph has a name and a non-empty list of ops")
            for key, shape in data["inputs"].items():
                _check_shape(shape, f"input {key!r}")
            graph = cls(data["name"], data["inputs"], data.get("meta"))
            for item in data["ops"]:
                _check_op_fields(item)
                fields = {k: item[k] for k in _OPTIONAL_FIELDS if k in item}
                for key in ("kernel", "stride", "dilation"):
                    if key in fields:
                        fields[key] = tuple(fields[key])
                attrs = tuple(sorted((k, _hashable(v)) for k, v in item.get("attrs", {}).items()))
                op = Op(
                    name=item["name"],
                    kind=item["kind"],
                    inputs=tuple(tuple(s) for s in item["inputs"]),
                    output=tuple(item["output"]),
                    attrs=attrs,
                    **fields,
                )
                graph.add(op, item["sources"])
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise EdgesimError(f"{origin}: malformed graph JSON ({exc!r})") from None
        return graph

    @classmethod
    def from_json(cls, text: str, origin: str = "<json>") -> OpGraph:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise EdgesimError(f"{origin}: not valid JSON ({exc})") from None
        return cls.from_dict(data, origin)

    def save(self, path: str | Path) -> None:
        write_text(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | Path) -> OpGraph:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise EdgesimError(f"{path}: cannot read graph file ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise EdgesimError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
        return cls.from_json(text, str(path)).validate()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpGraph):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OpGraph({self.name!r}, {len(self)} ops, {self.macs / 1e6:.1f} MMACs)"


def _check_shape(shape: Any, what: str) -> None:
    if not isinstance(shape, list | tuple) or not all(type(d) is int and 0 < d < 2**31 for d in shape):
        raise ValueError(f"{what}: a shape is a list of positive integers, not {shape!r}")


def _check_op_fields(item: Any) -> None:
    """The types and ranges `Op` trusts: shapes and kernel/stride/dilation of positive
    integers, at least one group, 1-64 bits."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ValueError(f"an op is an object with a name, not {item!r:.80}")
    what = f"op {item['name']!r}"
    for shape in item["inputs"]:
        _check_shape(shape, what)
    _check_shape(item["output"], what)
    for key in ("kernel", "stride", "dilation"):
        if key in item:
            _check_shape(item[key], f"{what} {key}")
    if type(item.get("groups", 1)) is not int or item.get("groups", 1) < 1:
        raise ValueError(f"{what}: groups is a positive integer")
    if type(item.get("bits", 32)) is not int or not 1 <= item.get("bits", 32) <= 64:
        raise ValueError(f"{what}: bits is an integer from 1 to 64")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
