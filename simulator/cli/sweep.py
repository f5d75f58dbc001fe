"""`edgesim sweep`: a grid of profile overrides × models → tidy CSV and figures."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="what-if sweep of profile fields over models")
    p.add_argument("--device", required=True, help="base device name or profile TOML")
    p.add_argument("--set", action="append", required=True, metavar="FIELD=V1,V2,...",
                   help="profile field and its values (repeat for a grid), e.g. array_rows=32,64,128")
    p.add_argument("--models", nargs="+", required=True, metavar="SPEC")
    p.add_argument("--fps", type=argtypes.fps, help="inferences (batches) per second for the average power column")
    p.add_argument("--batch", type=argtypes.batch, help="samples per inference of every model (default 1)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--workers", type=argtypes.count, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="address of a Dask distributed scheduler to run on")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted sweep of the same grid from its completed variants")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs.errors import Interrupted
    from graphs.files import atomic_folder, check_target
    from graphs.spec import build
    from simulator.api import resolve_profile
    from simulator.cli import argtypes
    from simulator.studies.sweep import SweepProgress, plot_rows, sweep, write_rows

    out = check_target(args.out, folder=True)  # a bad --out fails before any work
    settings = argtypes.profile_settings(resolve_profile(args.device), args.set)
    for spec in args.models:  # a bad spec fails before any work or output
        build(spec, batch=args.batch)
    saved = SweepProgress(out, resume=args.resume)
    try:
        rows = sweep(args.device, settings, args.models, fps=args.fps, scheduler=args.scheduler,
                     workers=args.workers, progress=not args.no_progress, saved=saved, batch=args.batch)
        with atomic_folder(out) as staging:
            write_rows(rows, staging / "sweep.csv", list(settings))
            figures = [out / f.name for f in plot_rows(rows, settings, staging)]
    except KeyboardInterrupt:
        if saved.count:
            raise Interrupted(f"interrupted; {saved.count} of {saved.total} variants kept in {saved.path} "
                              "(the same command with --resume continues)") from None
        saved.discard()
        raise
    except BaseException:
        saved.discard()
        raise
    saved.discard()
    print(f"{len(rows)} rows -> {out / 'sweep.csv'}; figures: {', '.join(str(f) for f in figures)}")
    return 0
