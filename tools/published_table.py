"""The shipped profiles on every published row they were NOT fitted to, per device and
precision: the table in the README ("Published rows not fitted").

    python tools/published_table.py            # markdown table on stdout

A `device@precision` label of `simulator/data/published.csv` is scored when a shipped
profile has that name; a precision other than the profile's is priced with the profile
switched to it. Rows named in the profile's `[calibration].fitted_rows` are counted, never
scored. tests/test_published.py asserts the same numbers against the bar.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from simulator.fitted import fitted_rows
from simulator.hardware.profile import Profile, device_names, load_profile
from simulator.reference import ReferenceRow, load_reference
from simulator.validate import ValidationResult, validate

BAR = 0.20  # issue 12: MAPE on the published rows not fitted, per device and precision


@dataclass(frozen=True)
class LabelScore:
    label: str  # device@precision
    rows: int  # published rows of the label
    fitted: int  # of them, rows the profile was fitted to
    result: ValidationResult | None  # on the rest; None when every row was fitted


def profile_at(label: str) -> Profile:
    """The shipped profile a `device@precision` label names, at that precision."""
    device, precision = label.split("@")
    profile = load_profile(device)
    return profile if profile.precision == precision else profile.replace(precision=precision)


def published_labels() -> dict[str, list[ReferenceRow]]:
    """Published rows by `device@precision`, for the labels a shipped profile takes."""
    shipped = set(device_names())
    labels: dict[str, list[ReferenceRow]] = defaultdict(list)
    for row in load_reference("published"):
        if row.device.split("@")[0] in shipped:
            labels[row.device].append(row)
    return dict(sorted(labels.items()))


def score(label: str, rows: list[ReferenceRow]) -> LabelScore:
    profile = profile_at(label)
    checked, fitted = fitted_rows(profile).split(rows)
    return LabelScore(label, len(rows), len(fitted), validate(profile, checked) if checked else None)


def scores() -> list[LabelScore]:
    return [score(label, rows) for label, rows in published_labels().items()]


def markdown(table: list[LabelScore]) -> str:
    lines = ["| device@precision | published rows | fitted | checked | MAPE | worst row |",
             "| --- | --- | --- | --- | --- | --- |"]
    for s in table:
        if s.result is None:
            lines.append(f"| {s.label} | {s.rows} | {s.fitted} | 0 | (all fitted) | |")
            continue
        worst = s.result.worst(1)[0]
        mark = "" if s.result.metrics.mape <= BAR else " (misses 20 %)"
        lines.append(f"| {s.label} | {s.rows} | {s.fitted} | {s.result.metrics.n} | "
                     f"{s.result.metrics.mape:.1%}{mark} | `{worst.row.model}` {worst.rel_error:+.0%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(scores()))
