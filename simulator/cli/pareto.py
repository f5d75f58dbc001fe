"""`edgesim pareto`: accuracy against latency and/or energy on one or more devices: the
points ranked by non-dominated sorting, a table and a figure with a front per device."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pareto", help="accuracy vs latency/energy Pareto fronts")
    p.add_argument("--device", action="append", required=True,
                   help="device name or profile TOML (repeat for a front per device)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--models", nargs="+", metavar="SPEC",
                       help="zoo specs (default: every zoo variant with a published accuracy)")
    group.add_argument("--space", help="search space whose points come from --accuracy")
    p.add_argument("--n", type=argtypes.count, help="with --space: a seeded sample of N points of the accuracy file")
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--accuracy", help="CSV with columns model,accuracy (needed with --space)")
    p.add_argument("--metric", action="append", choices=("latency", "energy"),
                   help="cost to rank against (repeat for several; default latency)")
    p.add_argument("--batch", type=argtypes.batch, help="samples per inference: costs per batch (default 1)")
    p.add_argument("--format", choices=("csv", "json", "parquet"), default="csv",
                   help="format of the points table (default csv; parquet needs pandas and pyarrow)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs.errors import EdgesimError
    from graphs.files import atomic_folder, check_target
    from graphs.registry import entries
    from simulator.studies.pareto import (
        pareto_points,
        plot_points,
        point_rows,
        read_accuracy_csv,
        zoo_accuracies,
    )
    from simulator.tabular import write_table

    metrics = list(dict.fromkeys(args.metric or ["latency"]))
    devices = list(dict.fromkeys(args.device))
    out = check_target(args.out, folder=True)  # a bad --out fails before any work
    if args.space:
        if not args.accuracy:
            raise EdgesimError("--space needs --accuracy FILE.csv with columns model,accuracy")
        accuracies = read_accuracy_csv(args.accuracy, space=args.space, n=args.n, seed=args.seed)
    elif args.accuracy:
        accuracies = read_accuracy_csv(args.accuracy)
    else:
        models = args.models or [
            spec for e in entries() if e.task == "classification" and e.metric == "top1" for spec in e.accuracy
        ]
        accuracies = zoo_accuracies(models)
    points = pareto_points(accuracies, devices, metrics, batch=args.batch)
    with atomic_folder(out) as staging:
        write_table(*point_rows(points, metrics), args.format, staging / f"pareto.{args.format}")
        plot_points(points, staging / "pareto.png", metrics, batch=args.batch)
    for device in devices:
        front = [p.model for p in points if p.device == device and p.pareto]
        print(f"{device}: {len(accuracies)} points, {len(front)} on the front: {', '.join(front)}")
    print(f"-> {out / f'pareto.{args.format}'}, {out / 'pareto.png'}")
    return 0
