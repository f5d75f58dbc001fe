"""`edgesim models`: the zoo and search spaces with their size and published accuracy."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from simulator.cli.tables import add_format_arguments

    p = sub.add_parser("models", help="list zoo models and search spaces")
    add_format_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs import build, entries
    from simulator.cli.tables import emit

    header = ["model", "task", "macs", "params", "resolution", "accuracy", "accuracy_metric", "description"]
    rows, text_rows = [], []
    for model in entries():
        resolution = model.defaults().get("resolution")
        if model.task == "search_space":
            rows.append([model.name, model.task, None, None, resolution, None, None, model.description])
            text_rows.append([model.name, "-", "-", resolution or "", "-", model.description])
            continue
        graph = build(model.name)
        acc = model.accuracy.get(model.name)
        rows.append([model.name, model.task, graph.macs, graph.params, resolution, acc,
                     None if acc is None else model.metric, model.description])
        text_rows.append([model.name, f"{graph.macs / 1e6:.1f}", f"{graph.params / 1e6:.2f}", resolution or "",
                          "-" if acc is None else f"{acc:g} {model.metric}", model.description])
    if args.format == "table":
        header = ["model", "MMACs", "Mparams", "resolution", "accuracy", "description"]
    emit(args, header, rows, text_rows)
    return 0
