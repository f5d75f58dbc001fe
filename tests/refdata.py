"""Where the tests find `../shared/refdata`, and what they do when it is absent.

A fresh clone without the reference data skips the real-data tests with a reason; CI sets
`EDGESIM_REQUIRE_REFDATA=1`, which turns that skip into a failure, so the checks against
measurements can never silently stop running there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"
REQUIRE_VARIABLE = "EDGESIM_REQUIRE_REFDATA"


def refdata_path(name: str) -> Path:
    """An absolute path as given, else `name` inside `../shared/refdata`; a missing file
    skips the test, or fails it when `EDGESIM_REQUIRE_REFDATA` is set."""
    path = Path(name) if Path(name).is_absolute() else REFDATA / name
    if not path.is_file():
        message = f"reference data {path} not present (../shared/refdata next to the repo)"
        if os.environ.get(REQUIRE_VARIABLE):
            pytest.fail(f"{message}, but {REQUIRE_VARIABLE} is set")
        pytest.skip(message)
    return path
