"""Tabular output in one style for every command and the Python API: CSV, JSON (records)
or Parquet files, and pandas DataFrames.

One numeric format: floats as Python writes them (the shortest text that reads back to the
same number) in CSV and JSON alike, non-finite values empty (CSV) or null (JSON); JSON is
indented by `JSON_INDENT`.
pandas (`pip install 'edgesim[frames]'`) is needed only for DataFrames and Parquet, which
also needs pyarrow; the rest is the standard library.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from graphs.errors import EdgesimError
from graphs.files import atomic_file, write_text

FORMATS = ("csv", "json", "parquet")
JSON_INDENT = 2


def number(value: Any) -> Any:
    """A float as it is (non-finite as None), a numpy scalar as its Python value; other
    values as they are."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar
        return number(value.item())
    return value


def to_json(data: Any) -> str:
    """`data` (dicts, lists, scalars) as JSON in the one style, floats rounded."""
    return json.dumps(_rounded(data), indent=JSON_INDENT)


def _rounded(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _rounded(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_rounded(v) for v in data]
    return number(data)


def to_frame(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """The table as a pandas DataFrame (full precision)."""
    pandas = _pandas("DataFrames")
    return pandas.DataFrame([list(r) for r in rows], columns=list(header))


def format_table_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    write_csv(header, rows, buf)
    return buf.getvalue()


def write_csv(header: Sequence[str], rows: Sequence[Sequence[Any]], stream: IO[str] | None = None) -> None:
    """The table as CSV on `stream` (default stdout), values in the one numeric format."""
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else number(v) for v in row] for row in rows])


def write_table(header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, path: Path | None = None) -> None:
    """Write the table as `fmt` to `path` (atomically: nothing half-written on failure),
    or to stdout when `path` is None (CSV and JSON only)."""
    if fmt not in FORMATS:
        raise EdgesimError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "parquet":
        if path is None:
            raise EdgesimError("parquet is binary: give an output file")
        _pandas("Parquet output")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise EdgesimError("Parquet output needs pyarrow: pip install 'edgesim[frames]'") from None
        with atomic_file(path, "wb") as handle:
            to_frame(header, rows).to_parquet(handle, index=False)
        return
    text = format_table_csv(header, rows) if fmt == "csv" else to_json(
        [dict(zip(header, row, strict=True)) for row in rows]) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        write_text(path, text)


def _pandas(what: str) -> Any:
    try:
        import pandas
    except ImportError:
        raise EdgesimError(f"{what} need pandas: pip install 'edgesim[frames]'") from None
    return pandas
