"""Hardware schema of a vector DSP such as Hexagon with HVX (`kind = "dsp"`, priced by
`simulator.costmodels.dsp`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from simulator.hardware.common import CategoryTable, Delegate
from simulator.hardware.fields import BYTES, COUNT, OPTIONAL_RATE, PER_CYCLE, RATE, SECONDS, SHARE


@dataclass(frozen=True)
class DspVector:
    vector_bits: Annotated[int, COUNT]  # HVX vector length (1024 in 128-byte mode)
    contexts: Annotated[int, COUNT]  # HVX contexts: hardware threads that each own a vector unit
    clock_hz: Annotated[float, RATE]
    macs_per_lane_per_cycle: Annotated[float, PER_CYCLE]  # int8 multiply-accumulates per byte lane per cycle
    channel_granularity: Annotated[int, COUNT]  # activation depth is padded to a multiple of this

    @property
    def lanes(self) -> int:
        """int8 lanes of one vector."""
        return self.vector_bits // 8

    def check(self) -> tuple[str, str] | None:
        """A vector holds whole channel groups."""
        if self.channel_granularity > self.lanes or self.lanes % self.channel_granularity:
            return "channel_granularity", f"must divide the {self.lanes} int8 lanes"
        return None


@dataclass(frozen=True)
class DspMemory:
    dram_bw_bytes_per_s: Annotated[float, RATE]  # sustained by the DSP
    # An activation tensor that fits in `cache_bytes` of L2 is read or written there (its
    # producer just wrote it); a larger one goes to DRAM. Weights come from DRAM.
    cache_bytes: Annotated[float, BYTES]
    cache_bw_bytes_per_s: Annotated[float, OPTIONAL_RATE]


@dataclass(frozen=True)
class DspOverhead:
    per_op_s: Annotated[float, SECONDS]  # set-up of one op (node) on the DSP
    weights_s: Annotated[float, SECONDS]  # extra set-up of an op with weights: bringing them into VTCM


@dataclass(frozen=True)
class DspHardware:
    offload_required: ClassVar[str] = (
        "the host calls into the DSP every inference and runs the ops its delegate rejects"
    )

    vector: DspVector
    efficiency: Annotated[CategoryTable, SHARE]  # share of peak achieved per op category
    memory: DspMemory
    overhead: DspOverhead
    delegate: Delegate
