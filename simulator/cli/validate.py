"""`edgesim validate --device DEV --reference FILE|published`: score a profile on
measurements, beside the MACs-proxy baseline."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.cli import argtypes

if TYPE_CHECKING:
    from simulator.validate import Metrics, ValidationResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="score a device profile on reference measurements")
    p.add_argument("--device", required=True, help="device name or profile TOML path")
    p.add_argument("--reference", required=True,
                   help="reference CSV (model,latency_ms,energy_mj,device,source) or a shipped set: published")
    p.add_argument("--include-fitted", action="store_true",
                   help="also score the rows the profile was fitted to (its [calibration].fitted_rows); "
                        "by default they are left out of the score and shown apart")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a predicted-vs-measured log-log plot")
    p.add_argument("--worst", type=argtypes.non_negative_count, default=5,
                   help="how many worst rows to list (default 5)")
    p.add_argument("--interval", type=float, default=0.8, metavar="LEVEL",
                   help="central interval whose coverage is reported, where the profile has one (default 0.8)")
    p.add_argument("--metric", choices=METRICS, default="latency",
                   help="score latency (default), energy and power at the profile's measurement "
                        "boundary, or both")
    p.set_defaults(run=run)


METRICS = ("latency", "energy", "both")


def run(args: argparse.Namespace) -> int:

    from simulator.api import resolve_profile
    from simulator.comparison import compare
    from simulator.reference import load_reference, rows_for_device
    from simulator.tabular import to_json
    from simulator.validate import plot, plot_format

    if args.plot is not None:
        plot_format(args.plot)  # a bad --plot fails before the work
    profile = resolve_profile(args.device)
    rows = rows_for_device(load_reference(args.reference), profile.name, profile.precision)
    if args.metric != "latency":
        return _run_energy(args, profile, rows)
    rows = latency_rows(rows)
    found = compare(profile, rows, level=args.interval, include_fitted=args.include_fitted)
    result = found.result
    if args.plot is not None:
        plot(result, args.plot, title=f"{profile.name} on {args.reference} (n={len(found.scored)})")
    if args.json:
        print(to_json(found.to_dict(worst=args.worst)))  # strict JSON: a NaN rank correlation is null
        return 0
    print(f"{profile.name} on {args.reference}: {len(found.scored)} rows")
    if found.left_out:
        print(f"({found.left_out} rows the profile was fitted to are left out of the score: "
              "shown apart as 'fitted rows', not a check; --include-fitted scores them too)")
    elif args.include_fitted and found.scored:
        print("(rows the profile was fitted to are included: --include-fitted)")
    print()
    columns = {"calibrated" if found.stock else "model": result.metrics}
    if found.stock:
        columns[f"stock {found.stock.device}"] = found.stock.metrics
    columns["MACs proxy"] = result.proxy
    if found.fitted is not None:
        columns[f"fitted rows (n={found.fitted.metrics.n})"] = found.fitted.metrics
    print(metrics_table(columns))
    if found.coverage is not None:
        print(f"\n{args.interval:.0%} interval covers {found.coverage:.1%} of the rows ({found.interval_backing})")
    print()
    print(worst_table(result, args.worst))
    if args.plot is not None:
        print(f"\nplot written to {args.plot}")
    return 0


def latency_rows(rows: list) -> list:
    """The rows that score latency: power runs (a measured energy at a stated boundary)
    were timed under the power run's own conditions and score energy only."""
    from graphs.errors import EdgesimError

    chosen = [r for r in rows if not r.is_power_run]
    if not chosen:
        raise EdgesimError(f"{rows[0].file}: only power-run rows for this device (a measured energy at a "
                           "stated boundary); score them with --metric energy")
    return chosen


def _run_energy(args: argparse.Namespace, profile, rows: list) -> int:
    """--metric energy / both: energy and power like with like, then latency for both."""
    import json

    from simulator.fitted import fitted_rows
    from simulator.validate import validate
    from simulator.validate_energy import validate_energy

    checked, fitted = fitted_rows(profile).split(rows)
    if not args.include_fitted:
        rows = checked
    energy = validate_energy(profile, rows)
    latency = validate(profile, latency_rows(rows)) if args.metric == "both" else None
    if args.json:
        data = {"energy": energy.to_dict()}
        if latency is not None:
            data["latency"] = latency.to_dict(worst=args.worst)
        print(json.dumps(data, indent=2))
        return 0
    print(f"{profile.name} ({profile.energy.boundary} boundary) on {args.reference}: "
          f"{len(energy.rows)} rows with a measured energy")
    if fitted and not args.include_fitted:
        print(f"({len(fitted)} rows the profile was fitted to are left out; --include-fitted scores them too)")
    print()
    print(energy_table(energy))
    if latency is not None:
        print()
        print(metrics_table({"model": latency.metrics, "MACs proxy": latency.proxy}, "latency"))
    return 0


def energy_table(result) -> str:
    """Every scored row (energy per inference and power while running), then the medians."""
    from simulator.textfmt import format_table

    rows = [[_short(r.row.model, 44), r.row.line, f"{r.row.energy_mj:.4g}", f"{r.predicted_mj:.4g}",
             f"{r.energy_error:+.1%}", f"{r.measured_power_w:.3g}", f"{r.predicted_power_w:.3g}",
             f"{r.power_error:+.1%}"] for r in result.rows]
    rows.append(["median |error|", "", "", "", f"{result.median_abs_energy_error:.1%}", "", "",
                 f"{result.median_abs_power_error:.1%}"])
    text = format_table(["model", "line", "measured mJ", "predicted mJ", "error", "measured W", "predicted W",
                         "error"], rows)
    if result.elsewhere:
        text += (f"\n{len(result.elsewhere)} rows measured at another boundary not scored: "
                 + ", ".join(f"line {r.line} ({r.boundary})" for r in result.elsewhere))
    return text


def metrics_table(columns: dict[str, Metrics], title: str = "metric") -> str:
    """Metrics side by side, one column per label (e.g. the model and the MACs proxy)."""
    from simulator.textfmt import format_table

    lines: list[tuple[str, Callable[[Metrics], float], str]] = [
        ("MAPE", lambda m: m.mape, ".1%"),
        ("RMSE (ms)", lambda m: m.rmse, ".3g"),
        ("within ±10 %", lambda m: m.within_10pct, ".1%"),
        ("Spearman", lambda m: m.spearman, ".3f"),
        ("Kendall tau", lambda m: m.kendall, ".3f"),
    ]
    return format_table(
        [title, *columns],
        [[label, *(format(get(m), fmt) for m in columns.values())] for label, get, fmt in lines],
    )


def worst_table(result: ValidationResult, k: int) -> str:
    """The `k` rows with the largest relative error."""
    from simulator.textfmt import format_table

    return format_table(
        ["worst rows", "line", "predicted ms", "measured ms", "error"],
        [
            [_short(r.row.model), r.row.line, f"{r.predicted_ms:.3g}", f"{r.measured_ms:.3g}",
             f"{r.rel_error:+.1%}"]
            for r in result.worst(k)
        ],
    )


def _short(model: str, width: int = 70) -> str:
    return model if len(model) <= width else model[: width - 1] + "…"
