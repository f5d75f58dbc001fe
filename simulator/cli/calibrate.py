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
    p.add_argument("--metric", choices=("latency", "energy", "both"), default="latency",
                   help="fit latency fields (default), energy fields with latency held, or latency "
                        "then energy; energy needs rows with a measured energy")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs.errors import EdgesimError
    from graphs.files import check_target
    from simulator.api import resolve_profile
    from simulator.calibrate import calibrate, score_held_out, split_rows
    from simulator.cli.validate import latency_rows, metrics_table
    from simulator.reference import load_reference, reference_graphs, rows_for_device

    out = check_target(args.out)  # a bad --out fails before the fit
    if out.suffix != ".toml":
        raise EdgesimError(f"--out {out}: the profile file must end in .toml")
    base = resolve_profile(args.device)
    settings = argtypes.profile_settings(base, args.set)
    for field, values in settings.items():
        if len(values) != 1:
            raise EdgesimError(f"--set {field}: give one value (a sweep takes several)")
    if settings:
        base = base.replace(**{field: values[0] for field, values in settings.items()})
    rows = rows_for_device(load_reference(args.reference), base.name, base.precision)
    if args.metric != "latency":
        from simulator.validate_energy import energy_rows

        rows = energy_rows(rows)  # a file without energies stops here, nothing written
    train, held = split_rows(rows, args.train, args.seed)
    reference_graphs(rows)  # every row must build before anything is fitted or written
    if args.metric == "energy":
        print(f"{base.name}: energy fields fitted on {len(train)} of {len(rows)} rows of {args.reference}, "
              "latency held")
        _write_profile(out, _fit_energy(args, base.replace(name=out.stem), train, held))
        return 0
    energy_train, energy_held = train, held
    train, held = latency_rows(train), [r for r in held if not r.is_power_run]  # power runs: energy only
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
    fitted = result.profile
    if args.metric == "both":
        fitted = _fit_energy(args, fitted, energy_train, energy_held)
    _write_profile(out, fitted)
    return 0


def _fit_energy(args: argparse.Namespace, profile, train: list, held: list):
    """Fit the energy fields of `profile` (latency as it is) and print what moved."""
    from simulator.cli.validate import energy_table, metrics_table
    from simulator.energyfit import calibrate_energy
    from simulator.textfmt import format_table
    from simulator.validate_energy import validate_energy

    fit = calibrate_energy(profile, train, reference=str(args.reference))
    print()
    print(f"energy: {fit.chosen} (chosen by leave-one-out)")
    print(metrics_table({"base": fit.base, "fitted": fit.metrics}, "energy, training rows").replace(
        "RMSE (ms)", "RMSE (mJ)"))
    print()
    print(format_table(["energy field", "base", "fitted", "ratio"],
                       [[k, f"{a:.4g}", f"{b:.4g}", f"{b / a:.3g}" if a else "-"] for k, (a, b) in fit.fitted.items()]))
    if held:
        print()
        print(f"held out: {len(held)} rows")
        print(energy_table(validate_energy(fit.profile, held)))
    return fit.profile


def _write_profile(out, profile) -> None:
    import tomllib

    from graphs.files import write_text
    from simulator.hardware.profile import profile_from_mapping, to_toml

    text = to_toml(profile)
    profile_from_mapping(tomllib.loads(text), str(out))  # what we write must load back
    write_text(out, text)
    print(f"\nwrote {out}: use it as --device {out}")
