"""`edgesim lut`: a search space's latency lookup table on a device (CSV, YAML or JSON)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lut", help="per-block latency lookup table of a search space (OFA / NNI style)")
    p.add_argument("--space", required=True, choices=("fbnet",), help="search space")
    p.add_argument("--device", required=True, help="device name or profile TOML")
    p.add_argument("--dataset", help="the space's dataset (fbnet: cifar100 or imagenet; default cifar100)")
    p.add_argument("--out", required=True, help="output file: .csv, .yaml (OFA's latency-table shape) or .json")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from simulator.api import resolve_profile
    from simulator.studies.lut import space_table, write_table_file

    options = {"dataset": args.dataset} if args.dataset else {}
    table = space_table(args.space, resolve_profile(args.device), **options)
    out = Path(args.out)
    write_table_file(table, out)
    print(f"{len(table.entries)} block entries, {len(table.terms)} graph terms -> {out}")
    for name, note in table.per_network.items():
        print(f"not in the sum: {name}: {note}")
    return 0
