"""Helpers shared by the search spaces: seeded uniform sampling and spec strings.

A point of a space is encoded as a tuple of small ints, one per decision, each an index
into that decision's choice tuple. Sampling draws every decision independently and
uniformly (with replacement across samples), from `random.Random(seed)`, whose stream
Python keeps stable across versions, so a seed names the same list everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from graphs.errors import EdgesimError

Code = tuple[int, ...]


def sample_codes(
    n: int,
    sizes: Sequence[int],
    seed: int,
    keep: Callable[[Code], bool] | None = None,
) -> list[Code]:
    """`n` codes drawn uniformly over the product of `range(size)`; with `keep`,
    rejected draws are redrawn (uniform over the kept subset)."""
    if not isinstance(n, int) or n < 0:
        raise EdgesimError(f"sample size must be a non-negative int, not {n!r}")
    rng = random.Random(seed)
    codes: list[Code] = []
    while len(codes) < n:
        code = tuple(rng.randrange(k) for k in sizes)
        if keep is None or keep(code):
            codes.append(code)
    return codes


def check_code(space: str, code: Sequence[int], sizes: Sequence[int]) -> Code:
    """`code` as a tuple after checking its length and every index's range."""
    code = tuple(code)
    if len(code) != len(sizes) or not all(
        isinstance(c, int) and 0 <= c < k for c, k in zip(code, sizes, strict=True)
    ):
        raise EdgesimError(
            f"{space}: code {code!r} must be {len(sizes)} ints, each in range(0, {max(sizes)})"
        )
    return code


def check_choice(space: str, option: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise EdgesimError(
            f"{space}: {option}={value!r} is not one of {', '.join(map(repr, allowed))}"
        )
    return value


def format_spec(name: str, arch: str, options: dict[str, Any], valid: Sequence[str]) -> str:
    """`name(arch='…', key=value, …)` with the options sorted; unknown keys raise."""
    for key in options:
        if key not in valid:
            raise EdgesimError(
                f"{name}: unknown option {key!r}; valid options: {', '.join(valid)}"
            )
    extra = "".join(f", {k}={v!r}" for k, v in sorted(options.items()))
    return f"{name}(arch={arch!r}{extra})"
