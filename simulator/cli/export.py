"""`edgesim export SPEC --out model.onnx`: a model as ONNX with random weights."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a model as ONNX with random weights (for timing)")
    p.add_argument("spec", help="model spec, e.g. mobilenet_v2(width=0.5), or a .json graph path")
    p.add_argument("--out", required=True, help="ONNX file to write")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the random weights (default 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs import build
    from graphs.errors import EdgesimError

    graph = build(args.spec)
    try:
        from graphs.exporters.onnx import export_onnx
    except ImportError:
        raise EdgesimError("exporting needs the onnx extra: pip install 'edgesim[onnx]'") from None
    path = export_onnx(graph, args.out, seed=args.seed)
    print(f"{path}: {graph.name}, {len(graph)} ops, {graph.macs / 1e6:.1f} M MACs")
    return 0
