"""Argument types for numbers on the command line: argparse turns their errors into the
usual one-line usage error (exit 2) before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

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
    from graphs.errors import EdgesimError

    try:
        return check_batch(int(text) if text.strip().lstrip("+-").isdigit() else text)
    except EdgesimError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
