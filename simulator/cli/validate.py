"""`edgesim validate --device DEV --reference FILE|published`: score a profile on
measurements, beside the MACs-proxy baseline."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.validate import Metrics, ValidationResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="score a device profile on reference measurements")
    p.add_argument("--device", required=True, help="device name or profile TOML path")
    p.add_argument("--reference", required=True,
                   help="reference CSV (model,latency_ms,energy_mj,device,source) or a shipped set: published")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a predicted-vs-measured log-log plot")
    p.add_argument("--worst", type=int, default=5, help="how many worst rows to list (default 5)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from simulator.api import resolve_profile
    from simulator.reference import load_reference, rows_for_device
    from simulator.validate import plot, validate

    profile = resolve_profile(args.device)
    rows = rows_for_device(load_reference(args.reference), profile.name, profile.precision)
    result = validate(profile, rows)
    if args.plot:
        plot(result, args.plot, title=f"{profile.name} on {args.reference} (n={len(rows)})")
    if args.json:
        print(json.dumps(result.to_dict(worst=args.worst), indent=2))
        return 0
    print(f"{profile.name} on {args.reference}: {len(rows)} rows")
    print()
    print(metrics_table({"model": result.metrics, "MACs proxy": result.proxy}))
    print()
    print(worst_table(result, args.worst))
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return 0


def metrics_table(columns: dict[str, Metrics], title: str = "metric") -> str:
    """Metrics side by side, one column per label (e.g. the model and the MACs proxy)."""
    from simulator.cli.output import format_table

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
    from simulator.cli.output import format_table

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
