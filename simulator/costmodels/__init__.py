"""Cost models, one module per hardware class, looked up by a profile's `kind`."""

from __future__ import annotations

import importlib

from simulator.costmodels.base import CostModel, FreeParameter, OpCost, Term

# kind -> "module:class"; modules are imported on first use.
MODELS = {
    "cpu": "simulator.costmodels.cpu:CpuModel",
    "systolic": "simulator.costmodels.systolic:SystolicModel",
    "dsp": "simulator.costmodels.dsp:DspModel",
    "gpu": "simulator.costmodels.gpu:GpuModel",
}


def model_class(kind: str) -> type[CostModel]:
    if kind not in MODELS:
        raise KeyError(f"unknown profile kind {kind!r}; known kinds: {', '.join(MODELS)}")
    module, cls = MODELS[kind].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["MODELS", "CostModel", "FreeParameter", "OpCost", "Term", "model_class"]
