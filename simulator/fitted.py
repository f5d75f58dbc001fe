"""Which reference rows a profile's values were fitted or chosen from, so that those rows
never check it.

A profile's `[calibration].fitted_rows` names them in one of three forms:

- `"<file name>:<line>"` — a row of a reference CSV by its 1-based line (header = line 1),
  e.g. `"latbench-embedded-tpu-edgetpu-int8.csv:17"`; `"published:<line>"` for the shipped
  published set (`simulator/data/published.csv`);
- a bare line number, as `edgesim calibrate` writes them, of the file `[calibration].reference`;
- `"<model spec> = <latency> ms"`, a row of `[calibration].reference` by what it measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.hardware.profile import Profile
from simulator.reference import ReferenceRow

PUBLISHED = "published"
_LINE = re.compile(r"(?P<set>.+):(?P<line>\d+)")
_MEASURED = re.compile(r"(?P<model>.+) = (?P<ms>[0-9.eE+-]+) ms")


def set_name(file: str) -> str:
    """The name a fitted-row key gives a reference file: its base name, `published` for
    the shipped published set."""
    name = Path(str(file)).name
    return PUBLISHED if name in (PUBLISHED, f"{PUBLISHED}.csv") else name


def row_key(row: ReferenceRow) -> str:
    """`"<file name>:<line>"` of a row, the form `fitted_rows` names it by."""
    return f"{set_name(row.file)}:{row.line}"


@dataclass(frozen=True)
class FittedRows:
    """The rows one profile was fitted to; `row in fitted` tells whether a row is one."""

    keys: frozenset[str]  # "<set>:<line>"
    measured: frozenset[tuple[str, str, float]]  # (set, model spec, latency ms)

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, ReferenceRow):
            return False
        name = set_name(row.file)
        return row_key(row) in self.keys or (name, row.model, row.latency_ms) in self.measured

    def __bool__(self) -> bool:
        return bool(self.keys or self.measured)

    def split(self, rows: Iterable[ReferenceRow]) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
        """(rows not fitted, rows fitted), each in the order given."""
        checked: list[ReferenceRow] = []
        fitted: list[ReferenceRow] = []
        for row in rows:
            (fitted if row in self else checked).append(row)
        return checked, fitted


def fitted_rows(profile: Profile) -> FittedRows:
    """The rows `profile`'s `[calibration]` says its values were fitted or chosen from."""
    record = profile.calibration or {}
    return named_rows(record.get("fitted_rows") or (), str(record.get("reference", "")),
                      f"{profile.name}: [calibration].fitted_rows")


def named_rows(entries: Iterable[object], reference: str, where: str) -> FittedRows:
    """The rows `entries` name, in the forms of the module docstring (bare line numbers are
    lines of `reference`); `where` names the list in the error."""
    reference = set_name(reference)
    keys: set[str] = set()
    measured: set[tuple[str, str, float]] = set()
    for entry in entries:
        if isinstance(entry, int):
            keys.add(f"{reference}:{entry}")
        elif match := _MEASURED.fullmatch(str(entry)):
            measured.add((reference, match["model"], float(match["ms"])))
        elif match := _LINE.fullmatch(str(entry)):
            keys.add(f"{set_name(match['set'])}:{match['line']}")
        else:
            raise ValueError(f"{where} entry {entry!r} names no row")
    return FittedRows(frozenset(keys), frozenset(measured))


def unfitted(profile: Profile, rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """The rows of `rows` that `profile` was not fitted to: the ones that may check it."""
    return fitted_rows(profile).split(rows)[0]
