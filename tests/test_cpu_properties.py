"""Properties of the CPU model on every shipped CPU profile, over hypothesis-drawn networks:
more work never runs faster, better hardware never runs slower, energy follows MACs."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from graphs import NetBuilder, OpGraph
from simulator.engine import simulate
from simulator.hardware.profile import Profile, device_names, load_profile, profile_dir

# Every shipped profile of kind "cpu", read without loading the others (which may be
# mid-edit by their owners).
CPU_DEVICES = [
    d for d in device_names() if tomllib.loads((profile_dir() / f"{d}.toml").read_text()).get("kind") == "cpu"
]
SETTINGS = settings(max_examples=40, deadline=None)

devices = st.sampled_from(CPU_DEVICES).map(load_profile)
channels = st.integers(1, 96)
resolutions = st.integers(4, 160)
factors = st.floats(1.0, 100.0)


def net(c: int, resolution: int, expand: int = 4) -> OpGraph:
    """A few layers of a mobile network: stem conv, an inverted residual with hard-swish,
    squeeze-excite and a skip, a pooled classifier."""
    b = NetBuilder("net", (1, 3, resolution, resolution))
    b.conv_bn_act(c, 3, 2, "relu6")
    skip = b.x
    b.conv_bn_act(c * expand, 1, 1, "hard_swish")
    b.dw_bn_act(5, 1, "hard_swish")
    b.se(max(1, c // 4))
    b.conv_bn_act(c, 1, 1, None)
    b.add(skip, b.x)
    b.pool("avg", 3, 1)
    b.global_pool()
    b.flatten()
    b.dense(10)
    b.softmax()
    return b.build()


def latency(graph: OpGraph, profile: Profile) -> float:
    return simulate(graph, profile).latency_s


@SETTINGS
@given(devices, channels, st.integers(1, 64), resolutions)
def test_more_channels_never_lower_latency(profile: Profile, c: int, more: int, r: int) -> None:
    assert latency(net(c + more, r), profile) >= latency(net(c, r), profile)


@SETTINGS
@given(devices, channels, resolutions, st.integers(1, 96))
def test_larger_resolution_never_lowers_latency(profile: Profile, c: int, r: int, more: int) -> None:
    assert latency(net(c, r + more), profile) >= latency(net(c, r), profile)


@SETTINGS
@given(devices, channels, resolutions, factors, factors)
def test_more_bandwidth_never_raises_latency(profile: Profile, c: int, r: int, dram: float, cache: float) -> None:
    graph = net(c, r)
    memory = profile.hw.memory
    faster = profile.replace(
        dram_bw_bytes_per_s=memory.dram_bw_bytes_per_s * dram,
        cache_bw_bytes_per_s=memory.cache_bw_bytes_per_s * cache,
    )
    assert latency(graph, faster) <= latency(graph, profile)


@SETTINGS
@given(devices, channels, resolutions, factors)
def test_more_peak_never_raises_latency(profile: Profile, c: int, r: int, factor: float) -> None:
    graph = net(c, r)
    faster = profile.replace(clock_hz=profile.hw.compute.clock_hz * factor)
    assert latency(graph, faster) <= latency(graph, profile)


@SETTINGS
@given(devices, channels, resolutions, factors)
def test_larger_cache_never_raises_latency(profile: Profile, c: int, r: int, factor: float) -> None:
    graph = net(c, r)
    bigger = profile.replace(cache_bytes=profile.hw.memory.cache_bytes * factor)
    assert latency(graph, bigger) <= latency(graph, profile)


@SETTINGS
@given(devices, channels, st.integers(1, 64), resolutions)
def test_energy_is_positive_and_grows_with_macs(profile: Profile, c: int, more: int, r: int) -> None:
    small, large = net(c, r), net(c + more, r)
    assert large.macs > small.macs
    e_small, e_large = simulate(small, profile).energy_j, simulate(large, profile).energy_j
    assert 0 < e_small < e_large
