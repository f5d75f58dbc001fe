"""`edgesim export SPEC --out FILE`: a model as ONNX or TFLite (fp32/int8) with random weights."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a model as ONNX or TFLite with random weights (for timing)")
    p.add_argument("spec", help="model spec, e.g. mobilenet_v2(width=0.5), or a .json graph path")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--format", choices=("onnx", "tflite"), default="onnx", help="file format (default onnx)")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="TFLite weights and activations: fp32, or int8 (per-channel weights, per-tensor "
                   "activations; default fp32)")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the random weights (default 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs import build
    from graphs.errors import EdgesimError

    graph = build(args.spec)
    if args.format == "tflite":
        try:
            from graphs.exporters.tflite import export_tflite
        except ImportError:
            raise EdgesimError("exporting TFLite needs the tflite extra: pip install 'edgesim[tflite]'") from None
        path = export_tflite(graph, args.out, args.precision, seed=args.seed)
    else:
        if args.precision != "fp32":
            raise EdgesimError("ONNX export is fp32; --precision int8 is for --format tflite")
        try:
            from graphs.exporters.onnx import export_onnx
        except ImportError:
            raise EdgesimError("exporting needs the onnx extra: pip install 'edgesim[onnx]'") from None
        path = export_onnx(graph, args.out, seed=args.seed)
    print(f"{path}: {graph.name}, {len(graph)} ops, {graph.macs / 1e6:.1f} M MACs")
    return 0
