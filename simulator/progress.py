"""Progress bars for long loops: tqdm on stderr, only when stderr is a terminal and only
once the loop has run for `DELAY_S` (quick runs and piped output stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")
DELAY_S = 1.0


def progress(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterable[T]:
    """`items`, counted by a bar on stderr when that is a terminal and the loop outlasts `DELAY_S`."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, delay=DELAY_S, leave=False, file=sys.stderr)
