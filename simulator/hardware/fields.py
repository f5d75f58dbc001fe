"""Declared constraints of profile fields, and the read-only table type.

A schema field's type may carry constraints with `typing.Annotated`; the profile loader
(`simulator.hardware.profile`) checks them, so cost models trust their profile:

    clock_hz: Annotated[float, POSITIVE]
    launch_overlap: Annotated[float, Range(ge=0, le=1)]
    dataflow: Annotated[str, OneOf(DATAFLOWS)]
    macs_per_cycle: Annotated[FrozenMap, PER_PRECISION, POSITIVE]

A constraint on a table, list or map applies to each of its members. Every number is
also finite and non-negative without saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple


class FrozenMap(dict):
    """A read-only, hashable dict, so that profiles can key caches."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("profile tables are read-only; use Profile.replace")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly  # type: ignore[assignment]


# Constraints are named tuples, not dataclasses: immutable all the same, and cheaper to
# define, which `import simulator` (and so `edgesim --help`) pays for.
class Range(NamedTuple):
    """Bounds of a number: greater than `gt` / at least `ge`, less than `lt` / at most `le`."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def problem(self, value: float) -> str | None:
        """None when `value` is within the bounds, else the bound it breaks."""
        if self.gt is not None and not value > self.gt:
            return "must be positive" if self.gt == 0 else f"must be above {self.gt:g}"
        if self.ge is not None and not value >= self.ge:
            return f"must be at least {self.ge:g}"
        if self.lt is not None and not value < self.lt:
            return f"must be below {self.lt:g}"
        if self.le is not None and not value <= self.le:
            return f"must be at most {self.le:g}"
        return None


class OneOf(NamedTuple):
    """An enumeration: the value (or each member of a list) is one of `values`."""

    values: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        return None if value in self.values else f"must be one of {', '.join(self.values)}, not {value!r}"


class PerPrecision:
    """A map keyed by precision that must have an entry for the profile's precision."""

    __slots__ = ()


POSITIVE = Range(gt=0)
SHARE = Range(gt=0, le=1)  # a share of a peak: efficiencies
FRACTION = Range(ge=0, le=1)
PER_PRECISION = PerPrecision()
# Physical ranges, wide enough for any device edgesim models with room to spare. Beyond them
# a value is a unit slip or a typo, and the arithmetic breaks: a 5e-324 peak divides to
# infinity, a 1e308-row array overflows, an efficiency of 1e6 is silently a million times
# faster than the hardware.
RATE = Range(ge=1, le=1e18)  # per second: clocks, bandwidths, MAC rates
OPTIONAL_RATE = Range(ge=0, le=1e18)  # a rate where 0 means "not there" (a cache's bandwidth)
COUNT = Range(ge=1, le=1e6)  # array rows and columns, lanes, cores, units, tile sizes
BYTES = Range(ge=0, le=1e13)  # memory sizes
SECONDS = Range(ge=0, le=1)  # fixed overheads: a second per op or per inference is no device
JOULES = Range(ge=0, le=1e-6)  # energy per MAC or per byte (real ones are pJ)
WATTS = Range(ge=0, le=1e4)
PER_CYCLE = Range(gt=0, le=1e6)  # work per cycle of one unit or lane
SPEEDUP = Range(gt=0, le=16)  # a ratio of work done to work counted (Winograd's 2.25)
LAUNCHES = Range(ge=0, le=100)  # kernel launches per op


def one_of(values: Iterable[str]) -> OneOf:
    return OneOf(tuple(values))
