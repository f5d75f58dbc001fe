"""`edgesim measure SPEC... --out FILE.csv`: time models on this host with onnxruntime or LiteRT."""

from __future__ import annotations

import argparse

from simulator.cli import argtypes
from simulator.cli.modelargs import add_input_shape_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure", help="time models on this machine's CPU with onnxruntime or LiteRT (reference CSV)"
    )
    p.add_argument("specs", nargs="+", metavar="SPEC", help="model specs or .onnx/.tflite/.json paths")
    p.add_argument("--out", required=True, help="reference CSV to write")
    p.add_argument("--threads", type=argtypes.count, default=1, help="intra-op threads (default 1)")
    p.add_argument(
        "--repeat", type=argtypes.count, default=20, help="timed runs; the median is kept (default 20)"
    )
    p.add_argument("--warmup", type=argtypes.non_negative_count, default=5, help="untimed runs first (default 5)")
    p.add_argument("--per-op-out", help="also write per-op profiler times (ms) to this JSON file")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the random weights and inputs")
    p.add_argument("--runtime", choices=("onnxruntime", "litert"), default="onnxruntime",
                   help="onnxruntime (ONNX export, default) or litert (TFLite export, XNNPACK)")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="precision of the TFLite export LiteRT times (default fp32)")
    add_input_shape_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from graphs.files import check_target
    from graphs.spec import parse_input_shapes
    from simulator.measure import measure, write_per_op_json, write_reference_csv
    from simulator.textfmt import print_table

    check_target(args.out)  # bad output paths fail before the timing
    if args.per_op_out:
        check_target(args.per_op_out)
    rows = measure(
        args.specs, threads=args.threads, repeat=args.repeat, warmup=args.warmup,
        per_op=bool(args.per_op_out), seed=args.seed, input_shapes=parse_input_shapes(args.input_shape),
        runtime=args.runtime, precision=args.precision,
    )
    write_reference_csv(rows, args.out)
    if args.per_op_out:
        write_per_op_json(rows, args.per_op_out)
    print_table(
        ["model", "latency_ms", "min_ms", "max_ms"],
        [[m.model, f"{m.latency_ms:.3f}", f"{min(m.runs_ms):.3f}", f"{max(m.runs_ms):.3f}"]
         for m in rows],
    )
    print(f"\n{len(rows)} rows -> {args.out} ({rows[0].source})")
    return 0
