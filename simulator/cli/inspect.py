"""`edgesim inspect SPEC`: one row per op (name, kind, output shape, MACs, params), totals."""

from __future__ import annotations

import argparse

from simulator.cli.modelargs import add_model_file_options, build_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show a model's ops, MACs and parameters")
    p.add_argument("spec", help="model spec, e.g. mobilenet_v3_large(width=0.75) or a .json/.onnx/.tflite path")
    add_model_file_options(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from simulator.tabular import write_csv
    from simulator.textfmt import print_table

    graph = build_model(args, args.spec)
    ops = graph.ops()
    if args.json:
        from simulator.tabular import to_json

        ops_json = [{"name": op.name, "kind": op.kind.value, "macs": op.macs, "params": op.params,
                     "out_shape": list(op.output)} for op in ops]
        print(to_json({"model": args.spec, "macs": graph.macs, "params": graph.params, "ops": ops_json}))
        return 0
    header = ["name", "kind", "out_shape", "macs", "params"]
    rows = [[op.name, op.kind.value, "x".join(map(str, op.output)), op.macs, op.params] for op in ops]
    if args.csv:
        write_csv(header, rows)
        return 0
    print_table(header, rows)
    print(f"\n{graph.name}: {len(ops)} ops, {graph.macs / 1e6:.1f} M MACs, {graph.params / 1e6:.3f} M params")
    return 0
