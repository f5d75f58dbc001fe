"""Hardware profiles: the `Profile` record, TOML loading and validation, what-if copies.

A profile file has common top-level keys (`name`, `kind`, `description`, `precision`),
common tables (`[runtime]`, `[energy]`, optional `[offload]`, `[sources]`, optional
`[calibration]`) and the tables of its kind's hardware schema (`hardware.classes`).
Every key is checked against its schema: a missing, unknown, ill-typed or negative value,
one outside its declared range or enumeration (`hardware.fields`), or a precision table
without the profile's precision is an error naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from graphs.errors import EdgesimError
from simulator.hardware.classes import hardware_class, resolve
from simulator.hardware.common import PRECISION_BYTES, EnergySpec, OffloadSpec, RuntimeSpec
from simulator.hardware.fields import FrozenMap, OneOf, PerPrecision, Range


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    description: str
    precision: str
    runtime: RuntimeSpec
    energy: EnergySpec
    hw: Any  # the kind's hardware schema (a dataclass)
    sources: FrozenMap
    offload: OffloadSpec | None = None
    calibration: FrozenMap | None = None
    path: str = field(default="", compare=False)

    @property
    def bytes_per_element(self) -> int:
        return PRECISION_BYTES[self.precision]

    @property
    def energy_per_mac_j(self) -> float:
        return self.energy.energy_per_mac_j[self.precision]

    def to_mapping(self) -> dict[str, Any]:
        """The TOML-shaped dict: common keys, common tables, then the hardware tables."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "precision": self.precision,
        }
        data.update(_as_dict(self.hw))
        data["runtime"] = _as_dict(self.runtime)
        data["energy"] = _as_dict(self.energy)
        if self.offload is not None:
            data["offload"] = _as_dict(self.offload)
        data["sources"] = dict(self.sources)
        if self.calibration is not None:
            data["calibration"] = _plain(self.calibration)
        return data

    def get(self, path: str) -> Any:
        """The value at a dotted path such as `memory.dram_bw_bytes_per_s`, or a unique
        leaf name such as `array_rows`."""
        node: Any = self.to_mapping()
        for part in self._resolve(path).split("."):
            node = node[part]
        return node

    def replace(self, **fields: Any) -> Profile:
        """A copy with fields changed, for what-if studies: `replace(array_rows=128)`,
        `replace(**{"memory.dram_bw_bytes_per_s": 8e9})`, `replace(precision="fp16")`.
        The copy is validated like a loaded file."""
        data = self.to_mapping()
        for key, value in fields.items():
            parts = self._resolve(key).split(".")
            node = data
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]] = value
        origin = self.path or f"<{self.name}>"
        try:
            return profile_from_mapping(data, origin)
        except EdgesimError as exc:  # name what was replaced, not the file that validated before
            changes = ", ".join(f"{key}={value!r}" for key, value in fields.items())
            raise EdgesimError(f"{self.name} with {changes}: {str(exc).removeprefix(origin + ': ')}") from None

    def _resolve(self, key: str) -> str:
        leaves = _leaf_paths(self.to_mapping())
        if key in leaves:
            return key
        matches = [p for p in leaves if p.split(".")[-1] == key]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise EdgesimError(f"profile {self.name}: {key!r} is ambiguous: {', '.join(matches)}")
        close = difflib.get_close_matches(key, leaves, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise EdgesimError(f"profile {self.name}: no field {key!r}{hint}")


def _leaf_paths(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and key not in ("sources", "calibration"):
            out.extend(_leaf_paths(value, path + "."))
        out.append(path)
    return out


def _as_dict(obj: Any) -> dict[str, Any]:
    """The TOML-shaped table of a schema dataclass; a field that is None is absent."""
    values = ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
    return {name: _plain(value) for name, value in values if value is not None}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _as_dict(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


# -- validation ------------------------------------------------------------------------
_COMMON_KEYS = {"name", "kind", "description", "precision"}
_COMMON_TABLES = {"runtime", "energy", "offload", "sources", "calibration"}


def profile_from_mapping(data: Mapping[str, Any], origin: str) -> Profile:
    """Validate a TOML-shaped dict into a `Profile`; errors name `origin` and the key."""
    data = dict(data)
    for key in ("name", "kind", "description", "precision", "runtime", "energy", "sources"):
        if key not in data:
            raise EdgesimError(f"{origin}: missing key {key!r}")
    for key in ("name", "kind", "description", "precision"):
        if not isinstance(data[key], str):
            raise EdgesimError(f"{origin}: key {key!r} must be a string")
    kind = data["kind"]
    try:
        schema = resolve(hardware_class(kind).schema)
    except EdgesimError as exc:
        raise EdgesimError(f"{origin}: key 'kind': {exc}") from None
    precision = data["precision"]
    if precision not in PRECISION_BYTES:
        raise EdgesimError(
            f"{origin}: key 'precision' must be one of {', '.join(PRECISION_BYTES)}"
        )
    hw_keys = {f.name for f in dataclasses.fields(schema)}
    for key in data:
        if key not in _COMMON_KEYS | _COMMON_TABLES | hw_keys:
            raise EdgesimError(f"{origin}: unknown key {key!r}")
    check = _Checker(origin, precision)
    runtime = check.build(RuntimeSpec, data["runtime"], "runtime.")
    energy = check.build(EnergySpec, data["energy"], "energy.")
    no_dram = getattr(schema, "no_dram", "")
    if no_dram and energy.dram_energy_per_byte_j is not None:
        raise EdgesimError(
            f"{origin}: key 'energy.dram_energy_per_byte_j' is not a field of a {kind} profile: {no_dram}")
    if not no_dram and energy.dram_energy_per_byte_j is None:
        raise EdgesimError(f"{origin}: missing key 'energy.dram_energy_per_byte_j'")
    hw = check.build(schema, {k: data[k] for k in hw_keys if k in data}, "")
    offload = data.get("offload")
    needs_offload = getattr(hw, "offload_required", "")
    if offload is None and needs_offload:
        raise EdgesimError(f"{origin}: a {kind} profile needs an [offload] table: {needs_offload}")
    if isinstance(offload, Mapping) and offload.get("host") in (data["name"], origin):
        raise EdgesimError(f"{origin}: key 'offload.host' names this profile itself; name its host CPU's profile")
    return Profile(
        name=data["name"],
        kind=kind,
        description=data["description"],
        precision=precision,
        runtime=runtime,
        energy=energy,
        hw=hw,
        sources=_build_map(data["sources"], str, origin, "sources"),
        offload=None if offload is None else check.build(OffloadSpec, offload, "offload."),
        calibration=None if data.get("calibration") is None else _freeze(data["calibration"]),
        path=origin,
    )


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenMap({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def prepare_schema(cls: type) -> None:
    """Resolve the type hints of a schema and its nested tables now rather than on the
    first load (resolving them compiles code; a search loop's first call should not)."""
    for hint in _type_hints(cls).values():
        hint = _bare(hint)[0]
        if dataclasses.is_dataclass(hint):
            prepare_schema(hint)


def _bare(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """(the type, its declared constraints) of an `Annotated` hint or a plain one."""
    if typing.get_origin(hint) is typing.Annotated:
        return hint.__origin__, hint.__metadata__
    return hint, ()


class _Checker:
    """Builds schema tables from TOML values, checking types and declared constraints."""

    def __init__(self, origin: str, precision: str) -> None:
        self.origin = origin
        self.precision = precision

    def fail(self, key: str, message: str) -> EdgesimError:
        return EdgesimError(f"{self.origin}: key {key!r} {message}")

    def build(self, cls: type, data: Any, prefix: str) -> Any:
        if not isinstance(data, Mapping):
            raise self.fail(prefix.rstrip("."), "must be a table")
        hints = _type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in names:
                raise EdgesimError(f"{self.origin}: unknown key {prefix + key!r}")
        values = {}
        for f in dataclasses.fields(cls):
            key = prefix + f.name
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise EdgesimError(f"{self.origin}: missing key {key!r}")
                continue
            hint, constraints = _bare(hints[f.name])
            values[f.name] = value = _coerce(hint, data[f.name], self, key)
            for constraint in constraints:
                self.constrain(constraint, value, key)
        table = cls(**values)
        problem = table.check() if hasattr(table, "check") else None
        if problem:
            raise self.fail(prefix + problem[0], problem[1])
        return table

    def constrain(self, constraint: Any, value: Any, key: str) -> None:
        """Apply a declared constraint to a value, or to each member of a table, list or map."""
        if isinstance(constraint, PerPrecision):
            if self.precision not in value:
                raise self.fail(key, f"has no entry for precision {self.precision!r}")
            return
        if not isinstance(constraint, Range | OneOf):
            raise TypeError(f"unsupported constraint {constraint!r} on {key}")
        if dataclasses.is_dataclass(value):
            members = [(f"{key}.{f.name}", getattr(value, f.name)) for f in dataclasses.fields(value)]
        elif isinstance(value, Mapping):
            members = [(f"{key}.{k}", v) for k, v in value.items()]
        elif isinstance(value, tuple):
            members = [(key, v) for v in value]
        else:
            members = [(key, value)]
        for member_key, member in members:
            problem = constraint.problem(member)
            if problem:
                raise self.fail(member_key, problem)


def _coerce(hint: Any, value: Any, check: _Checker, key: str) -> Any:
    origin = check.origin
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        if value is None:
            return None
        hint = options[0]
    if dataclasses.is_dataclass(hint):
        return check.build(hint, value, key + ".")
    if hint is FrozenMap:
        return _build_map(value, float, origin, key)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise EdgesimError(f"{origin}: key {key!r} must be a list of strings")
        return tuple(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise EdgesimError(f"{origin}: key {key!r} must be true or false")
        return value
    if hint in (int, float):
        return _number(hint, value, origin, key)
    if hint is str:
        if not isinstance(value, str):
            raise EdgesimError(f"{origin}: key {key!r} must be a string")
        return value
    raise TypeError(f"unsupported schema type {hint!r} for {key}")


def _number(hint: type, value: Any, origin: str, key: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EdgesimError(f"{origin}: key {key!r} must be a number, not {value!r}")
    if hint is int and not (isinstance(value, int) or float(value).is_integer()):
        raise EdgesimError(f"{origin}: key {key!r} must be an integer, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise EdgesimError(f"{origin}: key {key!r} must be a finite non-negative number")
    return hint(value)


def _build_map(value: Any, kind: type, origin: str, key: str) -> FrozenMap:
    if not isinstance(value, Mapping):
        raise EdgesimError(f"{origin}: key {key!r} must be a table")
    if kind is str:
        for k, v in value.items():
            if not isinstance(v, str):
                raise EdgesimError(f"{origin}: key '{key}.{k}' must be a string")
        return FrozenMap(value)
    return FrozenMap({k: _number(float, v, origin, f"{key}.{k}") for k, v in value.items()})


# -- loading ---------------------------------------------------------------------------
def profile_dir() -> Path:
    return Path(str(resources.files("hw_profiles")))


def device_names() -> list[str]:
    return sorted(p.stem for p in profile_dir().glob("*.toml"))


# Loaded profiles by resolved path, with the (mtime, size) of the file they were read from.
_LOADED: dict[Path, tuple[tuple[int, int], Profile]] = {}


def load_profile(device: str) -> Profile:
    """Load a shipped profile by name (`pixel4-cpu`) or any TOML file by path.

    Profiles are cached per file and read again when the file changes (its modification
    time or size), so an edited TOML takes effect on the next call; `clear_profile_cache()`
    forgets every loaded profile."""
    path = _profile_path(device)
    try:
        stat = path.stat()
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read ({exc.strerror})") from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = path.resolve()
    cached = _LOADED.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark is no key
    except tomllib.TOMLDecodeError as exc:
        raise EdgesimError(f"{path}: malformed TOML ({exc})") from None
    except RecursionError:
        raise EdgesimError(f"{path}: malformed TOML (arrays or tables nested too deeply)") from None
    except UnicodeDecodeError as exc:
        raise EdgesimError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EdgesimError(f"{path}: cannot read ({exc.strerror})") from None
    profile = profile_from_mapping(data, str(path))
    _LOADED[key] = (stamp, profile)
    return profile


def clear_profile_cache() -> None:
    """Forget every loaded profile (the next `load_profile` reads its file again)."""
    _LOADED.clear()


def _profile_path(device: str) -> Path:
    path = Path(device)
    if path.suffix == ".toml" and path.exists():
        return path
    shipped = profile_dir() / f"{device}.toml"
    if shipped.exists():
        return shipped
    if path.suffix == ".toml":
        raise EdgesimError(f"{device}: no such profile file")
    close = difflib.get_close_matches(device, device_names(), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see `edgesim devices`"
    raise EdgesimError(f"unknown device {device!r}: {hint}")


def to_toml(profile: Profile) -> str:
    """Write a profile back as TOML (what `calibrate` saves), with tomli-w: every string
    escaped as TOML requires (control characters included), so `tomllib` reads back the
    same profile."""
    import tomli_w

    return tomli_w.dumps(profile.to_mapping())
