"""Fit the RTX 2080 Ti and Titan Xp profiles (eager PyTorch) to a few of HELP's OFA rows.

    python tools/fit_help_gpu_profiles.py [--write]

Rows: HELP's Once-for-All MobileNetV3 measurements (`../shared/refdata/help-ofa-<gpu>-bs<B>.csv`).
Fitted: `ROWS_PER_FILE` rows drawn with `SEED` (`simulator.calibrate.split_rows`) from the
batch-1 file (launch-bound: kernel launches and per-inference cost) and from the batch-64
file (compute- and memory-bound: the efficiencies and the DRAM bandwidth). The batch-32
files are left whole for checking; every other row of the batch-1 and batch-64 files too.

Fit: `simulator.calibrate.calibrate` from the unfitted values `BASE` (estimates: see the
profiles' [sources]). With `--write` the fitted profile replaces hw_profiles/<device>.toml,
its `[calibration]` record naming the tool and every fitted row as "<file>:<line>".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.calibrate import calibrate, split_rows  # noqa: E402
from simulator.hardware.profile import load_profile, profile_from_mapping, to_toml  # noqa: E402
from simulator.reference import ReferenceRow, load_reference  # noqa: E402
from simulator.validate import validate  # noqa: E402

REFDATA = ROOT.parent / "shared" / "refdata"
DEVICES = {"rtx-2080ti": "2080ti", "titan-xp": "titan_xp"}
FIT_BATCHES = (1, 64)
ROWS_PER_FILE = 10
SEED = 0
# Unfitted values of the free parameters (estimates, as the gtx-1080ti profile's).
BASE = {
    "efficiency.conv": 0.5,
    "efficiency.pointwise": 0.5,
    "efficiency.depthwise": 0.15,
    "efficiency.dense": 0.3,
    "efficiency.elementwise": 0.3,
    "efficiency.pool": 0.3,
    "kernels.conv": 1,
    "kernels.pointwise": 1,
    "kernels.depthwise": 1,
    "kernels.dense": 1,
    "kernels.elementwise": 1,
    "kernels.pool": 1,
    "overhead.launch_s": 2e-5,
    "overhead.launch_overlap": 0.9,
    "overhead.per_inference_s": 1e-4,
}
# 80 % of the vendor's peak DRAM bandwidth (see the profiles' [sources]).
BASE_DEVICE = {
    "rtx-2080ti": {"memory.dram_bw_bytes_per_s": 490e9},
    "titan-xp": {"memory.dram_bw_bytes_per_s": 440e9},
}


def help_file(device: str, batch: int) -> Path:
    return REFDATA / f"help-ofa-{DEVICES[device]}-bs{batch}.csv"


def fitted_rows(device: str) -> list[ReferenceRow]:
    rows: list[ReferenceRow] = []
    for batch in FIT_BATCHES:
        rows += split_rows(load_reference(help_file(device, batch)), ROWS_PER_FILE, SEED)[0]
    return rows


def fit(device: str) -> None:
    stock = load_profile(device)
    base = stock.replace(**BASE, **BASE_DEVICE[device])
    rows = fitted_rows(device)
    files = [help_file(device, b).name for b in FIT_BATCHES]
    result = calibrate(base, rows, name=device, reference=", ".join(files))
    record = dict(result.profile.calibration)
    record["base_file"] = f"hw_profiles/{device}.toml with the free parameters at BASE (tools/fit_help_gpu_profiles.py)"
    record["tool"] = "tools/fit_help_gpu_profiles.py"
    record["split"] = f"{ROWS_PER_FILE} rows of each of {', '.join(files)} drawn with split_rows(seed={SEED})"
    record["fitted_rows"] = [f"{Path(r.file).name}:{r.line}" for r in rows]
    data = result.profile.to_mapping()
    data.update(description=stock.description, calibration=record)
    fitted = profile_from_mapping(data, str(ROOT / "hw_profiles" / f"{device}.toml"))
    for path, (before, after) in result.fitted.items():
        print(f"{device:<11} {path:<28} {before:>11.4g} -> {after:.4g}")
    fitted_lines = {(r.file, r.line) for r in rows}
    for batch in (1, 32, 64):
        held = [r for r in load_reference(help_file(device, batch)) if (r.file, r.line) not in fitted_lines]
        m = validate(fitted, held).metrics
        print(f"{device:<11} batch {batch:>2}: {m.n} rows not fitted: tau {m.kendall:.3f}, MAPE {m.mape:.1%}")
    if ARGS.write:
        (ROOT / "hw_profiles" / f"{device}.toml").write_text(to_toml(fitted))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the profiles in hw_profiles/")
    ARGS = parser.parse_args()
    for name in DEVICES:
        fit(name)
