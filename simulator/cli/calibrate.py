"""`edgesim calibrate --device BASE --reference FILE --out NEW.toml`: fit a profile's free
coefficients to measurements and write the fitted profile."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit a device profile to reference measurements")
    p.add_argument("--device", required=True, help="base device name or profile TOML path")
    p.add_argument("--reference", required=True,
                   help="reference CSV (model,latency_ms,energy_mj,device,source) or a shipped set")
    p.add_argument("--out", required=True, metavar="NEW.toml", help="where to write the fitted profile")
    p.add_argument("--train", type=argtypes.count, metavar="N",
                   help="fit on N rows drawn with --seed and report the rest as held out (default: all)")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the training draw (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a base profile field before fitting, e.g. precision=fp32 (repeatable)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import tomllib

    from graphs.errors import EdgesimError
    from graphs.files import check_target, write_text
    from simulator.api import resolve_profile
    from simulator.calibrate import calibrate, score_held_out, split_rows
    from simulator.cli.validate import metrics_table
    from simulator.hardware.profile import profile_from_mapping, to_toml
    from simulator.reference import load_reference, reference_graphs, rows_for_device
    from simulator.textfmt import parse_setting

    out = check_target(args.out)  # a bad --out fails before the fit
    if out.suffix != ".toml":
        raise EdgesimError(f"--out {out}: the profile file must end in .toml")
    base = resolve_profile(args.device)
    overrides = {}
    for text in args.set:
        field, values = parse_setting(text)
        if len(values) != 1:
            raise EdgesimError(f"--set {text!r}: give one value (a sweep takes several)")
        overrides[field] = values[0]
    if overrides:
        base = base.replace(**overrides)
    rows = rows_for_device(load_reference(args.reference), base.name, base.precision)
    train, held = split_rows(rows, args.train, args.seed)
    reference_graphs(rows)  # every row must build before anything is fitted or written
    result = calibrate(base, train, name=out.stem, seed=args.seed if held else None,
                       reference=str(args.reference))

    from simulator.textfmt import format_table

    print(f"{base.name} calibrated on {len(train)} of {len(rows)} rows of {args.reference}")
    print(f"chosen by leave-one-out: {result.chosen}")
    print()
    print(format_table(
        ["leave-one-out on the training rows", "base, one fitted scale", "fit", "MACs proxy"],
        [["MAPE", *(f"{result.cv[k].mape:.1%}" for k in ("base", "fit", "proxy"))],
         ["Kendall tau", *(f"{result.cv[k].kendall:.3f}" for k in ("base", "fit", "proxy"))]],
    ))
    print()
    print(metrics_table({"base": result.base_metrics, "fitted": result.metrics}, "training rows"))
    print()

    print(format_table(
        ["field", "base", "fitted", "ratio"],
        [[k, f"{a:.4g}", f"{b:.4g}", f"{b / a:.3g}" if a else "-"]
         for k, (a, b) in result.fitted.items()]
        + [[f"runtime.{k}", str(base.runtime.prune_dead_ops).lower(), str(v).lower(), ""]
           for k, v in result.choices.items()],
    ))
    if held:
        check = score_held_out(result, train, held)
        print()
        print(f"held out: {len(held)} rows (MACs proxy scaled on the same training rows)")
        print(metrics_table({"fitted": check.metrics, "MACs proxy": check.proxy}, "held-out rows"))

    for warning in result.warnings:
        print(f"\nwarning: {warning}")
    text = to_toml(result.profile)
    profile_from_mapping(tomllib.loads(text), str(out))  # what we write must load back
    write_text(out, text)
    print(f"\nwrote {out}: use it as --device {out}")
    return 0
