"""Constraints declared on the hardware schemas (`simulator.hardware.fields`) are what the
loader checks: ranges, enumerations (of a value or of each list member), per-precision
tables, cross-field rules and the offload table a class needs."""

from __future__ import annotations

import tomllib

import pytest

from graphs.errors import EdgesimError
from simulator.hardware.fields import FRACTION, POSITIVE, SHARE, OneOf, Range
from simulator.hardware.profile import device_names, load_profile, profile_from_mapping, to_toml


def mapping(device: str) -> dict:
    return tomllib.loads(to_toml(load_profile(device)))


def test_range_names_the_bound_broken():
    assert POSITIVE.problem(1e-9) is None and POSITIVE.problem(0.0) == "must be positive"
    assert SHARE.problem(1.0) is None and SHARE.problem(1.5) == "must be at most 1"
    assert FRACTION.problem(0.0) is None
    assert Range(ge=2, lt=8).problem(1) == "must be at least 2"
    assert Range(ge=2, lt=8).problem(8) == "must be below 8"
    assert OneOf(("ws", "os")).problem("rs") == "must be one of ws, os, not 'rs'"


@pytest.mark.parametrize(
    ("device", "table", "key", "value", "message"),
    [
        ("pixel4-cpu", "efficiency", "conv", 1.2, "key 'efficiency.conv' must be at most 1"),
        ("jetson-nano", "efficiency", "dense", 0.0, "key 'efficiency.dense' must be positive"),
        ("jetson-nano", "overhead", "launch_overlap", 1.5, "key 'overhead.launch_overlap' must be at most 1"),
        ("jetson-nano", "tiling", "tile_m", 0, "key 'tiling.tile_m' must be at least 1"),
        ("coral-usb", "vector", "vector_lanes", 0, "key 'vector.vector_lanes' must be at least 1"),
        ("coral-usb", "array", "array_rows", 10**8, "key 'array.array_rows' must be at most 1e"),
        ("coral-usb", "array", "dataflow", "rs", "key 'array.dataflow' must be one of ws, os, is"),
        ("hexagon-690", "delegate", "unsupported_kinds", ["gelu", "flash_attention"],
         "key 'delegate.unsupported_kinds' must be one of .*not 'flash_attention'"),
        ("hexagon-690", "vector", "channel_granularity", 48, "key 'vector.channel_granularity' must divide the 128"),
        ("pixel4-cpu", "runtime", "fused_activations", ["relu", "softplus"],
         "key 'runtime.fused_activations' must be one of .*not 'softplus'"),
        ("pixel4-cpu", "compute", "macs_per_cycle", {"int8": 0.0, "fp32": 8},
         r"key 'compute.macs_per_cycle.int8' must be at least 1"),
        ("pixel4-cpu", "compute", "macs_per_cycle", {"int8": 5e-324, "fp32": 8},
         r"key 'compute.macs_per_cycle.int8' must be at least 1"),
        ("pixel4-cpu", "overhead", "per_op_s", 1e308, "key 'overhead.per_op_s' must be at most 1"),
    ],
)
def test_declared_constraints_are_checked_at_load(device, table, key, value, message):
    data = mapping(device)
    data[table][key] = value
    with pytest.raises(EdgesimError, match=message):
        profile_from_mapping(data, "dev.toml")


@pytest.mark.parametrize("device", ["coral-usb", "hexagon-690"])
def test_accelerators_that_need_a_host_say_so(device):
    data = mapping(device)
    del data["offload"]
    with pytest.raises(EdgesimError, match=r"needs an \[offload\] table"):
        profile_from_mapping(data, "dev.toml")


def test_dram_energy_only_where_the_class_has_dram():
    # The Edge TPU has no DRAM of its own: its energy table refuses the key...
    data = mapping("coral-usb")
    assert "dram_energy_per_byte_j" not in data["energy"]
    data["energy"]["dram_energy_per_byte_j"] = 6e-11
    with pytest.raises(EdgesimError, match=r"'energy.dram_energy_per_byte_j' is not a field of a systolic "
                                           r"profile: the Edge TPU has no DRAM"):
        profile_from_mapping(data, "dev.toml")
    # ...and every other class needs it.
    for device in ("pixel4-cpu", "jetson-nano", "hexagon-690"):
        data = mapping(device)
        del data["energy"]["dram_energy_per_byte_j"]
        with pytest.raises(EdgesimError, match=r"missing key 'energy.dram_energy_per_byte_j'"):
            profile_from_mapping(data, "dev.toml")


def test_every_shipped_profile_passes_its_schema():
    for name in device_names():
        assert load_profile(name).name == name
