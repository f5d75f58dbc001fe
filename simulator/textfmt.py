"""Text in and out, for reports, the CLI and studies: plain-text tables, CSV, and
`FIELD=V1,V2` settings."""

from __future__ import annotations

import ast
import csv
import sys
from collections.abc import Sequence
from typing import Any

from graphs.errors import EdgesimError


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print(format_table(header, rows))


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(header: Sequence[str], rows: Sequence[Sequence[Any]], stream=None) -> None:
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """`array_rows=32,64,128` → ("array_rows", [32, 64, 128]); values are Python literals
    (numbers, true/false as True/False) or bare words."""
    field, sep, values = text.partition("=")
    if not sep or not field.strip() or not values.strip():
        raise EdgesimError(f"--set {text!r}: write FIELD=V1,V2,...")
    parsed = []
    for raw in values.split(","):
        raw = raw.strip()
        try:
            parsed.append(ast.literal_eval(raw))
        except (ValueError, SyntaxError):
            parsed.append({"true": True, "false": False}.get(raw.lower(), raw))
    return field.strip(), parsed

