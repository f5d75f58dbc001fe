"""`--format` for commands whose output is a table: aligned text (default), CSV, JSON or
Parquet, all written by `simulator.tabular` in the one style."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def add_format_arguments(p: argparse.ArgumentParser) -> None:
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table",
                     help="output format (parquet needs --out, pandas and pyarrow)")
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    p.add_argument("--out", help="write the table to this file instead of stdout")


def emit(args: argparse.Namespace, header: Sequence[str], rows: Sequence[Sequence[Any]],
         text_rows: Sequence[Sequence[Any]] | None = None) -> None:
    """Print or write the table in `args.format`; `text_rows` are the rows as the aligned
    text table shows them (units folded in, rounded), the others get the raw values."""
    from pathlib import Path

    from simulator.tabular import write_table
    from simulator.textfmt import format_table

    if args.format == "table":
        text = format_table(header, text_rows if text_rows is not None else rows) + "\n"
        if args.out:
            Path(args.out).write_text(text)
        else:
            print(text, end="")
        return
    write_table(header, rows, args.format, Path(args.out) if args.out else None)
