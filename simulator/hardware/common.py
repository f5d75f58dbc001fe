"""Tables every profile has (runtime, energy), the offload table of accelerators, and
the pieces several hardware classes share (per-category tables, delegate rules)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from graphs.ops import MAC_KINDS, Category, Kind
from simulator.boundary import BOUNDARIES
from simulator.hardware.fields import JOULES, PER_PRECISION, RATE, SECONDS, WATTS, FrozenMap, one_of

PRECISION_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
FALLBACK_RULES = ("after_first_unsupported", "per_op")
KIND_NAMES = tuple(k.value for k in Kind)


@dataclass(frozen=True)
class RuntimeSpec:
    """What the runtime does to a graph before running it (a property of the software
    stack that was measured, not of the network)."""

    fold_batch_norm: bool = True
    fused_activations: Annotated[tuple[str, ...], one_of(KIND_NAMES)] = ("relu", "relu6")
    prune_dead_ops: bool = True
    # The kinds an activation fuses into (its producer, when that has no other reader):
    # convs and dense layers by default; TFLite also fuses into adds, muls and pools.
    fuse_into: Annotated[tuple[str, ...], one_of(KIND_NAMES)] = tuple(sorted(k.value for k in MAC_KINDS))
    # The converter's common-subexpression elimination: weightless ops of the same kind
    # and attributes on the same tensors run once (`graphs.flat.canonical_ops`).
    merge_duplicates: bool = False


@dataclass(frozen=True)
class EnergySpec:
    """What the profile's energy covers and costs. Energy per inference, at `boundary`:
    MACs × energy_per_mac_j[precision] + bytes × per-level energy + static_power_w (busy
    power above idle) × the time the unit runs + idle_power_w (the boundary's idle draw)
    × latency. Average power: `simulator.power`."""

    energy_per_mac_j: Annotated[FrozenMap, PER_PRECISION, JOULES]  # precision -> joules per MAC
    sram_energy_per_byte_j: Annotated[float, JOULES]
    static_power_w: Annotated[float, WATTS]  # drawn above idle while the unit runs ops
    idle_power_w: Annotated[float, WATTS]  # the whole boundary's draw with nothing running
    boundary: Annotated[str, one_of(BOUNDARIES)]  # what the energy covers
    # Required, except in a class whose schema says it has no DRAM (`no_dram`): there the
    # key is refused and stays None.
    dram_energy_per_byte_j: Annotated[float | None, JOULES] = None


@dataclass(frozen=True)
class OffloadSpec:
    """An accelerator driven by a host CPU: what it cannot run goes to `host`."""

    host: str  # host CPU profile name or path
    fallback: Annotated[str, one_of(FALLBACK_RULES)]
    link_bw_bytes_per_s: Annotated[float, RATE]
    link_latency_s: Annotated[float, SECONDS]  # per transfer over the link
    link_energy_per_byte_j: Annotated[float, JOULES]
    invocation_overhead_s: Annotated[float, SECONDS]  # per inference: the host's call into the accelerator


@dataclass(frozen=True)
class CategoryTable:
    """One number per op category (`graphs.ops.Category`): an efficiency (share of
    peak), or a count such as kernel launches per op."""

    conv: float
    pointwise: float
    depthwise: float
    dense: float
    elementwise: float
    pool: float
    data: float
    softmax: float

    def as_dict(self) -> dict[str, float]:
        """category -> value, for the per-op lookup on the hot path."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


assert [f.name for f in dataclasses.fields(CategoryTable)] == [c.value for c in Category]


@dataclass(frozen=True)
class Delegate:
    """Op kinds the runtime's delegate for this unit does not take (`graphs.ops.Kind`
    values); they run on the `[offload]` host. A delegate whose quantized operator set is
    smaller than its float one (XNNPACK's) lists the kinds it takes in float only under
    `int8_unsupported_kinds`."""

    unsupported_kinds: Annotated[tuple[str, ...], one_of(KIND_NAMES)]
    int8_unsupported_kinds: Annotated[tuple[str, ...] | None, one_of(KIND_NAMES)] = None

    def rejected(self, precision: str) -> frozenset[Kind]:
        """The kinds the delegate leaves to the host at `precision`."""
        kinds = self.unsupported_kinds + ((self.int8_unsupported_kinds or ()) if precision == "int8" else ())
        return frozenset(Kind(k) for k in kinds)


