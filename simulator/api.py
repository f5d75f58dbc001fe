"""The Python entry points: `predict` and `load_profile`."""

from __future__ import annotations

from graphs.graph import OpGraph
from graphs.spec import build
from simulator.engine import simulate
from simulator.hardware.profile import Profile, load_profile
from simulator.report import Report


def resolve_profile(device: str | Profile) -> Profile:
    return device if isinstance(device, Profile) else load_profile(device)


def predict(
    spec_or_graph: str | OpGraph, device: str | Profile, fps: float | None = None, model: str | None = None
) -> Report:
    """Simulate one inference of a model (spec string or graph) on a device (name, TOML
    path or `Profile`); `model` names it in the report (default: the spec or graph name)."""
    graph = build(spec_or_graph)
    name = model or (spec_or_graph if isinstance(spec_or_graph, str) else graph.name)
    return simulate(graph, resolve_profile(device), fps=fps, model=name)
