"""Cost models: pricing only, one module per hardware class, looked up by a profile's
`kind` through `simulator.hardware.classes`.

The map names each model by module path, so the hardware layer (loading a profile) never
imports pricing code; `import simulator` imports them all up front so that a first
prediction does not pay for imports, and `model_class` imports any other on first use
(a class registered later, a test's fake)."""

from __future__ import annotations

from simulator.costmodels.base import CostModel, FreeParameter
from simulator.hardware.classes import hardware_class, resolve


def model_class(kind: str) -> type[CostModel]:
    """The cost model class of a hardware kind (`EdgesimError` for an unknown kind)."""
    return resolve(hardware_class(kind).cost_model)


__all__ = ["CostModel", "FreeParameter", "model_class"]
