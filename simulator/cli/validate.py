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
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a predicted-vs-measured log-log plot")
    p.add_argument("--worst", type=argtypes.non_negative_count, default=5,
                   help="how many worst rows to list (default 5)")
    p.add_argument("--interval", type=float, default=0.8, metavar="LEVEL",
                   help="central interval whose coverage is reported, where the profile has one (default 0.8)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from simulator.api import resolve_profile
    from simulator.comparison import compare
    from simulator.reference import load_reference, rows_for_device
    from simulator.validate import plot, plot_format

    if args.plot is not None:
        plot_format(args.plot)  # a bad --plot fails before the work
    profile = resolve_profile(args.device)
    rows = rows_for_device(load_reference(args.reference), profile.name, profile.precision)
    found = compare(profile, rows, level=args.interval)
    result = found.result
    if args.plot is not None:
        plot(result, args.plot, title=f"{profile.name} on {args.reference} (n={len(found.scored)})")
    if args.json:
        print(json.dumps(found.to_dict(worst=args.worst), indent=2))
        return 0
    print(f"{profile.name} on {args.reference}: {len(found.scored)} rows")
    if found.left_out:
        print(f"({found.left_out} rows the profile was fitted to are left out)")
    print()
    columns = {"calibrated" if found.stock else "model": result.metrics}
    if found.stock:
        columns[f"stock {found.stock.device}"] = found.stock.metrics
    columns["MACs proxy"] = result.proxy
    print(metrics_table(columns))
    if found.coverage is not None:
        print(f"\n{args.interval:.0%} interval covers {found.coverage:.1%} of the rows ({found.interval_backing})")
    print()
    print(worst_table(result, args.worst))
    if args.plot is not None:
        print(f"\nplot written to {args.plot}")
    return 0


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
