"""Speed of the prediction path against its targets (issue 7). Run on one core:

    python benchmarks/bench_predict.py

Prints each figure and its ratio to the target (ratio >= 1 meets it).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.spaces import fbnet, nasbench201, ofa_mbv3  # noqa: E402
from simulator.predictor import Predictor  # noqa: E402


def rate(fn: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Items per second of `fn` (which returns how many items it did), best of repeats."""
    best = 0.0
    spent = 0.0
    while spent < min_seconds:
        start = time.perf_counter()
        n = fn()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = max(best, n / elapsed)
    return best


def report(name: str, value: float, target: float, unit: str, higher_is_better: bool = True) -> None:
    ratio = value / target if higher_is_better else target / value
    status = "ok" if ratio >= 1 else "MISSED"
    print(f"{name:<62} {value:>10.4g} {unit:<10} target {target:g} -> ratio {ratio:5.2f}  {status}")


def nb201_on_coral() -> None:
    predictor = Predictor("coral-usb")
    archs = nasbench201.sample(3000, seed=1, connected=True)
    start = time.perf_counter()
    predictor.predict_space("nasbench201", archs, variant="latbench")
    cold = len(archs) / (time.perf_counter() - start)
    warm = rate(lambda: len(predictor.predict_space("nasbench201", archs, variant="latbench")))
    report("NB201 (latbench) on coral-usb, arch strings, cache warm", warm, 20_000, "archs/s")
    print(f"{'  (first pass over the same 3000 archs, caches cold)':<62} {cold:>10.4g} archs/s")


def nb201_spec_strings_on_coral() -> None:
    """Spec strings, as a user writes them, through `Predictor.predict` (issue 17)."""
    archs = nasbench201.sample(2000, seed=6, connected=True)
    for variant in ("pytorch", "latbench"):
        specs = [nasbench201.spec(a, variant=variant) for a in archs]
        nasbench201.segments.cache_clear()  # cold: a fresh predictor and no segment chain built yet
        predictor = Predictor("coral-usb")
        start = time.perf_counter()
        predictor.predict(specs)
        cold = len(specs) / (time.perf_counter() - start)
        warm = rate(lambda s=specs, p=predictor: len(p.predict(s)))
        both = rate(lambda s=specs, p=predictor: len(p.predict(s, metrics=("latency", "energy"))["latency"]))
        report(f"NB201 ({variant}) spec strings, Predictor.predict, warm", warm, 20_000, "archs/s")
        report(f"NB201 ({variant}) spec strings, Predictor.predict, cold", cold, 3_000, "archs/s")
        report(f"  both metrics in one call, warm, vs one metric ({warm:.4g}/s)", both, warm, "archs/s")
        nasbench201.segments.cache_clear()
        predictor = Predictor("coral-usb")
        start = time.perf_counter()
        predictor.predict(specs, metrics=("latency", "energy"))
        both_cold = len(specs) / (time.perf_counter() - start)
        report(f"  both metrics in one call, cold, vs one metric ({cold:.4g}/s)", both_cold, cold, "archs/s")


def pareto_of_random_points() -> None:
    import tracemalloc

    import numpy as np

    from simulator.studies.pareto import nondominated_rank, pareto_mask

    points = np.random.default_rng(0).random((100_000, 2))
    tracemalloc.start()
    start = time.perf_counter()
    pareto_mask(points[:, 0], points[:, 1])
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    report("Pareto front of 100,000 random points (2 objectives), time", elapsed, 1.0, "s", higher_is_better=False)
    report("  peak memory (tracemalloc)", peak / 1e6, 200, "MB", higher_is_better=False)
    start = time.perf_counter()
    nondominated_rank(points)
    print(f"{'  full non-dominated sort, 2 objectives (s)':<62} {time.perf_counter() - start:>10.4g}")
    three = np.random.default_rng(1).random((100_000, 3))
    start = time.perf_counter()
    nondominated_rank(three, max_rank=1)
    print(f"{'  front only, 3 objectives (s)':<62} {time.perf_counter() - start:>10.4g}")
    start = time.perf_counter()
    nondominated_rank(three[:10_000])
    print(f"{'  full non-dominated sort, 10,000 points, 3 objectives (s)':<62} {time.perf_counter() - start:>10.4g}")


def fbnet_and_zoo_on_pixel4() -> None:
    predictor = Predictor("pixel4-cpu")
    predictor.predict_space("fbnet", fbnet.sample(500, seed=2), dataset="imagenet")  # warm the block costs
    fresh = fbnet.sample(5000, seed=3)  # one pass: every arch is new to the caches
    start = time.perf_counter()
    predictor.predict_space("fbnet", fresh, dataset="imagenet")
    value = len(fresh) / (time.perf_counter() - start)
    report("FBNet (ImageNet) on pixel4-cpu, unseen archs", value, 2_000, "archs/s")
    zoo = [
        "mobilenet_v3_large", "mobilenet_v3_large(width=0.75)", "mobilenet_v3_small",
        "mobilenet_v3_large_minimalistic", "mobilenet_v2", "mnasnet_a1", "proxylessnas_mobile",
        "efficientnet_lite0",
    ]
    predictor.predict(zoo)
    value = rate(lambda: len(predictor.predict(zoo * 25)))
    report("MobileNetV3-sized zoo models on pixel4-cpu", value, 2_000, "models/s")


def ofa_on_gpu_and_cpu() -> None:
    for device in ("gtx-1080ti", "pixel4-cpu"):
        predictor = Predictor(device)
        archs = ofa_mbv3.sample(3000, seed=4)
        start = time.perf_counter()
        predictor.predict_space("ofa_mbv3", archs)
        cold = len(archs) / (time.perf_counter() - start)
        warm = rate(lambda a=archs, p=predictor: len(p.predict_space("ofa_mbv3", a)))
        report(f"OFA MobileNetV3 subnets on {device}, cache warm", warm, 5_000, "subnets/s")
        print(f"{'  (first pass over the same 3000 subnets, caches cold)':<62} {cold:>10.4g} subnets/s")
        fresh = ofa_mbv3.sample(3000, seed=5)  # blocks seen before, subnets new
        start = time.perf_counter()
        predictor.predict_space("ofa_mbv3", fresh)
        value = len(fresh) / (time.perf_counter() - start)
        print(f"{'  (3000 unseen subnets after the first pass)':<62} {value:>10.4g} subnets/s")


def cold_predict() -> None:
    code = (
        "import time, simulator\n"
        "t = time.perf_counter()\n"
        "simulator.predict('mobilenet_v3_large', 'pixel4-edgetpu')\n"
        "print(time.perf_counter() - t)\n"
    )
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True)) for _ in range(5)]
    report("cold predict(mobilenet_v3_large, pixel4-edgetpu) after import", statistics.median(runs) * 1e3,
           5.0, "ms", higher_is_better=False)


def cli_wall_time() -> None:
    for args in (["--help"], ["predict", "mobilenet_v3_large", "--device", "pixel1-cpu"]):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "simulator.cli", *args], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            runs.append(time.perf_counter() - start)
        report(f"edgesim {' '.join(args)} (wall)", statistics.median(runs), 0.6, "s", higher_is_better=False)


if __name__ == "__main__":
    nb201_on_coral()
    nb201_spec_strings_on_coral()
    pareto_of_random_points()
    fbnet_and_zoo_on_pixel4()
    ofa_on_gpu_and_cpu()
    cold_predict()
    cli_wall_time()
