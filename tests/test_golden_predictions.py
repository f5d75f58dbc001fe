"""Predictions stay put: every row of tests/golden/predictions.csv is reproduced to a
relative 1e-12 (zoo models on every shipped profile, NAS-Bench-201 and FBNet samples on
four devices, whole-graph and segment fast path).

When a change is MEANT to move numbers (a refitted profile, a new cost term), regenerate
the file and say so in the commit message:

    python tools/make_predictions_golden.py
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

# The generator lives in tools/ (it asserts nothing); the test compares its rows with the file.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from make_predictions_golden import COLUMNS, GOLDEN, rows

REL = 1e-12


def test_predictions_match_golden_file():
    with GOLDEN.open(newline="") as stream:
        reader = csv.reader(stream)
        assert tuple(next(reader)) == COLUMNS
        expected = list(reader)
    actual = list(rows())
    assert [r[:3] for r in actual] == [tuple(r[:3]) for r in expected], "cases changed: regenerate the golden file"
    misses = []
    for got, want in zip(actual, expected, strict=True):
        if want[5] or got[5]:
            if got[5] != want[5]:
                misses.append(f"{want[:3]}: error {got[5]!r}, golden {want[5]!r}")
            continue
        for col in (3, 4):
            if not math.isclose(float(got[col]), float(want[col]), rel_tol=REL, abs_tol=0.0):
                misses.append(f"{want[:3]} {COLUMNS[col]}: {got[col]} != golden {want[col]}")
    assert not misses, f"{len(misses)} of {len(expected)} rows moved:\n" + "\n".join(misses[:20])


def test_golden_file_covers_the_cases():
    with GOLDEN.open(newline="") as stream:
        golden = list(csv.DictReader(stream))
    paths = {row["path"] for row in golden}
    assert paths == {"zoo", "whole", "fast"}
    devices = {row["device"] for row in golden if row["path"] == "fast"}
    assert devices == {"pixel4-cpu", "coral-usb", "hexagon-690", "jetson-nano"}
    for space in ("nasbench201", "fbnet"):
        for device in devices:
            assert sum(1 for r in golden if r["path"] == "fast" and r["device"] == device
                       and r["model"].startswith(space + "(")) == 200
