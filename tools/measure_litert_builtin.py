"""Measure what LiteRT's builtin int8 kernels cost per element, and what a hand-over
between an XNNPACK partition and one of them costs: the figures of
`hw_profiles/host-cpu-litert-builtin.toml` and of host-cpu-litert's `[offload]` table.

    python tools/measure_litert_builtin.py [--runs 80]

Each op sits between two 1×1 convs whose first output the last add also reads (so a
relu cannot fuse into the conv, as in a NAS-Bench-201 cell). Its cost is the graph's
time minus the same graph without it, fastest of `--runs` invokes:

- `builtin`: every op on LiteRT's builtin kernels (no delegate): the kernel alone;
- `delegated`: the default XNNPACK delegate, which leaves the op to the builtin kernels
  at int8 (two partitions): the kernel plus its two hand-overs;
- `constant`: the builtin kernel on a zero input (every tensor constant per channel).

Their difference is the hand-over. Each timed run gets a fresh random input: the int8
RELU/RELU6 kernels branch per element, and a branch predictor replaying the same input
learns a small tensor's signs (3.1 ns per element instead of 7.6). Needs ai-edge-litert
and tflite (the test extra).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ai_edge_litert import interpreter as litert

from graphs import Kind, NetBuilder, OpGraph
from graphs.exporters.tflite import export_tflite

KINDS = (Kind.RELU, Kind.RELU6, Kind.HARD_SWISH, Kind.AVG_POOL)
SHAPES = ((16, 32), (32, 16), (64, 8), (64, 16), (64, 32), (64, 56))  # (channels, height = width)


def between_convs(kind: Kind | None, channels: int, size: int) -> OpGraph:
    b = NetBuilder(f"{kind or 'none'}_{channels}x{size}", (1, channels, size, size))
    b.conv(channels, 1)
    skip = b.x
    if kind == Kind.AVG_POOL:
        b.pool("avg", 3, 1)
    elif kind is not None:
        b.act(kind)
    b.conv(channels, 1)
    b.add(b.x, skip)
    return b.build()


def fastest_ms(path: Path, builtin: bool, runs: int, constant: bool = False) -> float:
    """The fastest of `runs` invokes, each on a fresh random input (zeros if `constant`)."""
    options = {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES} \
        if builtin else {}
    interpreter = litert.Interpreter(model_path=str(path), num_threads=1, **options)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    rng = np.random.default_rng(0)
    inputs = [np.zeros(detail["shape"], np.float32) if constant else
              rng.standard_normal(detail["shape"]).astype(np.float32) for _ in range(runs)]
    for values in inputs[:3]:
        interpreter.set_tensor(detail["index"], values)
        interpreter.invoke()
    best = float("inf")
    for values in inputs:
        interpreter.set_tensor(detail["index"], values)
        start = time.perf_counter()
        interpreter.invoke()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=80)
    args = parser.parse_args()
    print("kind        channels  size  elements  builtin ns/el  constant ns/el  delegated ns/el  hand-overs us")
    with tempfile.TemporaryDirectory() as tmp:
        for channels, size in SHAPES:
            times = {}
            for kind in (None, *KINDS):
                path = export_tflite(between_convs(kind, channels, size), Path(tmp) / f"{kind}.tflite", "int8")
                times[kind] = (fastest_ms(path, True, args.runs), fastest_ms(path, True, args.runs, constant=True),
                               fastest_ms(path, False, args.runs))
            elements = channels * size * size
            for kind in KINDS:
                builtin, constant, delegated = (times[kind][i] - times[None][i] for i in range(3))
                print(f"{kind.value:11s} {channels:8d} {size:5d} {elements:9d} {builtin * 1e6 / elements:14.2f} "
                      f"{constant * 1e6 / elements:15.2f} {delegated * 1e6 / elements:16.2f} "
                      f"{(delegated - builtin) * 1e3:14.2f}")


if __name__ == "__main__":
    main()
