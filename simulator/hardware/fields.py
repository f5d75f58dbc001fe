"""Declared constraints of profile fields, and the read-only table type.

A schema field's type may carry constraints with `typing.Annotated`; the profile loader
(`simulator.hardware.profile`) checks them, so cost models trust their profile:

    clock_hz: Annotated[float, POSITIVE]
    launch_overlap: Annotated[float, Range(ge=0, le=1)]
    dataflow: Annotated[str, OneOf(DATAFLOWS)]
    peak_macs_per_s: Annotated[FrozenMap, PER_PRECISION, POSITIVE]

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


def one_of(values: Iterable[str]) -> OneOf:
    return OneOf(tuple(values))
