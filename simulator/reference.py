"""Reference measurements: CSV files of measured latencies (and energies) of model specs.

Format (one row per measured network, header required):

    model,latency_ms,energy_mj,device,source[,boundary]

`model` is a model spec (`graphs.spec`), `latency_ms` one batch-1 inference, `energy_mj`
empty where not measured, `device` the campaign/device, `source` the citation. The
optional `boundary` column says what a measured energy covers (`BOUNDARIES`: chip,
core-rail, module, board, usb); a row that leaves it empty is taken to be measured at the
boundary of the profile it is scored on. A file is read whole or not at all: a malformed
row raises `EdgesimError` naming the file and line. Shipped sets (in `simulator/data/`)
can be named without a path, e.g. `published`.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.spec import build, canonical, is_path_spec
from simulator.boundary import BOUNDARIES

COLUMNS = ("model", "latency_ms", "energy_mj", "device", "source")
BOUNDARY = "boundary"  # the optional column
# What one batch-1 inference can measure: from a nanosecond / nanojoule to about a day / a
# megajoule. Outside, a value is a unit slip or a typo, and relative errors against it are
# meaningless (5e-324 ms makes every MAPE infinite).
RANGES = {"latency_ms": (1e-6, 1e8), "energy_mj": (1e-6, 1e9)}


@dataclass(frozen=True)
class ReferenceRow:
    """One measured network. `file` and `line` say where it came from, for messages."""

    model: str
    latency_ms: float
    energy_mj: float | None
    device: str
    source: str
    file: str = ""
    line: int = 0
    boundary: str | None = None  # what the measured energy covers; None: the profile's

    @property
    def is_power_run(self) -> bool:
        """A row measured for its energy at a stated boundary. Its latency was timed under
        the power run's conditions (typically a Python loop around one input), not a
        benchmark tool's, so it scores energy and power, not latency."""
        return self.boundary is not None and self.energy_mj is not None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def shipped_sets() -> list[str]:
    """Names of the reference sets that ship with edgesim (`simulator/data/*.csv`)."""
    return sorted(p.stem for p in _data_dir().glob("*.csv"))


def _data_dir() -> Path:
    return Path(str(resources.files("simulator.data")))


def resolve_reference(path_or_name: str | Path) -> Path:
    """The file a reference argument names: an existing path, or a shipped set's name."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    shipped = _data_dir() / f"{path_or_name}.csv"
    if shipped.is_file():
        return shipped
    raise EdgesimError(
        f"{path_or_name}: no such reference file; give a CSV path or a shipped set "
        f"({', '.join(shipped_sets()) or 'none'})"
    )


def load_reference(path_or_name: str | Path) -> list[ReferenceRow]:
    """Read and check a reference CSV; every spec must name a known model with valid
    options. Graphs are not built here (see `reference_graphs`)."""
    path = resolve_reference(path_or_name)
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the header
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgesimError(f"{origin}: cannot read ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise EdgesimError(f"{origin}: empty file; expected the header {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise EdgesimError(
            f"{origin}:1: missing column {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    col = {name: header.index(name) for name in (*COLUMNS, BOUNDARY) if name in header}
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line: nothing to read, nothing lost
        if len(cells) != len(header):
            raise EdgesimError(
                f"{origin}:{line}: {len(cells)} fields, the header has {len(header)}"
            )
        rows.append(_row(cells, col, origin, line))
    if not rows:
        raise EdgesimError(f"{origin}: no rows")
    return rows


def _row(cells: Sequence[str], col: dict[str, int], origin: str, line: int) -> ReferenceRow:
    where = f"{origin}:{line}"
    model = cells[col["model"]].strip()
    if not model:
        raise EdgesimError(f"{where}: empty model spec")
    if not is_path_spec(model):
        try:
            canonical(model)  # parses the spec, checks the model name and its options
        except EdgesimError as exc:
            raise EdgesimError(f"{where}: {exc}") from None
    latency = _number(cells[col["latency_ms"]], where, "latency_ms")
    if latency is None:
        raise EdgesimError(f"{where}: latency_ms is empty")
    raw_energy = cells[col["energy_mj"]]
    energy = _number(raw_energy, where, "energy_mj") if raw_energy.strip() else None
    device = cells[col["device"]].strip()
    if not device:
        raise EdgesimError(f"{where}: empty device")
    boundary = (cells[col[BOUNDARY]].strip() or None) if BOUNDARY in col else None
    if boundary is not None and boundary not in BOUNDARIES:
        raise EdgesimError(f"{where}: boundary {boundary!r} is not one of {', '.join(BOUNDARIES)}")
    return ReferenceRow(model, latency, energy, device, cells[col["source"]].strip(), origin, line, boundary)


def _number(text: str, where: str, column: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise EdgesimError(f"{where}: {column} {text.strip()!r} is not a number") from None
    low, high = RANGES[column]
    if not (math.isfinite(value) and low <= value <= high):
        raise EdgesimError(f"{where}: {column} must be a positive number from {low:g} to {high:g}, not {text.strip()}")
    return value


def rows_for_device(
    rows: Sequence[ReferenceRow], device: str, precision: str | None = None
) -> list[ReferenceRow]:
    """The rows a profile named `device` running at `precision` is scored on.

    A file that holds one device (a measurement campaign) is used whole. Otherwise a row
    belongs to the profile when its `device` column is the profile name, or
    `name@precision` with the profile's precision (the curated `published` set labels
    every row so: `pixel1-cpu@fp32`, `pixel1-cpu@int8`).
    """
    devices = {r.device for r in rows}
    if len(devices) == 1:
        return list(rows)
    wanted = {device} if precision is None else {device, f"{device}@{precision}"}
    chosen = [r for r in rows if r.device in wanted]
    if not chosen:
        origin = rows[0].file if rows else "reference"
        close = sorted(d for d in devices if d.split("@")[0] == device)
        hint = f"; rows for other precisions: {', '.join(close)}" if close else ""
        raise EdgesimError(
            f"{origin}: no rows for device {'@'.join(filter(None, [device, precision]))}"
            f"{hint}; devices in the file: {', '.join(sorted(devices))}"
        )
    return chosen


# Built graphs per model string: many rows share a model, and building is the slow part.
# Bounded so that scoring a whole search space does not keep every graph alive.
@functools.lru_cache(maxsize=4096)
def _graph(model: str) -> OpGraph:
    return build(model)


def reference_graphs(rows: Iterable[ReferenceRow]) -> list[OpGraph]:
    """The graph of each row (cached per model string; treat them as read-only). A spec
    that does not build is an error naming the row's file and line."""
    from simulator.progress import progress

    graphs = []
    for row in progress(rows, desc="building graphs", unit="row"):
        try:
            graphs.append(_graph(row.model))
        except EdgesimError as exc:
            raise EdgesimError(f"{row.where}: {exc}") from None
    return graphs
