"""`edgesim devices`: the shipped hardware profiles."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list the shipped device profiles")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from simulator.cli.output import print_table
    from simulator.profile import device_names, load_profile

    rows = []
    for name in device_names():
        profile = load_profile(name)
        rows.append([name, profile.kind, profile.precision, profile.description])
    print_table(["device", "kind", "precision", "description"], rows)
    return 0
