"""Fit `coral-host-cpu`, the host that ran Coral's published Edge TPU benchmarks, to that
host's own CPU-only column.

    python tools/fit_coral_host_cpu.py [--write]

Coral's benchmark table (coral.ai/docs/edgetpu/benchmarks, Table 1) times each model on
the "Desktop CPU" alone (TFLite int8, 2019 kernels) beside the same host with the USB
Accelerator. Ops the Edge TPU compiler does not map run on exactly that CPU, so the
`coral-usb` profile names this one as its host. The base is `x86-desktop-cpu` (the same
Xeon-class core) with the int8 peak of the 2019 TFLite x86 path instead of today's AVX2
kernels: gemmlowp's SSE4 kernels, pmaddwd = 8 int8 MACs per cycle x 3.0 GHz = 2.4e10
MAC/s (estimate); its free parameters are fitted to MobileNet v1 (53 ms) and v2 (51 ms), the kind
of layers that fall back, and VGG16 (867 ms) is held out. Left out: EfficientNet-EdgeTPU-S/M (5431 / 8469 ms,
100x MobileNet v2 for 6x its MACs: a slow fallback path, not the CPU's speed) and models
the zoo does not build (Inception, ResNet v1 at 299, SqueezeNet, DenseNet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.calibrate import calibrate  # noqa: E402
from simulator.hardware.profile import load_profile, to_toml  # noqa: E402
from simulator.reference import ReferenceRow  # noqa: E402
from simulator.validate import validate  # noqa: E402

SOURCE = "coral.ai/docs/edgetpu/benchmarks Table 1, Desktop CPU column (published-raw.csv line {line})"
FITTED = [("mobilenet_v1", 53.0, 518), ("mobilenet_v2", 51.0, 522)]
HELD_OUT = [("vgg16", 867.0, 550)]
OUT = ROOT / "hw_profiles" / "coral-host-cpu.toml"
MACS_PER_CYCLE_INT8 = 8  # 2019 TFLite/gemmlowp x86 SSE4 path: pmaddwd, 8 int8 MACs/cycle


def rows(table: list[tuple[str, float, int]]) -> list[ReferenceRow]:
    return [ReferenceRow(m, ms, None, "coral-host-cpu", SOURCE.format(line=line)) for m, ms, line in table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(ROOT)}")
    args = parser.parse_args()
    base = load_profile("x86-desktop-cpu").replace(**{"compute.macs_per_cycle.int8": MACS_PER_CYCLE_INT8,
                                                         "compute.vector_bits": 128})
    result = calibrate(base, rows(FITTED), name="coral-host-cpu", reference=SOURCE.format(line="518, 522"))
    held = validate(result.profile, rows(HELD_OUT))
    for r in held.rows:
        print(f"held out: {r.row.model} predicted {r.predicted_ms:.1f} ms, published {r.measured_ms:.1f} ms")
    profile = result.profile
    data = profile.to_mapping()
    data["calibration"]["base_file"] = "hw_profiles/x86-desktop-cpu.toml"
    data["sources"]["compute.macs_per_cycle"] = (
        "per core: int8 2019 TFLite/gemmlowp x86 SSE4 path, pmaddwd 8 int8 MACs/cycle (estimate); "
        "fp32 as x86-desktop-cpu"
    )
    data["sources"]["compute.vector_bits"] = "the SSE4 path works on 128-bit registers (Intel SDM)"
    data["description"] = (
        "Coral's benchmark desktop host (Xeon-class x86 core) running 2019 TFLite int8 CPU kernels: "
        "the host of coral-usb, fitted to Coral's CPU-only column"
    )
    if args.write:
        header = "".join(f"# {line}\n" for line in __doc__.strip().splitlines())
        from simulator.hardware.profile import profile_from_mapping

        OUT.write_text(header + to_toml(profile_from_mapping(data, str(OUT))))
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
