"""Fit the stock profiles to public measurements of their chip and runtime.

    python tools/fit_stock_profiles.py [--write] [--only NAME ...] [--lofo] [--refdata DIR]

Each entry of `STOCK_FITS` names a shipped profile, the development files of
`../shared/refdata` measured on its chip under its runtime (with the precision the file
ran at), the labels of its rows in the shipped `published` set, and the physically named
fields the fit may move. Rows are fitted on a SUBSET and every other row checks:

- a development file: `ROWS_PER_FILE` rows drawn with `SEED` (`fitted_subset`); a file
  smaller than twice that gives half its rows;
- a `published` label: the rows sorted by latency (then spec), odd positions fitted; a
  label holding a campaign's power runs fits its latency runs and checks on the power runs.

Fit: `scipy.optimize.least_squares` on log(predicted / measured) — relative error — each
source (file or published label) weighted alike whatever its row count, plus a weak prior
(`PRIOR_WEIGHT` per e-fold) towards the profile's current values, so fields the rows
cannot see stay where their source put them. Fields are fitted in log space within
`BOUNDS`.

`--write` puts the fitted values into hw_profiles/<name>.toml (every other line and its
source stay as written) and replaces the `[calibration]` table:

    [calibration]
    tool = "tools/fit_stock_profiles.py"
    fitted_rows = ["<file>:<line>", ..., "published:<line>"]   # 1-based CSV lines, header 1
    [calibration.start]           # the fitted fields' values before the fit
    [calibration.residual_mape]   # per source, on its fitted rows
    [calibration.check]           # per source, on the rows NOT fitted: n, mape, within_10pct, kendall
    [calibration.intervals.latency]   # split conformal on half the development rows NOT fitted

The latency interval (`latency_interval`): of each development file's rows the fit did not
use, a seeded half (`simulator.intervals.conformal_split`) gives the log residuals, named in
`rows`; the other half checks the interval's coverage (tests/test_stock_intervals.py). A
profile with fewer than `MIN_INTERVAL_ROWS` such rows gets none. `--intervals` rewrites only
that table for the profiles as they are (no refit).

Every fit starts from the profile's unfitted values, `[calibration.start]` (written by
`--write`; the values the sources give, before any fit), never from its fitted ones.
`--lofo` refits each profile with one development file left out and scores every row of
that file (the test of whether the fields are physical or merely fitted).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.flat import FlatGraph  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.hardware.profile import Profile, load_profile  # noqa: E402
from simulator.intervals import conformal_split, interval_record  # noqa: E402
from simulator.reference import ReferenceRow, load_reference, reference_graphs  # noqa: E402
from simulator.validate import Metrics, metrics  # noqa: E402

TOOL = "tools/fit_stock_profiles.py"
REFDATA = ROOT.parent / "shared" / "refdata"
SEED = 0
ROWS_PER_FILE = 30
PRIOR_WEIGHT = 0.02
INTERVAL_SEED = 0
MIN_INTERVAL_ROWS = 20  # residuals an interval needs: the 90 % one takes the 2nd of 20 from each end

CPU_FIELDS = (
    "efficiency.conv", "efficiency.pointwise", "efficiency.depthwise", "efficiency.elementwise",
    "efficiency.pool", "overhead.per_op_s", "overhead.per_inference_s",
    "memory.dram_bw_bytes_per_s", "memory.cache_bw_bytes_per_s",
)
# Published TFLite zoo rows only (tens of 224 px networks): the fields such rows identify — the
# efficiencies of the categories that carry the time, the per-op and per-inference costs and
# the int8 kernels' MAC rate (2019 TFLite ran uint8 through gemmlowp, without SDOT: its MAC rate
# is not the hardware's int8 peak). The stem conv, pooling and the memory system stay at their
# sources: whole-network rows cannot separate them.
PUBLISHED_CPU_FIELDS = (
    "efficiency.pointwise", "efficiency.depthwise", "efficiency.elementwise", "overhead.per_op_s",
    "overhead.per_inference_s", "compute.macs_per_cycle.int8",
)
# PyTorch eager on a CPU: every op pays the framework's call (`overhead.per_op_s`: module
# call, dispatcher, output allocation); a conv call also packs its weights and converts
# layouts again (`dispatch` of the conv categories; element and pooling ops pack nothing, so
# theirs stays 0 and the per-op cost is what both a cell file and a block file see in their
# element ops). Its native convolution runs grouped and depthwise convs as one call per
# group, and lowers a k x k conv to the GEMM a 1x1 conv runs (im2col then GEMM; NNPACK and
# oneDNN GEMM kernels alike): one GEMM efficiency prices both, so a file of 1x1 convs fixes
# its 3x3 convs' rate.
PYTORCH_CPU_FIELDS = (*(f for f in CPU_FIELDS if f != "efficiency.conv"), "dispatch.conv", "dispatch.pointwise",
                      "dispatch.depthwise", "overhead.per_group_s")
PYTORCH_CPU_TIED = (("efficiency.conv", "efficiency.pointwise"),)
DSP_FIELDS = (
    "efficiency.conv", "efficiency.pointwise", "efficiency.elementwise", "efficiency.pool",
    "overhead.per_op_s", "overhead.weights_s", "memory.dram_bw_bytes_per_s",
    "memory.cache_bw_bytes_per_s", "offload.invocation_overhead_s",
)
GPU_FIELDS = (
    "efficiency.conv", "efficiency.pointwise", "efficiency.depthwise", "efficiency.elementwise",
    "efficiency.pool", "overhead.launch_s", "overhead.per_inference_s",
    "memory.dram_bw_bytes_per_s", "memory.cache_bw_bytes_per_s",
)
# TensorRT adds reformat kernels around convs (launches per op above 1).
TENSORRT_FIELDS = (*GPU_FIELDS, "kernels.conv", "kernels.pointwise")
# PyTorch eager on a GPU: a conv costs the host more than one kernel launch (descriptors,
# algorithm lookup, workspace), counted as launches per op. A 1x1 and a k x k conv take the
# same cuDNN path (tied); an fp32 depthwise conv takes PyTorch's own depthwise kernel instead
# (ATen Convolution.cpp: use_cudnn_depthwise only for fp16 or channels-last), so its own count.
PYTORCH_GPU_FIELDS = (*GPU_FIELDS, "kernels.conv", "kernels.depthwise")
PYTORCH_GPU_TIED = (("kernels.pointwise", "kernels.conv"),)
# (lower, upper) of a fitted field, by its last dotted part.
BOUNDS = {
    "conv": (0.01, 1.0), "pointwise": (0.01, 1.0), "depthwise": (0.01, 1.0), "dense": (0.01, 1.0),
    "elementwise": (0.01, 1.0), "pool": (0.01, 1.0),
    "per_op_s": (1e-8, 1e-2), "per_inference_s": (1e-7, 1e-1), "weights_s": (1e-8, 1e-2),
    "per_group_s": (1e-8, 1e-3),
    "launch_s": (1e-7, 1e-2), "invocation_overhead_s": (1e-7, 1e-1),
    "dram_bw_bytes_per_s": (1e8, 3e12), "cache_bw_bytes_per_s": (1e8, 2e13),
    "int8": (1.0, 256.0), "launch_overlap": (1e-3, 1.0),
    # kernel launches per op of a category: 1 where the runtime runs the op as one kernel
    "kernels.conv": (1.0, 50.0), "kernels.pointwise": (1.0, 50.0), "kernels.depthwise": (1.0, 50.0),
    "dispatch.conv": (1e-8, 1e-2), "dispatch.pointwise": (1e-8, 1e-2), "dispatch.depthwise": (1e-8, 1e-2),
    "dispatch.elementwise": (1e-8, 1e-2),
}


@dataclass(frozen=True)
class DevFile:
    """A development file and the precision the profile prices it at (None: the profile's)."""

    name: str
    precision: str | None = None


@dataclass(frozen=True)
class StockFit:
    profile: str
    files: tuple[DevFile, ...]
    published: tuple[str, ...]  # `device@precision` labels in the shipped published set
    fields: tuple[str, ...]
    # (field, the fitted field it takes the value of): one physical quantity priced in two
    # places, such as the GEMM efficiency of a runtime that runs every conv as a GEMM.
    tied: tuple[tuple[str, str], ...] = ()

    @property
    def written(self) -> tuple[str, ...]:
        """The fields a fit sets: the fitted ones and those tied to them."""
        return (*self.fields, *(f for f, _ in self.tied))


STOCK_FITS = (
    StockFit("pixel4-cpu", (DevFile("latbench-mobile-cpu-sd855-kryo485-int8.csv"),), (), CPU_FIELDS),
    StockFit("hexagon-690", (DevFile("latbench-mobile-dsp-sd855-hexagon690-int8.csv"),), (), DSP_FIELDS),
    StockFit("adreno-640", (DevFile("latbench-mobile-gpu-sd855-adreno640-int8.csv"),),
             ("adreno-640@fp16", "adreno-640@fp32"), GPU_FIELDS),
    StockFit("jetson-nano", (DevFile("latbench-embedded-gpu-jetson-nano-fp16.csv"),), (), TENSORRT_FIELDS),
    StockFit("jetson-nano-fp32", (DevFile("latbench-embedded-gpu-jetson-nano-fp32.csv"),), (), TENSORRT_FIELDS),
    StockFit("pixel3-cpu-pytorch-tflite", (DevFile("hwnasbench-nb201-pixel3.csv"),), (), CPU_FIELDS),
    StockFit("raspi4-cpu-pytorch-tflite", (DevFile("hwnasbench-nb201-raspi4.csv"),), (), CPU_FIELDS),
    # One big core under TFLite, fp32 and uint8: the MobileNetV2/V3 and MnasNet papers' tables and
    # TFLite's hosted-model and benchmark pages (no development file of these chips).
    StockFit("pixel1-cpu", (), ("pixel1-cpu@fp32", "pixel1-cpu@int8"), PUBLISHED_CPU_FIELDS),
    StockFit("pixel2-cpu", (), ("pixel2-cpu@fp32", "pixel2-cpu@int8"), PUBLISHED_CPU_FIELDS),
    StockFit("pixel3-cpu", (), ("pixel3-cpu@fp32", "pixel3-cpu@int8"), PUBLISHED_CPU_FIELDS),
    # TFLite GPU delegate on the Pixel 3's Adreno 630: TFLite's hosted-model page.
    StockFit("adreno-630", (), ("adreno-630@fp32",), GPU_FIELDS),
    # Published TFLite rows only (SSDLite and MobileNet benchmarks): few rows, few fields.
    StockFit("raspi4-cpu", (), ("raspi4-cpu@fp32", "raspi4-cpu@int8"),
             ("efficiency.pointwise", "efficiency.depthwise", "compute.macs_per_cycle.int8")),
    # DeepEdgeBench's latency runs (tflite_runtime in Python, no delegate, one thread): three
    # networks, two fields; its power runs check latency, energy and power.
    StockFit("raspi4-cpu-tflite-python", (), ("raspi4-cpu-tflite-python@fp32", "raspi4-cpu-tflite-python@int8"),
             ("efficiency.pointwise", "compute.macs_per_cycle.int8")),
    StockFit("coral-devboard-cpu", (), ("coral-devboard-cpu@fp32", "coral-devboard-cpu@int8"),
             ("efficiency.pointwise", "compute.macs_per_cycle.int8")),
    StockFit("pixel2-cpu-pytorch", (DevFile("help-nb201-pixel2.csv"), DevFile("help-fbnet-pixel2.csv")),
             (), PYTORCH_CPU_FIELDS, PYTORCH_CPU_TIED),
    StockFit("samsung-a50-cpu-pytorch", (DevFile("help-fbnet-samsung_a50.csv"),), (), PYTORCH_CPU_FIELDS,
             PYTORCH_CPU_TIED),
    StockFit("xeon-gold-6226-pytorch",
             (DevFile("help-nb201-gold_6226.csv"), DevFile("help-fbnet-gold_6226.csv")), (), PYTORCH_CPU_FIELDS,
             PYTORCH_CPU_TIED),
    StockFit("gtx-1080ti-pytorch",
             (DevFile("help-nb201-1080ti_1.csv"), DevFile("help-fbnet-1080ti_1.csv")), (),
             PYTORCH_GPU_FIELDS, PYTORCH_GPU_TIED),
    StockFit("titan-rtx-pytorch", (DevFile("help-fbnet-titan_rtx_1.csv"),), (), PYTORCH_GPU_FIELDS,
             PYTORCH_GPU_TIED),
    # 15 rows, 7 fitted: only the costs that dominate a launch-bound PyTorch GPU.
    StockFit("jetson-tx2-pytorch", (DevFile("hwnasbench-anchors-jetson-tx2.csv"),), (),
             ("efficiency.conv", "overhead.launch_s", "overhead.per_inference_s", "kernels.depthwise")),
)


# -- which rows are fitted -----------------------------------------------------------------
def fitted_subset(rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """The rows of a development file the fit uses: `ROWS_PER_FILE` drawn with `SEED`
    (half the file when it is smaller than twice that), in file order."""
    n = min(ROWS_PER_FILE, len(rows) // 2)
    order = np.random.default_rng(SEED).permutation(len(rows))
    return [rows[i] for i in sorted(order[:n])]


def published_subset(rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """The published rows of one label the fit uses: where the label holds a campaign's
    power runs (measured energy at a stated boundary), its latency runs, so that every
    power run checks latency, energy and power; otherwise by latency, odd positions."""
    if any(r.is_power_run for r in rows):
        return [r for r in rows if not r.is_power_run]
    return sorted(rows, key=lambda r: (r.latency_ms, r.model))[1::2]


def row_id(row: ReferenceRow) -> str:
    """How `[calibration].fitted_rows` names a row: `<file basename>:<line>`, with the
    shipped published set as `published`."""
    stem = Path(row.file).name
    return f"published:{row.line}" if stem == "published.csv" else f"{stem}:{row.line}"


@dataclass(frozen=True)
class Source:
    """Rows of one file or published label, priced at one precision."""

    name: str
    precision: str
    rows: tuple[ReferenceRow, ...]


def sources(fit: StockFit, profile: Profile, refdata: Path) -> list[Source]:
    """Every source of `fit` with all its rows; raises FileNotFoundError without refdata."""
    out = []
    for f in fit.files:
        path = refdata / f.name
        if not path.is_file():
            raise FileNotFoundError(path)
        out.append(Source(f.name, f.precision or profile.precision, tuple(load_reference(path))))
    if fit.published:
        published = load_reference("published")
        for label in fit.published:
            rows = tuple(r for r in published if r.device == label)
            out.append(Source(f"published {label}", label.split("@")[1], rows))
    return out


def split(source: Source) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """(fitted, checked) rows of a source."""
    pick = published_subset if source.name.startswith("published") else fitted_subset
    fitted = pick(source.rows)
    ids = {row_id(r) for r in fitted}
    return fitted, [r for r in source.rows if row_id(r) not in ids]


def checked_rows(profile: Profile, source: Source) -> list[ReferenceRow]:
    """The rows of `source` that `profile`'s `[calibration]` does not list as fitted."""
    record = profile.calibration or {}
    fitted = set(record.get("fitted_rows", ()))
    return [r for r in source.rows if row_id(r) not in fitted]


# -- pricing and fitting -------------------------------------------------------------------
def predict_ms(profile: Profile, flats: Sequence[FlatGraph]) -> np.ndarray:
    return np.array([run(f, profile).latency_s * 1e3 for f in flats])


def predicted(profile: Profile, source: Source, rows: Sequence[ReferenceRow]) -> np.ndarray:
    """Latencies (ms) `profile` predicts for `rows`, priced at the source's precision."""
    priced = profile if profile.precision == source.precision else profile.replace(precision=source.precision)
    return predict_ms(priced, [g.flat() for g in reference_graphs(rows)])


def score(profile: Profile, source: Source, rows: Sequence[ReferenceRow]) -> Metrics:
    """Metrics of `profile` at the source's precision on `rows`."""
    return metrics(predicted(profile, source, rows), [r.latency_ms for r in rows])


def latency_interval(profile: Profile, unfitted: Sequence[tuple[Source, list[ReferenceRow]]]) -> dict | None:
    """`[calibration.intervals.latency]` of `profile` from the residuals of a seeded half of
    each development file's `unfitted` rows, or None with fewer than `MIN_INTERVAL_ROWS`."""
    keys: list[str] = []
    measured: list[float] = []
    priced: list[float] = []
    for source, rows in unfitted:
        half = conformal_split(rows, INTERVAL_SEED)[0]
        keys += [row_id(r) for r in half]
        measured += [r.latency_ms for r in half]
        priced += predicted(profile, source, half).tolist() if half else []
    if len(keys) < MIN_INTERVAL_ROWS:
        return None
    files = ", ".join(s.name for s, rows in unfitted if rows)
    backed_by = (f"{len(keys)} rows of {files} not fitted (a seeded half of each file's; "
                 f"the other half checks the interval: tests/test_stock_intervals.py)")
    return interval_record(measured, priced, backed_by, keys)


def interval_toml(record: dict) -> str:
    lines = ["[calibration.intervals.latency]", f"method = {json.dumps(record['method'])}",
             f"backed_by = {json.dumps(record['backed_by'])}", "rows = ["]
    rows = [json.dumps(r) for r in record["rows"]]
    lines += ["    " + ", ".join(rows[i:i + 6]) + "," for i in range(0, len(rows), 6)]
    lines += ["]", "log_residuals = ["]
    values = [f"{v:.6g}" for v in record["log_residuals"]]
    lines += ["    " + ", ".join(values[i:i + 10]) + "," for i in range(0, len(values), 10)]
    return "\n".join([*lines, "]"]) + "\n"


def development_rows(fit: StockFit, profile: Profile, refdata: Path) -> list[tuple[Source, list[ReferenceRow]]]:
    """Each development file of `fit` with the rows `profile` was not fitted to."""
    return [(s, checked_rows(profile, s)) for s in sources(fit, profile, refdata) if not s.name.startswith("published")]


def fit_fields(profile: Profile, fields: Sequence[str], groups: Sequence[tuple[Source, list[ReferenceRow]]],
               tied: Sequence[tuple[str, str]] = ()) -> Profile:
    """`profile` with `fields` fitted to the rows of `groups` (log residuals, each group
    weighted alike, a weak prior towards the current values); each `tied` field takes the
    value of the fitted field it names."""
    from scipy.optimize import least_squares

    prepared = []
    for source, rows in groups:
        flats = [g.flat() for g in reference_graphs(rows)]
        measured = np.log([r.latency_ms for r in rows])
        prepared.append((source.precision, flats, measured, 1.0 / math.sqrt(len(rows))))
    low = [BOUNDS.get(f, BOUNDS.get(f.split(".")[-1]))[0] for f in fields]
    high = [BOUNDS.get(f, BOUNDS.get(f.split(".")[-1]))[1] for f in fields]
    # A field at 0 (a cost the hand-written profile left out) starts mid-range (in log).
    x0 = np.log([min(max(float(profile.get(f)), lo), hi) if float(profile.get(f)) else math.sqrt(lo * hi)
                 for f, lo, hi in zip(fields, low, high, strict=True)])
    lower, upper = np.log(low), np.log(high)

    def with_x(x: np.ndarray) -> Profile:
        values = {f: float(math.exp(v)) for f, v in zip(fields, x, strict=True)}
        return profile.replace(**values, **{f: values[source] for f, source in tied})

    def residuals(x: np.ndarray) -> np.ndarray:
        fitted = with_x(x)
        parts = []
        for precision, flats, measured, weight in prepared:
            priced = fitted if fitted.precision == precision else fitted.replace(precision=precision)
            parts.append(weight * (np.log(predict_ms(priced, flats)) - measured))
        parts.append(PRIOR_WEIGHT * (x - x0))
        return np.concatenate(parts)

    result = least_squares(residuals, x0, bounds=(lower, upper), method="trf", diff_step=1e-3, max_nfev=200)
    return with_x(result.x)


def start_values(profile: Profile, fields: Sequence[str]) -> dict[str, float]:
    """The values the fit of `fields` starts from and its prior pulls towards: the
    profile's `[calibration.start]` (the values before any fit, with their sources), else
    its current values (a profile not fitted yet)."""
    start = (profile.calibration or {}).get("start", {})
    return {f: float(start.get(f, profile.get(f))) for f in fields}


def unfitted(fit: StockFit) -> Profile:
    """The profile of `fit` with its fitted fields back at their start values: what a
    refit (and a leave-one-file-out refit) begins from, so no fitted row leaks in."""
    profile = load_profile(fit.profile)
    return profile.replace(**start_values(profile, fit.written))


@dataclass
class Outcome:
    profile: Profile
    fitted_rows: list[str]
    residual: dict[str, float]
    check: dict[str, Metrics]
    start: dict[str, float]
    interval: dict | None = None


def fit_stock(fit: StockFit, refdata: Path, leave_out: str | None = None) -> Outcome:
    """Fit one stock profile from its unfitted values; `leave_out` drops one development
    file from the fit (and checks every row of it)."""
    base = unfitted(fit)
    srcs = sources(fit, base, refdata)
    groups = [(s, split(s)[0]) for s in srcs if s.name != leave_out and split(s)[0]]
    fitted = fit_fields(base, fit.fields, groups, fit.tied)
    residual = {s.name: score(fitted, s, rows).mape for s, rows in groups}
    check = {s.name: score(fitted, s, list(s.rows) if s.name == leave_out else split(s)[1])
             for s in srcs if s.name == leave_out or split(s)[1]}
    fitted_rows = [row_id(r) for _, rows in groups for r in rows]
    unfitted_rows = [(s, split(s)[1]) for s in srcs if not s.name.startswith("published") and s.name != leave_out]
    return Outcome(fitted, fitted_rows, residual, check, start_values(base, fit.written),
                   latency_interval(fitted, unfitted_rows))


def leave_one_file_out(fit: StockFit, refdata: Path) -> dict[str, Metrics]:
    """Per development file of a profile fitted on several: the metrics on ALL its rows of
    the profile refitted (from its unfitted values) without it."""
    if len(fit.files) + bool(fit.published) < 2:
        return {}
    return {f.name: fit_stock(fit, refdata, leave_out=f.name).check[f.name] for f in fit.files}


# -- writing the profile -------------------------------------------------------------------
def calibration_toml(outcome: Outcome) -> str:
    lines = ["[calibration]", f'tool = "{TOOL}"',
             f"seed = {SEED}", f"rows_per_file = {ROWS_PER_FILE}",
             'split = "development files: seeded rows; published: sorted by latency, odd positions '
             '(latency runs where the label has power runs)"',
             "fitted_rows = ["]
    lines += [f'    "{r}",' for r in outcome.fitted_rows]
    lines += ["]", "", "# the values the fit starts from (their sources in [sources]) and its prior pulls towards",
              "[calibration.start]"]
    lines += [f'"{name}" = {value:.6g}' for name, value in outcome.start.items()]
    lines += ["", "[calibration.residual_mape]"]
    lines += [f'"{name}" = {value:.4f}' for name, value in outcome.residual.items()]
    for name, m in outcome.check.items():
        lines += ["", f'[calibration.check."{name}"]', f"n = {m.n}", f"mape = {m.mape:.4f}",
                  f"within_10pct = {m.within_10pct:.4f}"]
        if not math.isnan(m.kendall):
            lines.append(f"kendall = {m.kendall:.4f}")
    text = "\n".join(lines) + "\n"
    return text + "\n" + interval_toml(outcome.interval) if outcome.interval else text


def write(outcome: Outcome, fields: Sequence[str]) -> None:
    """Replace the fitted `key = value` lines, their sources and `[calibration]` in place."""
    path = ROOT / "hw_profiles" / f"{outcome.profile.name}.toml"
    text = path.read_text()
    for dotted in fields:
        table, key, *entry = dotted.split(".")
        section = re.search(rf"^\[{table}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
        if not section or not re.search(rf"^{key} = ", section.group(1), re.M):
            raise SystemExit(f"{path}: no {key} in [{table}]")
        value = f"{float(outcome.profile.get(dotted)):.4g}"
        if entry:  # one entry of an inline table: `key = { fp32 = 4, int8 = 8 }`
            line = re.search(rf"^{key} = .*$", section.group(1), re.M).group(0)
            new = re.sub(rf"\b{entry[0]} = [^,}}]+", f"{entry[0]} = {value}", line)
            body = section.group(1).replace(line, new, 1)
        else:
            body = re.sub(rf"^{key} = .*$", f"{key} = {value}", section.group(1), count=1, flags=re.M)
        text = text[: section.start(1)] + body + text[section.end(1):]
        text = _mark_fitted(text, ".".join((table, key)), table)
    text = re.split(r"^\[calibration[\].]", text, flags=re.M)[0].rstrip() + "\n\n" + calibration_toml(outcome)
    path.write_text(text)


def write_interval(profile: Profile, record: dict | None) -> None:
    """Replace (or drop) only the `[calibration.intervals.latency]` table of `profile`'s file."""
    path = ROOT / "hw_profiles" / f"{profile.name}.toml"
    text = re.sub(r"^\[calibration\.intervals\.latency\]\n.*?(?=^\[|\Z)", "", path.read_text(), flags=re.M | re.S)
    text = text.rstrip() + "\n"
    path.write_text(text + "\n" + interval_toml(record) if record else text)


def rewrite_interval(fit: StockFit, refdata: Path) -> None:
    """Rewrite `[calibration.intervals.latency]` of `fit`'s profile as it is on disk."""
    profile = load_profile(fit.profile)
    record = latency_interval(profile, development_rows(fit, profile, refdata))
    write_interval(profile, record)
    print(f"{fit.profile}: interval from {len(record['rows']) if record else 0} rows")


FITTED_NOTE = f"fitted by {TOOL} to the [calibration] rows; start value: "


def _mark_fitted(text: str, dotted: str, table: str) -> str:
    """Prefix the field's source (or its table's) with the fit, once."""
    for key in (dotted, table):
        match = re.search(rf'^"{re.escape(key)}" = (".*")$', text, re.M)
        if match:
            old = json.loads(match.group(1))
            if old.startswith(FITTED_NOTE):
                return text
            new = json.dumps(FITTED_NOTE + old)
            return text[: match.start(1)] + new + text[match.end(1):]
    raise SystemExit(f"{dotted}: no source line to mark as fitted")


# -- command line --------------------------------------------------------------------------
def _row(name: str, m: Metrics, prefix: str = "  ") -> str:
    return f"{prefix}{name:48s} n={m.n:5d}  mape {m.mape:6.1%}  within10 {m.within_10pct:5.0%}  tau {m.kendall:6.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="update hw_profiles/<name>.toml")
    parser.add_argument("--only", nargs="*", default=None, help="profiles to fit (default: all)")
    parser.add_argument("--lofo", action="store_true", help="leave-one-file-out refits")
    parser.add_argument("--intervals", action="store_true",
                        help="only rewrite [calibration.intervals.latency] of the profiles as they are")
    parser.add_argument("--refdata", type=Path, default=REFDATA)
    args = parser.parse_args(argv)
    chosen = [f for f in STOCK_FITS if args.only is None or f.profile in args.only]
    for fit in chosen:
        if args.intervals:
            rewrite_interval(fit, args.refdata)
            continue
        outcome = fit_stock(fit, args.refdata)
        print(f"{fit.profile}: fitted {len(outcome.fitted_rows)} rows")
        for name, value in outcome.residual.items():
            print(f"  residual {name:39s} mape {value:6.1%}")
        for name, m in outcome.check.items():
            print(_row(name, m))
        if args.write:
            write(outcome, fit.written)
            rewrite_interval(fit, args.refdata)  # from the values as written (rounded)
        if args.lofo:
            for left, m in leave_one_file_out(fit, args.refdata).items():
                print(_row(left, m, "  LOFO without "))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
