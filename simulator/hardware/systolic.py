"""Hardware schema of a systolic-array accelerator such as the Edge TPU
(`kind = "systolic"`, priced by `simulator.costmodels.systolic`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from simulator.hardware.fields import BYTES, COUNT, RATE, SECONDS, one_of

# What the array keeps in place while the other operands stream past it: weights,
# outputs or inputs (SCALE-Sim's ws / os / is).
DATAFLOWS: tuple[str, ...] = ("ws", "os", "is")

# How a depthwise conv (one filter per channel, no reduction across channels) occupies the
# array:
# - "channels_on_columns": channel c's kh·kw taps sit in column c's rows, so the array
#   reduces over the taps and runs up to `array_cols` channels side by side (each column
#   needs its own channel's window, which the Edge TPU's per-tile activation memory can
#   feed; a textbook systolic array, which shares one input row across columns, could not).
# - "gemm_per_channel": the plain lowering, one M × (kh·kw) × 1 GEMM per channel.
DEPTHWISE_MAPPINGS = ("channels_on_columns", "gemm_per_channel")

# Where the partial sums of a reduction longer than the array's rows (K > rows: several
# row folds) are added up:
# - "drain": each row fold's partial sums leave the array through the vector lanes, which
#   accumulate them (narrow accumulators);
# - "accumulate": full-width accumulators beside the array add them up, and only the
#   final outputs drain through the lanes.
PARTIAL_SUMS = ("drain", "accumulate")


@dataclass(frozen=True)
class ArraySpec:
    array_rows: Annotated[int, COUNT]
    array_cols: Annotated[int, COUNT]
    array_clock_hz: Annotated[float, RATE]
    dataflow: Annotated[str, one_of(DATAFLOWS)]
    depthwise_mapping: Annotated[str, one_of(DEPTHWISE_MAPPINGS)]
    partial_sums: Annotated[str, one_of(PARTIAL_SUMS)]


@dataclass(frozen=True)
class VectorSpec:
    """Lanes for elementwise, activation, pooling, softmax and data-movement ops, through
    which the array's results also drain."""

    vector_lanes: Annotated[int, COUNT]
    vector_clock_hz: Annotated[float, RATE]


@dataclass(frozen=True)
class SystolicMemory:
    parameter_cache_bytes: Annotated[float, BYTES]  # on-chip SRAM usable for parameters


@dataclass(frozen=True)
class SystolicOverhead:
    array_op_s: Annotated[float, SECONDS]  # fixed cost of each conv/dense pass on the array
    vector_op_s: Annotated[float, SECONDS]  # fixed cost of each op on the vector path (a pass of its own)


@dataclass(frozen=True)
class SystolicHardware:
    offload_required: ClassVar[str] = (
        "its host link streams the parameters that miss the cache and its host runs the ops "
        "the compiler does not map"
    )
    no_dram: ClassVar[str] = (
        "the Edge TPU has no DRAM of its own: the parameters past its cache stream over the host "
        "link, priced by offload.link_energy_per_byte_j"
    )

    array: ArraySpec
    vector: VectorSpec
    memory: SystolicMemory
    overhead: SystolicOverhead
