"""Fit the Edge TPU profiles (coral-usb, coral-usb2, coral-pcie, coral-devboard, pixel4-edgetpu) on a
subset of their measurements and record the subset in each profile's `[calibration]`.

    python tools/fit_edgetpu_profiles.py            # print the fit and the rows not fitted
    python tools/fit_edgetpu_profiles.py --write    # also rewrite the profiles' fitted values

One physical core, one set of core parameters: the five profiles share `[array]`,
`[vector]`, `[memory]` and `[overhead]`; they differ only in integration properties with
their own evidence (link bandwidth, host CPU). Each fitted value is fitted where it is the
term that dominates:

- `offload.invocation_overhead_s`, one value for all five: on `ROWS_PER_FILE` seeded rows
  of LatBench's Edge TPU file, NAS-Bench-201 cells of ~1 ms where the per-invocation path
  is most of it. (A Pixel 4 value of its own, fitted on its fitted published rows, 1.56 ms,
  scores its rows not fitted no better: MAPE 11.3 % against 11.2 %, so it is not kept.)
- the core's `array.partial_sums` (one value for all five): the choice with the lower
  median relative error over the fitted published rows of coral-usb and pixel4-edgetpu
  (the median, because two of those rows are known misses either way: VGG-16's streamed
  parameters and a detector timed on a Raspberry Pi 4 host with CPU post-processing).

Published rows of a label are sorted by latency (then line) and the odd positions
(1st, 3rd, ...) are fitted. Every other row checks the profiles (tests/test_published.py,
tests/test_calibrate_edgetpu.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from graphs import build
from simulator.calibrate import split_rows
from simulator.engine import simulate
from simulator.fitted import row_key
from simulator.hardware.profile import Profile, load_profile
from simulator.reference import ReferenceRow, load_reference

ROOT = Path(__file__).resolve().parents[1]
LATBENCH = "latbench-embedded-tpu-edgetpu-int8.csv"
ROWS_PER_FILE = 30
SEED = 0
CORAL_STACK = ("coral-usb", "coral-usb2", "coral-pcie", "coral-devboard")  # the TFLite + libedgetpu stack
PIXEL4 = "pixel4-edgetpu"
PARTIAL_SUMS = ("drain", "accumulate")


def published_subset(rows: Sequence[ReferenceRow]) -> list[ReferenceRow]:
    """The published rows of one label the fit uses: by latency, odd positions."""
    ordered = sorted(rows, key=lambda r: (r.latency_ms, r.line))
    return ordered[0::2]


def on_chip_ms(profile: Profile, rows: Sequence[ReferenceRow]) -> np.ndarray:
    """Predicted latency of each row without the per-invocation overhead."""
    bare = profile.replace(**{"offload.invocation_overhead_s": 0.0})
    return np.array([simulate(build(r.model), bare).latency_s * 1e3 for r in rows])


def fit_overhead_s(profile: Profile, rows: Sequence[ReferenceRow]) -> float:
    """The constant c minimising Σ((x + c − m)/m)² over the rows: c = Σ((m−x)/m²) / Σ(1/m²)."""
    x = on_chip_ms(profile, rows)
    m = np.array([r.latency_ms for r in rows])
    return float(np.sum((m - x) / m**2) / np.sum(1 / m**2)) * 1e-3


def rel_errors(profile: Profile, rows: Sequence[ReferenceRow]) -> np.ndarray:
    predicted = on_chip_ms(profile, rows) + profile.offload.invocation_overhead_s * 1e3
    measured = np.array([r.latency_ms for r in rows])
    return np.abs(predicted - measured) / measured


def fit(refdata: Path) -> dict[str, object]:
    latbench = load_reference(refdata / LATBENCH)
    lat_fit, _ = split_rows(latbench, ROWS_PER_FILE, SEED)
    published = load_reference("published")
    pub_fit = {d: published_subset([r for r in published if r.device == f"{d}@int8"]) for d in ("coral-usb", PIXEL4)}
    best = None
    for choice in PARTIAL_SUMS:
        coral = load_profile("coral-usb").replace(partial_sums=choice)
        coral = coral.replace(**{"offload.invocation_overhead_s": fit_overhead_s(coral, lat_fit)})
        pixel4 = load_profile(PIXEL4).replace(partial_sums=choice, **{"offload.invocation_overhead_s":
                                                                       coral.offload.invocation_overhead_s})
        errors = np.concatenate([rel_errors(coral, pub_fit["coral-usb"]), rel_errors(pixel4, pub_fit[PIXEL4])])
        error = float(np.median(errors))
        print(f"partial_sums = {choice}: invocation overhead {coral.offload.invocation_overhead_s * 1e3:.3f} ms, "
              f"median |error| on the fitted published rows {error:.1%} (mean {np.mean(errors):.1%})")
        if best is None or error < best["error"]:
            best = {"error": error, "partial_sums": choice,
                    "overhead_s": coral.offload.invocation_overhead_s}
    assert best is not None
    # One core: a row any of its values was fitted on is a fitted row of every profile.
    best["fitted_rows"] = [row_key(r) for r in lat_fit] + [
        f"published:{r.line}" for r in pub_fit["coral-usb"] + pub_fit[PIXEL4]]
    return best


def calibration_toml(best: dict[str, object]) -> str:
    listed = "".join(f'    "{r}",\n' for r in best["fitted_rows"])  # type: ignore[attr-defined]
    return (
        "[calibration]\n"
        'tool = "tools/fit_edgetpu_profiles.py"\n'
        f"seed = {SEED}\n"
        f"rows_per_file = {ROWS_PER_FILE}\n"
        'split = "LatBench Edge TPU file: seeded rows; published coral-usb and pixel4-edgetpu rows: sorted by '
        'latency, odd positions"\n'
        f'fitted = "array.partial_sums (shared core), offload.invocation_overhead_s"\n'
        f"residual_median_ape = {best['error']:.4f}\n"
        f"fitted_rows = [\n{listed}]\n"
    )


def write(best: dict[str, object]) -> None:
    for device in (*CORAL_STACK, PIXEL4):
        path = ROOT / "hw_profiles" / f"{device}.toml"
        text = re.split(r"^\[calibration\]", path.read_text(), flags=re.M)[0].rstrip() + "\n"
        text = re.sub(r'^partial_sums = ".*"$', f'partial_sums = "{best["partial_sums"]}"', text, flags=re.M)
        text = re.sub(r"^invocation_overhead_s = .*$", f"invocation_overhead_s = {best['overhead_s']:.4g}", text,
                      flags=re.M)
        path.write_text(text + "\n" + calibration_toml(best))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refdata", type=Path, default=ROOT.parent / "shared" / "refdata")
    parser.add_argument("--write", action="store_true", help="rewrite the profiles' fitted values and [calibration]")
    args = parser.parse_args(argv)
    best = fit(args.refdata)
    print(f"chosen: partial_sums = {best['partial_sums']}, invocation_overhead_s = {best['overhead_s']:.4g}")
    if args.write:
        write(best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
