"""Every numeric field of every shipped profile changes some prediction (latency, energy or
average power) of a small basket of networks; a field that changes nothing is dead and
must go. GPU utilisation never reads above 100 %."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from graphs.errors import EdgesimError
from graphs.spec import build
from simulator.engine import simulate
from simulator.hardware.profile import Profile, device_names, load_profile

# Networks that between them use every op category, Winograd-shaped 3x3 convs, large weights
# (a parameter cache's spill), unfused batch norm and zero edges (PyTorch runtimes), small
# channel counts (vector tails), detection heads (data ops, an offload's hand-overs) and
# ops on a constant node; and a batch of 64, as the batch GPU profiles were fitted (HELP's
# OFA bs64 rows): tensors that stay in L2 long enough to outlast a kernel launch, data ops
# large enough to be compute-bound.
BASKET = (
    "mobilenet_v2",
    "mobilenet_v3_small",
    "resnet50",
    "ssdlite(resolution=300)",
    "ssdlite(resolution=300, batch=64)",
    # a `none` edge from the input node: ops on a constant node (host-cpu-litert-builtin's
    # constant_per_element_s)
    "nasbench201(arch='|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|')",
)
FPS = 5.0
PRECISIONS = ("fp32", "fp16", "int8")
SKIP_TABLES = {"sources", "calibration"}
# Fields that act only together with another setting: swept with that setting applied.
# More threads than one: the parallel share of each added core and the per-op wake-up.
CONTEXT = {
    "compute.parallel_efficiency": {"compute.cores": 4},
    "overhead.thread_wake_s": {"compute.cores": 4},
}


@functools.cache
def graph(spec: str):
    return build(spec)


def numeric_fields(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if path not in SKIP_TABLES:
                yield from numeric_fields(value, path + ".")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield path, value


def perturbed(path: str, value: float) -> list[float | int]:
    """Clearly different, still valid values, down and up: a field may act in one
    direction only (more GPU units than a batch-1 kernel has blocks change nothing; a
    memory-bound op's compute efficiency matters once it drops far enough)."""
    if value == 0:  # 1e-12 where 1e-3 is out of range (energies per byte or MAC)
        return [1] if isinstance(value, int) else ([1e6] if path.endswith("_bytes") else [1e-3, 1e-12])
    if isinstance(value, int):
        return [v for v in (value // 2, value * 2) if v >= 1 and v != value]
    down = [value / 256, value / 16, value / 2]
    if value <= 1 and path.split(".")[-1] in SHARES:  # a share of a peak stays at most 1
        return down
    return [*down, value * 2]


SHARES = {"launch_overlap", "parallel_efficiency", "conv", "pointwise", "depthwise", "dense",
          "elementwise", "pool", "data", "softmax"}


def valid_copies(profile: Profile, path: str, values: list[float | int]) -> list[Profile]:
    """Copies with `path` set to each value the profile's physical ranges accept."""
    copies = []
    for value in values:
        try:
            copies.append(profile.replace(**{path: value}))
        except EdgesimError:
            continue
    return copies


def outcome(profile: Profile) -> tuple[float, ...]:
    figures = []
    for spec in BASKET:
        try:
            report = simulate(graph(spec), profile, fps=FPS)
        except Exception as exc:  # a network this device cannot run at all says so
            if "cannot run" in str(exc):
                continue
            raise
        figures += [report.latency_s, report.energy_j, report.avg_power_w]
    return tuple(figures)


PROFILES = device_names()


@pytest.mark.parametrize("device", PROFILES)
def test_every_numeric_field_changes_a_prediction(device: str) -> None:
    profile = load_profile(device)
    dead = []
    for path, value in numeric_fields(profile.to_mapping()):
        leaf = path.split(".")[-1]
        base = profile
        if leaf in PRECISIONS:  # a per-precision entry acts when the profile runs at it
            try:
                base = profile.replace(precision=leaf)
            except Exception:
                dead.append(f"{path} (the profile cannot run at {leaf})")
                continue
        base = base.replace(**CONTEXT.get(path, {})) if path in CONTEXT else base
        before = outcome(base)
        if all(outcome(other) == before for other in valid_copies(base, path, perturbed(path, value))):
            dead.append(path)
    assert not dead, f"{device}: fields that change no prediction: {', '.join(dead)}"


@pytest.mark.parametrize("device", [d for d in PROFILES if load_profile(d).kind == "gpu"])
def test_gpu_utilisation_never_above_one(device: str) -> None:
    profile = load_profile(device)
    for spec in BASKET:
        report = simulate(graph(spec), profile)
        shares = [r.cost.utilisation for r in report.rows if r.unit == "gpu" and r.cost.utilisation is not None]
        assert shares and max(shares) <= 1.0, (spec, max(shares))
