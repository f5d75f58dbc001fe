"""Profile files: loading, the errors a user can cause, what-if copies, and the rule that
every hardware number of a shipped profile names its source."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from graphs import EdgesimError
from simulator.costmodels.cpu import CpuModel
from simulator.hardware.profile import device_names, load_profile, profile_from_mapping, to_toml

CPU_PROFILES = ["pixel1-cpu", "pixel2-cpu", "pixel3-cpu", "pixel4-cpu", "raspi4-cpu", "raspi5-cpu", "x86-desktop-cpu"]


def write(tmp_path: Path, text: str, name: str = "dev.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def mapping(device: str = "pixel4-cpu") -> dict:
    return tomllib.loads(to_toml(load_profile(device)))


# -- loading ---------------------------------------------------------------------------
def test_cpu_profiles_ship_and_load_by_name_and_path() -> None:
    assert set(CPU_PROFILES) <= set(device_names())
    for name in CPU_PROFILES:
        profile = load_profile(name)
        assert profile.name == name and profile.kind == "cpu"
        assert load_profile(profile.path) == profile
        CpuModel(profile)  # the precision has a peak


def test_to_toml_round_trips(tmp_path: Path) -> None:
    for name in CPU_PROFILES:
        profile = load_profile(name)
        assert load_profile(write(tmp_path, to_toml(profile), f"{name}.toml")) == profile


def test_unknown_device_suggests_close_names() -> None:
    with pytest.raises(EdgesimError, match=r"unknown device 'pixel4-cpuu'.*pixel4-cpu"):
        load_profile("pixel4-cpuu")
    with pytest.raises(EdgesimError, match="no such profile file"):
        load_profile("nowhere/dev.toml")


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n[compute\n')
    with pytest.raises(EdgesimError, match=rf"{path}: malformed TOML"):
        load_profile(path)


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("compute", "clock_hz", "missing key 'compute.clock_hz'"),
        ("efficiency", "depthwise", "missing key 'efficiency.depthwise'"),
        ("memory", "dram_bw_bytes_per_s", "missing key 'memory.dram_bw_bytes_per_s'"),
        ("energy", "idle_power_w", "missing key 'energy.idle_power_w'"),
        (None, "precision", "missing key 'precision'"),
    ],
)
def test_missing_key_is_named(table: str | None, key: str, message: str) -> None:
    data = mapping()
    del (data[table] if table else data)[key]
    with pytest.raises(EdgesimError, match=message):
        profile_from_mapping(data, "dev.toml")


@pytest.mark.parametrize(
    ("table", "key", "value", "message"),
    [
        ("compute", "clock_hz", "fast", "'compute.clock_hz' must be a number"),
        ("compute", "cores", 1.5, "'compute.cores' must be an integer"),
        ("memory", "dram_bw_bytes_per_s", -1.0, "'memory.dram_bw_bytes_per_s' must be a finite non-negative"),
        ("efficiency", "conv", True, "'efficiency.conv' must be a number"),
        ("efficiency", "turbo", 1.0, "unknown key 'efficiency.turbo'"),
        ("runtime", "fold_batch_norm", "yes", "'runtime.fold_batch_norm' must be true or false"),
    ],
)
def test_ill_typed_or_unknown_key_is_named(table: str, key: str, value: object, message: str) -> None:
    data = mapping()
    data[table][key] = value
    with pytest.raises(EdgesimError, match=message):
        profile_from_mapping(data, "dev.toml")


def test_precision_needs_peak_and_energy_entries() -> None:
    raspi4 = load_profile("raspi4-cpu")
    assert "fp16" not in raspi4.hw.compute.macs_per_cycle  # the A72 has no fp16 arithmetic
    with pytest.raises(EdgesimError, match=r"energy\.energy_per_mac_j' has no entry for precision 'fp16'"):
        raspi4.replace(precision="fp16")
    data = mapping("raspi4-cpu")
    data["precision"] = "fp16"
    data["energy"]["energy_per_mac_j"]["fp16"] = 1e-12
    with pytest.raises(EdgesimError, match="macs_per_cycle' has no entry for precision 'fp16'"):
        CpuModel(profile_from_mapping(data, "dev.toml"))


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("memory", "cache_bw_bytes_per_s", "key 'memory.cache_bw_bytes_per_s' must be positive"),
        ("memory", "dram_bw_bytes_per_s", "key 'memory.dram_bw_bytes_per_s' must be at least 1"),
        ("efficiency", "depthwise", "key 'efficiency.depthwise' must be positive"),
    ],
)
def test_rates_must_be_positive(table: str, key: str, message: str) -> None:
    data = mapping()
    data[table][key] = 0.0
    with pytest.raises(EdgesimError, match=message):
        CpuModel(profile_from_mapping(data, "dev.toml"))
    if key == "cache_bw_bytes_per_s":  # a profile without a cache needs no cache bandwidth
        data[table]["cache_bytes"] = 0.0
        CpuModel(profile_from_mapping(data, "dev.toml"))


# -- what-if copies --------------------------------------------------------------------
def test_replace_by_path_leaf_and_precision() -> None:
    base = load_profile("pixel4-cpu")
    faster = base.replace(**{"memory.dram_bw_bytes_per_s": 30e9}, per_op_s=1e-6)
    assert faster.get("memory.dram_bw_bytes_per_s") == 30e9
    assert faster.get("per_op_s") == 1e-6
    assert base.get("dram_bw_bytes_per_s") == 15e9  # the original is untouched
    assert base.replace(precision="fp32").energy_per_mac_j == base.energy.energy_per_mac_j["fp32"]
    assert base.replace(per_op_s=base.get("per_op_s")) == base  # equal and hashable
    assert hash(base.replace(per_op_s=base.get("per_op_s"))) == hash(base)


def test_replace_rejects_unknown_ambiguous_and_invalid_fields() -> None:
    base = load_profile("pixel4-cpu")
    with pytest.raises(EdgesimError, match=r"no field 'memory.dram_bw'.*did you mean memory.dram_bw_bytes_per_s"):
        base.replace(**{"memory.dram_bw": 1e9})
    with pytest.raises(EdgesimError, match=r"'fp32' is ambiguous: compute\.macs_per_cycle\.fp32"):
        base.replace(fp32=1e9)  # the peak and the energy per MAC both have one
    with pytest.raises(EdgesimError, match="must be a finite non-negative"):
        base.replace(per_op_s=-1e-6)


# -- sources ---------------------------------------------------------------------------
def _numbers(data: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if key in ("sources", "calibration"):
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _numbers(value, path + ".")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append(path)
    return out


@pytest.mark.parametrize("device", CPU_PROFILES)
def test_every_number_names_its_source(device: str) -> None:
    profile = load_profile(device)
    sources = profile.sources
    for path in _numbers(profile.to_mapping()):
        parts = path.split(".")
        covering = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        assert any(k in sources for k in covering), f"{device}: {path} has no [sources] entry"
    for key, text in sources.items():
        assert text.strip(), f"{device}: empty source for {key}"
