"""Latency lookup tables of a search space on a device, for search code that already reads
one (OFA's and NNI's latency tables: one entry per block signature with its latency).

Every block choice at every position is priced alone, as the segment fast path prices it:
its kept ops, each at its cost, plus the energy of the power drawn over their time (the
device's busy power and the boundary's idle power: both linear in time, so they add up).
Entries are keyed by signature, `CHOICE-input:HxWxC-output:HxWxC` (a choice that recurs
with the same shapes is one entry, with every position it occurs at). The per-inference
graph terms that do not depend on the architecture (link transfers, the call into an
accelerator, a GPU runtime's per-inference work) are listed separately; a network's latency
and energy are the sum of its blocks' entries plus those terms, exactly what `predict`
gives wherever pricing is additive. Where it is not, `per_network` says what the sum
leaves out (weights streamed past an Edge TPU's parameter cache, a block the device cannot
run alone).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphs.errors import EdgesimError
from graphs.ops import Shape
from simulator.engine.fastpath import SegmentPricer
from simulator.engine.terms import inference_terms, power_terms
from simulator.hardware.profile import Profile
from simulator.results import DEVICE, HOST, TermKind

# Terms that depend on the whole network, not on its blocks one by one (for cost models that have them).
PER_NETWORK = {TermKind.PARAMETER_STREAMING: "weights past the parameter cache, streamed every inference; "
               "0 while the network's parameters fit the cache"}
SUFFIXES = (".csv", ".yaml", ".yml", ".json")


@dataclass
class Entry:
    key: str
    choice: str
    input_shape: Shape
    output_shape: Shape
    latency_s: float
    energy_j: float
    positions: list[str] = field(default_factory=list)


@dataclass
class GraphTerm:
    name: str
    latency_s: float
    energy_j: float
    note: str


@dataclass
class LookupTable:
    space: str
    device: str
    options: dict[str, Any]
    entries: list[Entry]
    terms: list[GraphTerm]
    per_network: dict[str, str]

    def entry_at(self, position: str, choice: str) -> Entry:
        """The entry of `choice` at `position` (a segment scope such as `block3`, `stem`)."""
        for entry in self.entries:
            if entry.choice == choice and position in entry.positions:
                return entry
        raise EdgesimError(f"no entry for {choice!r} at {position!r}")


def uniform_archs(space: str) -> list[str]:
    """Archs that between them put every choice at every position: one per choice."""
    if space != "fbnet":
        raise EdgesimError(f"lookup tables are for spaces whose blocks see fixed shapes: fbnet, not {space!r}")
    from graphs.spaces import fbnet

    return [fbnet.decode((c,) * fbnet.BLOCKS) for c in range(len(fbnet.CHOICES))]


def space_table(space: str, profile: Profile, **options: Any) -> LookupTable:
    """The lookup table of `space` (with its options, e.g. dataset) on `profile`."""
    from graphs.spaces import SPACES

    module = SPACES[space]
    pricer = SegmentPricer(profile)
    entries: dict[str, Entry] = {}
    seen: set[tuple[str, str]] = set()
    per_network = {kind.value: note for kind, note in PER_NETWORK.items() if hasattr(pricer.device, "parameter_cache")}
    input_shape = output_shape = None
    device_ops: list[Any] = []  # of the first arch: every term but parameter streaming asks only that there be some
    for arch in uniform_archs(space):
        segments, input_shape = module.chain(arch, **options)
        shape = input_shape
        for segment in segments:
            choice = str(segment.key[0])
            if (segment.scope, choice) in seen:
                shape = _output(pricer, segment, shape)
                continue
            seen.add((segment.scope, choice))
            cost = pricer.segment_cost(segment, shape)
            if cost is None:
                per_network[f"{choice}@{segment.scope}"] = (
                    f"{choice} at {segment.scope} cannot be priced alone on {profile.name} (it falls back "
                    "to the host or merges across its boundary): price networks that use it with predict")
                shape = _output(pricer, segment, shape)
                continue
            out = shape if cost.empty else cost.output_shape
            if not output_shape:
                device_ops.extend(cost.device_ops)
            key = f"{choice}-input:{_hwc(shape)}-output:{_hwc(out)}"
            latency = cost.latency_s
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = Entry(key, choice, shape, out, latency,
                                             cost.energy_j + _power(pricer, latency, latency))
            entry.positions.append(segment.scope)
            shape = out
        output_shape = shape
    return LookupTable(space, profile.name, dict(options), list(entries.values()),
                       _fixed_terms(pricer, device_ops, input_shape, output_shape), per_network)


def _output(pricer: SegmentPricer, segment: Any, shape: Shape) -> Shape:
    from graphs.segments import segment_graph

    graph = segment_graph(segment, shape)
    return graph.ops[-1].output if graph.ops else shape


def _fixed_terms(pricer: SegmentPricer, device_ops: Sequence[Any], input_shape: Shape,
                 output_shape: Shape) -> list[GraphTerm]:
    """The terms of an inference that every architecture pays alike, each with the energy
    of the power drawn over its time."""
    profile = pricer.profile
    terms = inference_terms(profile, pricer.device, device_ops, 0.0, pricer.link_terms(input_shape, output_shape),
                            pricer.host)
    out = []
    for term in terms:
        if term.kind in PER_NETWORK or term.kind.is_power:
            continue
        unit = term.kind.busy_unit
        energy = term.energy_j + _power(pricer, term.latency_s if unit == DEVICE else 0.0, term.latency_s,
                                        term.latency_s if unit == HOST else 0.0)
        out.append(GraphTerm(term.name, term.latency_s, energy, term.note))
    return out


def _power(pricer: SegmentPricer, device_s: float, latency_s: float, host_s: float = 0.0) -> float:
    """The power terms' energy over this much device time, host time and inference time
    (linear in each, so the parts add up to the network's)."""
    return sum(t.energy_j for t in power_terms(pricer.profile, device_s, pricer.host, host_s, latency_s))


def _hwc(shape: Shape) -> str:
    """OFA's shape notation: H x W x C for feature maps, the width for vectors."""
    if len(shape) == 4:
        return f"{shape[2]}x{shape[3]}x{shape[1]}"
    return "x".join(str(s) for s in shape[1:])


# -- writing --------------------------------------------------------------------------
def table_rows(table: LookupTable) -> tuple[list[str], list[list[Any]]]:
    header = ["kind", "key", "choice", "positions", "input", "output", "latency_ms", "energy_mj", "note"]
    rows: list[list[Any]] = [
        ["block", e.key, e.choice, " ".join(e.positions), _hwc(e.input_shape), _hwc(e.output_shape),
         e.latency_s * 1e3, e.energy_j * 1e3, ""] for e in table.entries
    ]
    rows += [["graph", t.name, "", "", "", "", t.latency_s * 1e3, t.energy_j * 1e3, t.note] for t in table.terms]
    rows += [["per_network", name, "", "", "", "", None, None, note] for name, note in table.per_network.items()]
    return header, rows


def write_table_file(table: LookupTable, path: Path) -> None:
    """CSV (`.csv`), YAML (`.yaml`, `.yml`) or JSON by the suffix; nothing half-written."""
    from graphs.files import write_text
    from simulator.tabular import number, to_json, write_table

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise EdgesimError(f"{path}: write a lookup table as {', '.join(SUFFIXES)}")
    if suffix == ".csv":
        write_table(*table_rows(table), "csv", path)
        return
    document = {
        e.key: {"mean": number(e.latency_s * 1e3), "count": 1, "latency_ms": number(e.latency_s * 1e3),
                "energy_mj": number(e.energy_j * 1e3), "positions": e.positions}
        for e in table.entries
    }
    extra = {
        "_graph_terms": {t.name: {"latency_ms": number(t.latency_s * 1e3), "energy_mj": number(t.energy_j * 1e3),
                                  "note": t.note} for t in table.terms},
        "_per_network": table.per_network,
    }
    if suffix == ".json":
        write_text(path, to_json({**document, **extra}) + "\n")
        return
    write_text(path, _yaml(table, document, extra))


def _yaml(table: LookupTable, document: dict[str, Any], extra: dict[str, Any]) -> str:
    """A YAML mapping from block signature to `{mean: latency in ms, ...}`, as OFA's
    `LatencyTable` reads it; JSON strings are YAML double-quoted scalars."""
    options = ", ".join(f"{k}={v}" for k, v in table.options.items()) or "default options"
    lines = [
        f"# edgesim lookup table: {table.space} ({options}) on {table.device}; mean = latency in ms, energy in mJ.",
        "# A network costs the sum of its blocks' entries plus every _graph_terms entry, as edgesim's",
        "# predict gives it where pricing is additive; _per_network lists what the sum leaves out.",
    ]
    return "\n".join(lines + _yaml_mapping({**document, **extra}, 0)) + "\n"


def _yaml_mapping(mapping: dict[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{json.dumps(key)}:")
            lines.extend(_yaml_mapping(value, depth + 1))
        else:  # a scalar, a list or an empty mapping: JSON's form is YAML's flow form
            lines.append(f"{pad}{json.dumps(key)}: {json.dumps(value)}")
    return lines


def network_cost(table: LookupTable, positions: Sequence[tuple[str, str]]) -> tuple[float, float]:
    """(latency s, energy J) of a network from the table: its (position, choice) pairs'
    entries plus the graph terms. What a user's search code computes from the file."""
    entries = [table.entry_at(p, c) for p, c in positions]
    latency = sum(e.latency_s for e in entries) + sum(t.latency_s for t in table.terms)
    energy = sum(e.energy_j for e in entries) + sum(t.energy_j for t in table.terms)
    if not math.isfinite(latency):
        raise EdgesimError("the table has no finite cost for this network")
    return latency, energy
