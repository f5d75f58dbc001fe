"""Command-line values: types for numbers (argparse turns their errors into the usual
one-line usage error, exit 2, before any work starts) and `--set` profile settings."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from graphs.errors import EdgesimError

if TYPE_CHECKING:
    from simulator.hardware.profile import Profile

# Seeds feed numpy's generators, which take non-negative integers; counts above 10**9 are typos.
MAX_SEED = 2**63 - 1
MAX_COUNT = 10**9


def _int_from(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be an integer from {low} to {high}, not {text!r}")
        return value

    return parse


seed = _int_from(0, MAX_SEED, "a seed")
count = _int_from(1, MAX_COUNT, "a count")
non_negative_count = _int_from(0, MAX_COUNT, "a count")


def fps(text: str) -> float:
    """Frames per second: a finite positive number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"fps must be positive and finite, not {text!r}")
    return value


def batch(text: str) -> int:
    """Samples per inference: a whole number of at least 1."""
    from graphs.batch import check_batch

    try:
        return check_batch(int(text) if text.strip().lstrip("+-").isdigit() else text)
    except EdgesimError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def profile_settings(profile: Profile, texts: Sequence[str]) -> dict[str, list[Any]]:
    """`--set FIELD=V1,V2,...` options as field -> values, each value tried on `profile`
    first, so that an error blames the `--set` option rather than the profile file."""
    from simulator.textfmt import parse_setting

    settings = {}
    for text in texts:
        field, values = parse_setting(text)
        for value in values:
            try:
                profile.replace(**{field: value})
            except EdgesimError as exc:
                raise EdgesimError(f"--set {text}: {exc}") from None
        settings[field] = values
    return settings
