"""The Python entry points: `predict` and `load_profile`."""

from __future__ import annotations

import math
import numbers
from pathlib import PurePath

from graphs.errors import EdgesimError
from graphs.spec import InputShape, Model, build, code_spec
from simulator.engine import simulate
from simulator.hardware.profile import Profile, load_profile
from simulator.report import Report


def resolve_profile(device: str | Profile) -> Profile:
    """A `Profile` as it is, or the profile a device name or TOML path names."""
    if isinstance(device, Profile):
        return device
    if not isinstance(device, str | PurePath):
        raise EdgesimError(f"a device is a profile name, a TOML path or a Profile, not {type(device).__name__}")
    try:
        return load_profile(str(device))
    except OSError as exc:  # a name too long for a path, a folder named like a profile, ...
        raise EdgesimError(f"device {str(device)[:80]!r}: cannot read it as a profile ({exc.strerror})") from None


def check_fps(fps: object) -> float | None:
    """`fps` as a float when it is a finite positive number (or None), else a one-line error."""
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise EdgesimError(f"fps is a number of frames per second, not {type(fps).__name__} {fps!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise EdgesimError(f"fps must be a finite positive number, not {fps}")
    return float(fps)


def predict(
    spec_or_graph: Model,
    device: str | Profile,
    fps: float | None = None,
    model: str | None = None,
    input_shape: InputShape | None = None,
) -> Report:
    """Simulate one inference of a model on a device (name, TOML path or `Profile`). The
    model is anything `graphs.build` takes: a spec string, a path, an `OpGraph`, an
    `onnx.ModelProto`, a `torch.nn.Module` (with `input_shape`) or a search space's numpy
    integer code. `model` names it in the
    report (default: the spec or path, else the graph's name)."""
    fps = check_fps(fps)
    if model is not None and not isinstance(model, str):
        raise EdgesimError(f"model names the report: a string, not {type(model).__name__}")
    profile = resolve_profile(device)
    spec_or_graph = code_spec(spec_or_graph)
    graph = build(spec_or_graph, input_shape=input_shape)
    name = model or (str(spec_or_graph) if isinstance(spec_or_graph, str | PurePath) else graph.name)
    report = simulate(graph, profile, fps=fps, model=name)
    check_results(profile, name, latency=report.latency_s, energy=report.energy_j)
    return report


# No single inference takes longer than this (11.6 days) or uses more (a megajoule): beyond,
# a profile rate is off by orders of magnitude, and figures of such values fail to draw.
MAX_RESULT = {"latency": 1e6, "energy": 1e6}


def check_results(profile: Profile, model: str, **values: float) -> None:
    """A one-line error unless every value is finite, below `MAX_RESULT` and (latencies)
    positive: such a prediction comes from a profile value out of any physical range."""
    for what, value in values.items():
        low_ok = value > 0 if what == "latency" else value >= 0
        if not (math.isfinite(value) and low_ok and value <= MAX_RESULT[what]):
            unit = "s" if what == "latency" else "J"
            raise EdgesimError(
                f"{model} on {profile.path or profile.name}: the predicted {what} is {value:g} {unit}; "
                "a profile value is out of any physical range (a rate near 0 or an overhead near 1e308?)"
            )
