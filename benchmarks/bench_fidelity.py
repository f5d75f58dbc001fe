"""How far few-shot calibration can be trusted, on every development file with a base
profile: 20 training rows drawn with seeds 0-4, every other row scored; medians over the
seeds of Kendall tau, MAPE and the share within ±10 % for the calibrated profile, the stock
profile and the MACs proxy (its one scale fitted on the same 20 rows), the coverage of the
calibrated profile's 80 % interval, the best any per-op-additive model reaches fitted on
all rows (`simulator.fidelity.additive_ceiling`), and the tau a predictor of every
network's true latency reaches under the noise between repeated measurements of one network
(`simulator.fidelity.repeat_noise`: noise as a share of the latency - in ms; "-" where no
network was measured twice).

    python benchmarks/bench_fidelity.py [FILE ...]      # default: every file in ../shared/refdata
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simulator.fidelity import BASE_PROFILES, additive_ceiling, fidelity, repeat_noise

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"


def main(names: list[str]) -> int:
    names = names or [n for n in BASE_PROFILES if (REFDATA / n).is_file()]
    if not names:
        print(f"no reference data in {REFDATA}", file=sys.stderr)
        return 1
    print("| file | base | rows | calibrated tau / MAPE / ±10 % | stock tau / MAPE / ±10 % "
          "| MACs proxy tau / MAPE / ±10 % | 80 % interval covers | additive ceiling tau / MAPE "
          "| noise-limited tau | s |")
    print("| --- | --- | ---: | --- | --- | --- | ---: | --- | --- | ---: |")
    for name in names:
        start = time.perf_counter()
        result = fidelity(REFDATA / name)
        ceiling = additive_ceiling(REFDATA / name)
        noise = repeat_noise(REFDATA / name)
        limit = f"{noise.exact_kendall_relative:.3f} - {noise.exact_kendall_absolute:.3f}" if noise else "-"
        seconds = time.perf_counter() - start
        cells = [
            " / ".join([f"{result.median(who, 'kendall'):.3f}", f"{result.median(who, 'mape'):.1%}",
                        f"{result.median(who, 'within_10pct'):.0%}"])
            for who in ("calibrated", "stock", "proxy")
        ]
        print(f"| {name.removesuffix('.csv')} | {result.device} | {result.rows} | {' | '.join(cells)} "
              f"| {result.coverage:.0%} | {ceiling.kendall:.3f} / {ceiling.mape:.1%} "
              f"| {limit} | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
