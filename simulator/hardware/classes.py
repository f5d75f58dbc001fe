"""The hardware classes: profile `kind` -> its schema and the cost model that prices it.

Entries name "module:attribute" and are imported on first use, so loading a profile
never imports pricing code. Adding a hardware class adds one entry here.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from graphs.errors import EdgesimError


class HardwareClass(NamedTuple):
    schema: str  # "module:class" of the hardware schema (a frozen dataclass)
    cost_model: str  # "module:class" of its `simulator.costmodels.base.CostModel`


CLASSES: dict[str, HardwareClass] = {
    "cpu": HardwareClass("simulator.hardware.cpu:CpuHardware", "simulator.costmodels.cpu:CpuModel"),
    "systolic": HardwareClass(
        "simulator.hardware.systolic:SystolicHardware", "simulator.costmodels.systolic:SystolicModel"
    ),
    "dsp": HardwareClass("simulator.hardware.dsp:DspHardware", "simulator.costmodels.dsp:DspModel"),
    "gpu": HardwareClass("simulator.hardware.gpu:GpuHardware", "simulator.costmodels.gpu:GpuModel"),
}


def hardware_class(kind: str) -> HardwareClass:
    try:
        return CLASSES[kind]
    except KeyError:
        raise EdgesimError(f"unknown profile kind {kind!r}; known kinds: {', '.join(CLASSES)}") from None


def resolve(target: str) -> Any:
    """The attribute a "module:attribute" entry names."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def schema_class(kind: str) -> type:
    return resolve(hardware_class(kind).schema)
