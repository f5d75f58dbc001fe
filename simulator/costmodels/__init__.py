"""Cost models: pricing only, one module per hardware class, looked up by a profile's
`kind` through `simulator.hardware.classes` and imported on first use."""

from __future__ import annotations

from simulator.costmodels.base import CostModel, FreeParameter
from simulator.hardware.classes import hardware_class, resolve


def model_class(kind: str) -> type[CostModel]:
    """The cost model class of a hardware kind (`EdgesimError` for an unknown kind)."""
    return resolve(hardware_class(kind).cost_model)


__all__ = ["CostModel", "FreeParameter", "model_class"]
