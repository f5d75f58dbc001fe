"""The one way real-data tests take the rows that check a profile (not a test file itself).

`checked_rows(profile, rows)` returns the rows of `rows` that `profile` was NOT fitted to
(its `[calibration].fitted_rows`, `simulator.fitted`); `assert_not_fitted` fails a test
that would check a profile on a row its values were fitted or chosen from.
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.fitted import fitted_rows, row_key
from simulator.hardware.profile import Profile
from simulator.reference import ReferenceRow


def assert_not_fitted(profile: Profile, rows: Sequence[ReferenceRow]) -> None:
    """Fail when any of `rows` is a row `profile` was fitted to."""
    overlap = fitted_rows(profile).split(rows)[1]
    assert not overlap, f"{profile.name} was fitted to the rows that would check it: {[row_key(r) for r in overlap]}"


def checked_rows(profile: Profile, rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """Every row of `rows` that `profile` was not fitted to; none is left out otherwise."""
    checked = fitted_rows(profile).split(rows)[0]
    assert_not_fitted(profile, checked)
    return checked
