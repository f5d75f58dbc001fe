"""Running the CLI in-process and checking the promise every command makes: exit 0, or
exit 2 with exactly one line on stderr ("edgesim: error: ..."), and no traceback."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from simulator.cli import main

# A number token that is not finite, as Python's json and csv modules write them.
NON_FINITE = re.compile(r"(?<![A-Za-z_])-?(inf|Infinity|nan|NaN)(?![A-Za-z_])")


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `edgesim ARGV`; argparse's exits count as statuses.
    Any other exception propagates, so a traceback fails the calling test."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The error line of a command that must fail cleanly."""
    code, out, err = run_cli(capsys, argv)
    assert code == 2, (code, out[-500:], err[-500:])
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgesim: error: "), err
    return lines[0]


def files_under(folder: Path) -> set[str]:
    """Every file and folder below `folder`, hidden ones included, as relative paths."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def finite_numbers(text: str) -> bool:
    """Whether `text` (CSV, JSON or a table) holds no inf/NaN number."""
    return NON_FINITE.search(text) is None and all(math.isfinite(float(m)) for m in re.findall(r"\d+e\d+", text))
