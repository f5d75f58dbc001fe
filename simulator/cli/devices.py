"""`edgesim devices`: the shipped hardware profiles."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from simulator.cli.tables import add_format_arguments

    p = sub.add_parser("devices", help="list the shipped device profiles")
    add_format_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from simulator.cli.tables import emit
    from simulator.hardware.profile import device_names, load_profile

    rows = []
    for name in device_names():
        profile = load_profile(name)
        rows.append([name, profile.kind, profile.precision, profile.calibration is not None, profile.description])
    emit(args, ["device", "kind", "precision", "calibrated", "description"], rows)
    return 0
