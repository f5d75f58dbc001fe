"""The options that say how to read a model file, shared by the commands that read one."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphs.graph import OpGraph


def add_model_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-unknown", action="store_true",
                   help="price ONNX/TFLite ops edgesim has no kind for as one elementwise pass each")
    add_input_shape_option(p)


def add_input_shape_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                   help="shape of an ONNX input with dynamic dimensions (repeat for several inputs; "
                   "the name may be left out when there is one input)")


def build_model(args: argparse.Namespace, spec: str, batch: int | None = None) -> OpGraph:
    from graphs.spec import build, parse_input_shapes

    shapes = parse_input_shapes(args.input_shape) or None
    return build(spec, allow_unknown=args.allow_unknown, input_shape=shapes, batch=batch)
