"""`edgesim models`: the zoo and search spaces with their size and published accuracy."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list zoo models and search spaces")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs import build, entries
    from simulator.cli.output import print_table

    rows = []
    for model in entries():
        defaults = model.defaults()
        resolution = defaults.get("resolution", "")
        if model.task == "search_space":
            rows.append([model.name, "-", "-", resolution, "-", model.description])
            continue
        graph = build(model.name)
        acc = model.accuracy.get(model.name)
        rows.append(
            [
                model.name,
                f"{graph.macs / 1e6:.1f}",
                f"{graph.params / 1e6:.2f}",
                resolution,
                "-" if acc is None else f"{acc:g} {model.metric}",
                model.description,
            ]
        )
    print_table(["model", "MMACs", "Mparams", "resolution", "accuracy", "description"], rows)
    return 0
