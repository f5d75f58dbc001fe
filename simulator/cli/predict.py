"""`edgesim predict SPEC --device DEV`: latency, energy and power of one model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.hardware.profile import Profile
    from simulator.report import Report

from simulator.cli import argtypes
from simulator.cli.modelargs import add_model_file_options, build_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="latency, energy and power of a model on a device")
    p.add_argument("spec", help="model spec, e.g. mobilenet_v3_large(width=0.75), or a .json/.onnx/.tflite path")
    p.add_argument("--device", required=True, help="device name (see `edgesim devices`) or profile TOML path")
    p.add_argument("--fps", type=argtypes.fps, help="inferences (batches) per second for the average power")
    p.add_argument("--batch", type=argtypes.batch, help="samples per inference (default: the spec's, else 1)")
    p.add_argument("--per-op", action="store_true", help="show one row per op")
    add_model_file_options(p)
    p.add_argument("--interval", type=float, metavar="LEVEL",
                   help="central prediction interval, e.g. 0.8, where the profile carries one")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print per-op CSV")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from simulator import predict
    from simulator.api import resolve_profile

    profile = resolve_profile(args.device)
    graph = build_model(args, args.spec, batch=args.batch)
    report = predict(graph, profile, fps=args.fps, model=args.spec)
    bounds = None if args.interval is None else interval_bounds(profile, report, args.interval)
    if args.json:
        if bounds is None:
            print(report.to_json())
        else:
            from simulator.tabular import to_json

            print(to_json({**report.to_dict(), **bounds}))
    elif args.csv:
        print(report.to_csv(), end="")
    else:
        print(report.table(per_op=args.per_op))
        if bounds is not None:
            print(interval_text(bounds))
    return 0


def interval_bounds(profile: Profile, report: Report, level: float) -> dict[str, Any]:
    """`latency_ms_low`/`_high` (and `energy_mj_low`/`_high` where energy is calibrated) of
    the central `level` interval, None where the profile carries no interval, and which
    validation backs it (or why there is none)."""
    from simulator import intervals

    out: dict[str, Any] = {"interval_level": level}
    for metric, key, value in (("latency", "latency_ms", report.latency_s * 1e3),
                               ("energy", "energy_mj", report.energy_j * 1e3)):
        if intervals.residuals(profile, metric) is None:
            if metric == "latency":
                out.update(latency_ms_low=None, latency_ms_high=None,
                           interval_backed_by=f"none: {profile.name} carries no validated interval")
            continue
        low, high = intervals.bounds(profile, level, metric)
        out[f"{key}_low"], out[f"{key}_high"] = value * low, value * high
        if metric == "latency":
            out["interval_backed_by"] = intervals.backing(profile, metric)
    return out


def interval_text(bounds: dict[str, Any]) -> str:
    level = f"{bounds['interval_level']:.0%}"
    if bounds["latency_ms_low"] is None:
        return f"{level} interval: {bounds['interval_backed_by']}"
    lines = [f"{level} interval: latency {bounds['latency_ms_low']:.4g} - {bounds['latency_ms_high']:.4g} ms"]
    if "energy_mj_low" in bounds:
        lines.append(f"{level} interval: energy {bounds['energy_mj_low']:.4g} - {bounds['energy_mj_high']:.4g} mJ")
    lines.append(f"(backed by {bounds['interval_backed_by']})")
    return "\n".join(lines)
