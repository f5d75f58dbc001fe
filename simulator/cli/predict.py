"""`edgesim predict SPEC --device DEV`: latency, energy and power of one model."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="latency, energy and power of a model on a device")
    p.add_argument("spec", help="model spec, e.g. mobilenet_v3_large(width=0.75), or a .json/.onnx path")
    p.add_argument("--device", required=True, help="device name (see `edgesim devices`) or profile TOML path")
    p.add_argument("--fps", type=float, help="frame rate for the average power")
    p.add_argument("--per-op", action="store_true", help="show one row per op")
    p.add_argument("--allow-unknown", action="store_true",
                   help="price ONNX ops edgesim has no kind for as one elementwise pass each")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print per-op CSV")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs import build
    from simulator import predict

    graph = build(args.spec, allow_unknown=args.allow_unknown)
    report = predict(graph, args.device, fps=args.fps, model=args.spec)
    if args.json:
        print(report.to_json())
    elif args.csv:
        print(report.to_csv(), end="")
    else:
        print(report.table(per_op=args.per_op))
    return 0
