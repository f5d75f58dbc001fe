"""The `edgesim` command line. Each subcommand lives in its own module of this package
and exposes `add_parser(subparsers)`; its handler imports what it needs lazily so that
`edgesim --help` starts fast."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from graphs.errors import EdgesimError

# Subcommand modules, in the order `edgesim --help` lists them.
COMMANDS = (
    "models", "inspect", "devices", "predict", "pareto", "sweep", "validate", "calibrate",
    "export", "measure", "study",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every user error
        sys.stderr.write(f"edgesim: error: {message}\n")
        sys.exit(2)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgesim",
        description="Latency, energy and power of neural networks on CPUs, Edge TPUs, "
        "DSPs and GPUs, without the devices.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"simulator.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except EdgesimError as exc:
        sys.stderr.write(f"edgesim: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
