"""Fit the Pixel 1/2/3 CPU profiles to half of the MobileNetV3 paper's latency rows.

    python tools/fit_cpu_profiles.py [--write]

Rows: the shipped reference set `published` (simulator/data/published.csv), device
`pixelN-cpu@fp32`, that come from Howard et al. 2019 "Searching for MobileNetV3" (Tables 3
and 9: single large core, TFLite, float) or from the slim MobileNet README's
MobileNetV3 minimalistic rows (same authors, same setting). Detection rows are left out.

Split (`split_rows`, also used by tests/test_cpu_model.py): sort the rows by published
latency (then by spec); the rows at odd positions (2nd, 4th, …) are fitted, the others
held out. That is ⌊n/2⌋ fitted rows spread evenly over the latency range.

Fit: `simulator.calibrate.calibrate` from the base values below (hardware.md estimates:
the free parameters of the CPU model reset to their unfitted values), then report the
held-out metrics. With `--write` the fitted fields and a `[calibration]` record naming
the fitted rows replace those in hw_profiles/<device>.toml; every other line (and its
source) is left as written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.calibrate import calibrate  # noqa: E402
from simulator.hardware.profile import load_profile  # noqa: E402
from simulator.reference import ReferenceRow, load_reference  # noqa: E402
from simulator.validate import validate  # noqa: E402

DEVICES = ("pixel1-cpu", "pixel2-cpu", "pixel3-cpu")
PAPER = "Searching for MobileNetV3"
# Unfitted values of the free parameters (hardware.md 6.1, unverified estimates): the
# calibration starts from these and its prior pulls towards them.
BASE = {
    "efficiency.conv": 0.6,
    "efficiency.pointwise": 0.6,
    "efficiency.depthwise": 0.25,
    "efficiency.dense": 0.25,
    "efficiency.elementwise": 0.25,
    "efficiency.pool": 0.25,
}
BASE_DEVICE = {
    "pixel1-cpu": {"overhead.per_op_s": 5e-6, "memory.dram_bw_bytes_per_s": 10e9},
    "pixel2-cpu": {"overhead.per_op_s": 5e-6, "memory.dram_bw_bytes_per_s": 10e9},
    "pixel3-cpu": {"overhead.per_op_s": 4e-6, "memory.dram_bw_bytes_per_s": 12e9},
}


def paper_rows(device: str) -> list[ReferenceRow]:
    """The MobileNetV3-paper float rows of `device` in the shipped `published` set."""
    return [
        r for r in load_reference("published")
        if r.device == f"{device}@fp32"
        and not r.model.startswith("ssdlite")
        and (PAPER in r.source or "minimalistic" in r.model)
    ]


def split_rows(rows: list[ReferenceRow]) -> tuple[list[ReferenceRow], list[ReferenceRow]]:
    """(fitted, held out): by published latency, odd positions fitted."""
    ordered = sorted(rows, key=lambda r: (r.latency_ms, r.model))
    return ordered[1::2], ordered[0::2]


def fit(device: str) -> tuple[Any, list[ReferenceRow], list[ReferenceRow]]:
    train, held = split_rows(paper_rows(device))
    base = load_profile(device).replace(**BASE, **BASE_DEVICE[device])
    result = calibrate(base, train, name=device, reference="published")
    return result, train, held


def calibration_toml(result: Any, train: list[ReferenceRow], held: list[ReferenceRow], held_metrics: Any) -> str:
    record = dict(result.profile.calibration)
    record["base_file"] = "tools/fit_cpu_profiles.py (BASE, BASE_DEVICE)"
    record["split"] = "rows sorted by published latency; odd positions fitted (tools/fit_cpu_profiles.py)"
    record["fitted_rows"] = [f"{r.model} = {r.latency_ms:g} ms" for r in train]
    record["held_out_rows"] = [f"{r.model} = {r.latency_ms:g} ms" for r in held]
    record["held_out"] = {k: v for k, v in held_metrics.to_dict().items() if v == v}
    return "\n".join(_table("calibration", record)) + "\n"


def _table(name: str, data: dict[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    nested = []
    for key, value in data.items():
        if isinstance(value, dict):
            nested.append((f"{name}.{key}", value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for sub, value in nested:
        lines += ["", *_table(sub, value)]
    return lines


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if "e" in f"{value:.6g}" or "." in f"{value:.6g}" else f"{value:.6g}.0"
    if isinstance(value, list | tuple):
        return "[\n" + "".join(f"    {_value(v)},\n" for v in value) + "]"
    return json.dumps(value)


def write(device: str, fitted: dict[str, float], calibration: str) -> None:
    """Replace the fitted `key = value` lines and the `[calibration]` tables in place."""
    path = ROOT / "hw_profiles" / f"{device}.toml"
    text = path.read_text()
    for dotted, value in fitted.items():
        table, key = dotted.split(".")
        section = re.search(rf"^\[{table}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
        assert section, f"{path}: no [{table}]"
        body = re.sub(rf"^{key} = .*$", f"{key} = {value:.4g}", section.group(1), count=1, flags=re.M)
        text = text[: section.start(1)] + body + text[section.end(1):]
    text = re.split(r"^\[calibration[\].]", text, flags=re.M)[0].rstrip() + "\n\n" + calibration
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="update hw_profiles/<device>.toml")
    args = parser.parse_args(argv)
    for device in DEVICES:
        result, train, held = fit(device)
        held_metrics = validate(result.profile, held).metrics
        print(f"{device}: fitted on {len(train)} rows, held out {len(held)}")
        for path, (before, after) in result.fitted.items():
            print(f"  {path:32s} {before:10.4g} -> {after:10.4g}")
        print(f"  train    mape {result.metrics.mape:.3f}  kendall {result.metrics.kendall:.3f}")
        print(f"  held-out mape {held_metrics.mape:.3f}  kendall {held_metrics.kendall:.3f}")
        if args.write:
            fitted = {k: after for k, (_, after) in result.fitted.items()}
            write(device, fitted, calibration_toml(result, train, held, held_metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
