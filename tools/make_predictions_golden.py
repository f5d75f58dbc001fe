"""Regenerate ``tests/golden/predictions.csv``: the prediction golden file checked by
``tests/test_golden_predictions.py``.

    python tools/make_predictions_golden.py

Rows (``path,model,device,latency_s,energy_j,error``):

- ``zoo``: every registered model at its default options on every shipped profile, through
  `simulator.predict` (the report's totals). A combination the device cannot run keeps its
  one-line error instead of numbers.
- ``whole`` and ``fast``: 200 NAS-Bench-201 and 200 FBNet architectures (seeded samples)
  on four devices of different classes, priced by `engine.run` on the whole graph and by
  `Predictor.predict_space` (the segment fast path, falling back to the whole graph).

Floats are written with `repr`, so they read back bit for bit. Regenerate only when a
change is meant to move predictions, and say so in the commit message.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.errors import EdgesimError  # noqa: E402
from graphs.registry import entries  # noqa: E402
from graphs.spaces import fbnet, nasbench201  # noqa: E402
from graphs.spec import build  # noqa: E402
from simulator import engine, predict  # noqa: E402
from simulator.hardware.profile import device_names, load_profile  # noqa: E402
from simulator.predictor import Predictor  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "predictions.csv"
COLUMNS = ("path", "model", "device", "latency_s", "energy_j", "error")
SPACE_DEVICES = ("pixel4-cpu", "coral-usb", "hexagon-690", "jetson-nano")
SAMPLES = {"nasbench201": nasbench201.sample(200, seed=11), "fbnet": fbnet.sample(200, seed=12)}


def rows() -> Iterator[tuple[str, ...]]:
    for device in device_names():
        for entry in entries():
            try:
                report = predict(entry.name, device)
            except EdgesimError as exc:
                yield ("zoo", entry.name, device, "", "", str(exc))
            else:
                yield ("zoo", entry.name, device, repr(report.latency_s), repr(report.energy_j), "")
    for device in SPACE_DEVICES:
        predictor = Predictor(device)
        profile = load_profile(device)
        for space, archs in SAMPLES.items():
            module = {"nasbench201": nasbench201, "fbnet": fbnet}[space]
            latencies = predictor.predict_space(space, archs) / 1e3
            energies = predictor.predict_space(space, archs, metric="energy") / 1e3
            for arch, latency, energy in zip(archs, latencies, energies, strict=True):
                spec = module.spec(arch)
                result = engine.run(build(spec).flat(), profile)
                yield ("whole", spec, device, repr(result.latency_s), repr(result.energy_j), "")
                yield ("fast", spec, device, repr(float(latency)), repr(float(energy)), "")


def main() -> None:
    with GOLDEN.open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows())
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
