"""Text in and out, for reports, the CLI and studies: plain-text tables and `FIELD=V1,V2`
settings (CSV, JSON and Parquet: `simulator.tabular`)."""

from __future__ import annotations

import tomllib
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


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """`FIELD=V1,V2,...` → (FIELD, [V1, V2, ...]). Each value is a TOML literal, as in a
    profile file: `64`, `2.5e8`, `true`, `"per_op"`, `["relu", "relu6"]` (arrays come back
    as tuples, so that they can key a grid); a bare word such as `per_op` is a string.
    Commas inside brackets or quotes belong to the value:
    `fused_activations=["relu"],["relu","relu6"]` is two values."""
    field, sep, values = text.partition("=")
    if not sep or not field.strip() or not values.strip():
        raise EdgesimError(f"--set {text!r}: write FIELD=V1,V2,... (values as in TOML)")
    return field.strip(), [_toml_literal(raw.strip(), text) for raw in _split_top_level(values)]


def _split_top_level(values: str) -> list[str]:
    """`values` split at the commas outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(values):
        if quote:
            if char == quote and values[i - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(values[start:i])
            start = i + 1
    parts.append(values[start:])
    return parts


def _toml_literal(raw: str, text: str) -> Any:
    if not raw:
        raise EdgesimError(f"--set {text!r}: an empty value")
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        if raw.replace("_", "").replace("-", "").replace(".", "").isalnum():
            return raw  # a bare word
        raise EdgesimError(f"--set {text!r}: {raw!r} is not a TOML value (quote strings, bracket lists)") from None
    return _frozen(value)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value
