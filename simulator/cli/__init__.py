"""The `edgesim` command line. Each subcommand lives in its own module of this package
and exposes `add_parser(subparsers)`; its handler imports what it needs lazily so that
`edgesim --help` starts fast."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from graphs.errors import EdgesimError

# Subcommand modules, in the order `edgesim --help` lists them.
COMMANDS = (
    "models", "inspect", "devices", "predict", "pareto", "lut", "sweep", "validate", "calibrate",
    "export", "measure", "study",
)

# Longer than any path (PATH_MAX) or spec: a pasted blob, which would bury the error line.
MAX_ARGUMENT = 4096


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every user error
        sys.stderr.write(f"edgesim: error: {_one_line(message)}\n")
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
    """Run one command; 0 on success, 2 for an error the user can fix (one line on stderr),
    128 + the signal number (130 for Ctrl-C, 143 for SIGTERM) when interrupted."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for arg in argv:
        if len(arg) > MAX_ARGUMENT:
            sys.stderr.write(f"edgesim: error: an argument is {len(arg)} characters long ({arg[:40]!r}…); "
                             f"at most {MAX_ARGUMENT}\n")
            return 2
    args = make_parser().parse_args(argv)
    with _terminate_as_interrupt() as received:
        try:
            return args.run(args) or 0
        except EdgesimError as exc:
            sys.stderr.write(f"edgesim: error: {_one_line(str(exc))}\n")
            return 2
        except BrokenPipeError:
            return 0
        except KeyboardInterrupt as exc:  # writers have removed their temporary files by now
            sys.stderr.write(f"edgesim: {str(exc) or 'interrupted; nothing written'}\n")
            return 128 + (received[-1] if received else signal.SIGINT)


def _one_line(message: str) -> str:
    """The message with line breaks (from a value it quotes) written as \\n: one line."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


@contextmanager
def _terminate_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM unwinds like Ctrl-C (temporary files removed, workers ended); the list
    collects the signals received so that the exit status can name them."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum: int, _frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
