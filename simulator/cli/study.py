"""`edgesim study seed`: the MobileNetEdgeTPU study, the project's main job."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="run a packaged study (seed: the MobileNetEdgeTPU findings)")
    p.add_argument("name", choices=("seed",), help="seed: MobileNetEdgeTPU vs MobileNetV3 on Edge TPU and CPU")
    p.add_argument("--out", required=True, help="output folder (created; files are written once all are computed)")
    p.add_argument("--quick", action="store_true", help="a few variants per family instead of all")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from graphs.files import check_target
    from simulator.studies.seed import run_seed
    from simulator.studies.seed_report import verdicts, write_study

    out = check_target(args.out, folder=True)  # a bad --out fails before the work
    start = time.perf_counter()
    result = run_seed(quick=args.quick)
    files = write_study(result, out)
    for v in verdicts(result):
        mark = {True: "agrees", False: "DISAGREES", None: "skipped"}[v.agrees]
        print(f"[{mark}] {v.claim}: {v.detail}")
    if result.missing:
        print(f"skipped devices without a profile: {', '.join(result.missing)}")
    print(f"{len(result.points)} classifiers, {len(result.detections)} detectors on {len(result.devices)} devices "
          f"in {time.perf_counter() - start:.1f} s (pricing {result.seconds:.1f} s, the rest figures and "
          f"report) -> {', '.join(str(f) for f in files)}")
    return 0
