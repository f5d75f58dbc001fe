"""`edgesim pareto`: accuracy against latency or energy, the front, a CSV and a figure."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pareto", help="accuracy vs latency/energy Pareto front")
    p.add_argument("--device", required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--models", nargs="+", metavar="SPEC",
                       help="zoo specs (default: every zoo variant with a published accuracy)")
    group.add_argument("--space", help="search space whose points come from --accuracy")
    p.add_argument("--n", type=int, help="with --space: a seeded sample of N points of the accuracy file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--accuracy", help="CSV with columns model,accuracy (needed with --space)")
    p.add_argument("--metric", choices=("latency", "energy"), default="latency")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from graphs.errors import EdgesimError
    from graphs.registry import entries
    from simulator.studies.pareto import (
        pareto_points,
        plot_points,
        read_accuracy_csv,
        write_points,
        zoo_accuracies,
    )

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
    points = pareto_points(accuracies, args.device, args.metric)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_points(points, out / "pareto.csv", args.metric)
    plot_points(points, out / "pareto.png", args.device, args.metric)
    front = [p.model for p in points if p.pareto]
    print(f"{len(points)} points, {len(front)} on the front: {', '.join(front)}")
    print(f"-> {out / 'pareto.csv'}, {out / 'pareto.png'}")
    return 0
