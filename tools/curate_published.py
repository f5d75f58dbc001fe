"""Regenerate `simulator/data/published.csv` from `../shared/refdata/published-raw.csv`.

    python tools/curate_published.py [RAW_CSV] [--check]

The raw file collects published latency tables in the sources' own words. This script
keeps the rows edgesim can check itself against, rewritten in the reference format
(`model,latency_ms,energy_mj,device,source`):

- `model`: a zoo spec (canonical form) built from the source's model name, variant and
  input resolution; rows whose network the zoo cannot build are left out.
- `device`: `PROFILE@PRECISION`, the shipped profile of the measured device and the
  precision the source ran (fp32, fp16, int8; uint8 counts as int8).
  `edgesim validate --device PROFILE` scores a profile on the rows of its own precision.
- `source`: the raw row's citation, its line in published-raw.csv and any assumption made.

Rows read from a campaign's own result files come from `tools/published_energy.csv`:
power runs (latency and power while inferring, or energy per inference) with the
measurement boundary and conditions of each, where only power was measured energy per
inference = power × latency, and the source says so; they fill the `boundary` column
(chip, core-rail, module, board, usb). The same campaigns' latency runs leave power,
energy and boundary empty, as the raw file's latency rows do.

Left out: rows whose notes or fields say unverified, inferred, approximate, likely,
superseded or that source versions differ; ablation rows; batch sizes other than 1;
CPU rows whose thread count is not stated or differs from the profile's `compute.cores`;
devices without a profile; duplicates of a (model, device) already taken (the first
row wins, and the raw file lists primary papers first).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.errors import EdgesimError  # noqa: E402
from graphs.spec import build, canonical  # noqa: E402
from simulator.tabular import format_table_csv  # noqa: E402

RAW = ROOT.parent / "shared" / "refdata" / "published-raw.csv"
OUT = ROOT / "simulator" / "data" / "published.csv"
ENERGY = ROOT / "tools" / "published_energy.csv"
HEADER = ["model", "latency_ms", "energy_mj", "device", "source", "boundary"]

SKIP_WORDS = ("unverified", "inferred", "approximate", "likely", "superseded",
              "versions differ", "ablation")
PRECISIONS = {"float32": "fp32", "float16": "fp16", "uint8": "int8", "int8": "int8"}

# Raw device string -> (profile, note on the mapping). Exact strings, so that a new device
# in the raw file is left out until someone decides where it belongs; all are batch 1.
DEVICES: dict[str, tuple[str, str]] = {
    "Pixel 1 (single large core, TFLite)": ("pixel1-cpu", ""),
    "Pixel 1 (large core, TFLite)": ("pixel1-cpu", ""),
    "Pixel 1 (single big core)": ("pixel1-cpu", ""),
    "Pixel 1 (large core, internal TFLite)": ("pixel1-cpu", ""),
    "Pixel 1": ("pixel1-cpu", ""),
    "Pixel XL (1 thread, taskset 0c)": ("pixel1-cpu", "Pixel XL: same SoC as Pixel 1"),
    "Pixel 2 (single large core, TFLite)": ("pixel2-cpu", ""),
    "Pixel 2 (large core, TFLite)": ("pixel2-cpu", ""),
    "Pixel 3 (single large core, TFLite)": ("pixel3-cpu", ""),
    "Pixel 3 (large core, TFLite)": ("pixel3-cpu", ""),
    "Pixel 3 (single large core)": ("pixel3-cpu", ""),
    "Pixel 3 CPU (TFLite, 4 threads)": ("pixel3-cpu", ""),
    "Pixel 4 CPU (TFLite)": ("pixel4-cpu", ""),
    "Pixel 4 CPU (TFLite, 4 threads)": ("pixel4-cpu", ""),
    "Raspberry Pi 4 (Cortex-A72 x4, 64-bit OS)": ("raspi4-cpu", ""),
    "Desktop CPU + Coral USB Accelerator (USB 3.0)": ("coral-usb", ""),
    "Raspberry Pi 4 + Coral USB Accelerator (max freq)": (
        "coral-usb", "host Raspberry Pi 4 over USB 3; detection post-processing on the host"),
    "Raspberry Pi 3B+ + Coral USB Accelerator (USB2)": (
        "coral-usb2", "host Raspberry Pi 3B+ over USB 2; detection post-processing on the host"),
    "Coral Dev Board (Edge TPU)": (
        "coral-pcie", "Coral Dev Board: Edge TPU on PCIe, host NXP i.MX 8M (Cortex-A53)"),
    "Pixel 4 Edge TPU (Pixel Neural Core)": ("pixel4-edgetpu", ""),
    "Pixel 4 Edge TPU ('TPU')": ("pixel4-edgetpu", ""),
    "Pixel 4 Edge TPU": ("pixel4-edgetpu", ""),
    "Pixel 3 GPU delegate (Adreno 630)": ("adreno-630", "TFLite GPU delegate"),
    "Pixel 3 GPU delegate": ("adreno-630", "TFLite GPU delegate"),
    "Pixel 4 GPU (TFLite GPU delegate, precision loss disallowed)": (
        "adreno-640", "TFLite GPU delegate"),
    "Pixel 4 GPU (TFLite GPU delegate default)": ("adreno-640", "TFLite GPU delegate"),
    "Pixel 4 GPU delegate": ("adreno-640", "TFLite GPU delegate"),
}

# Edge TPU setups whose SSDLite timings include the TFLite_Detection_PostProcess op, which
# the Edge TPU runtime runs on the host CPU: NobuoTsukamoto/benchmarks times invoke() of the
# TF1 detection zoo's exported *_edgetpu.tflite models (export_tflite_ssd_graph adds the op),
# and its devboard.md measures the op itself (SpaghettiNet-S 10.98 ms without, 16.64 ms with
# it at max_detections 10). Their SSDLite rows are curated as `ssdlite(..., postprocess=True)`.
POSTPROCESS_DEVICES = frozenset({
    "Raspberry Pi 4 + Coral USB Accelerator (max freq)",
    "Raspberry Pi 3B+ + Coral USB Accelerator (USB2)",
    "Coral Dev Board (Edge TPU)",
})

# NobuoTsukamoto's tf1_detection_model_zoo tables list their quantized MobileNetV2 detector as
# "SSDLite Mobilenet v2", but the file their INT8 and EdgeTPU runs time is
# ssd_mobilenet_v2_300x300_quant_coco(_edgetpu).tflite (results/*/latency_edgetpu.txt,
# int8_latency.txt, coco_map_int8.csv): the TF1 zoo's ssd_mobilenet_v2_quantized_coco, plain SSD
# (full 3x3 extra convs, 1x1 box predictors); the TF1 zoo has no quantized SSDLite MobileNetV2.
# Curated as `ssd(...)`. Their FP32 "SSDLite" rows are the float SSDLite model.
QUANTIZED_SSD_SOURCE = "NobuoTsukamoto/benchmarks tensorflow/lite/tf1_detection_model_zoo"

# Source model names -> zoo family. Width comes from the variant column or the name.
FAMILIES: list[tuple[str, str]] = [
    (r"MobileNetV3-Large-minimalistic", "mobilenet_v3_large_minimalistic"),
    (r"MobileNetV3-Small-minimalistic", "mobilenet_v3_small_minimalistic"),
    (r"MobileNetV3-Large", "mobilenet_v3_large"),
    (r"MobileNetV3-Small", "mobilenet_v3_small"),
    (r"MobileNet ?V2(?: \d\.\d+| \(\d\.\d+x\))?", "mobilenet_v2"),
    (r"MobileNet ?V1(?: \d\.\d+(?: \((?:float|quant)\))?)?", "mobilenet_v1"),
    (r"MobileNetEdgeTPU", "mobilenet_edgetpu"),
    (r"MnasNet-A1(?: \(\d\.\d+x\))?", "mnasnet_a1"),
    (r"MnasNet \(TFLite hosted, A1-family\)", "mnasnet_a1"),
    (r"MnasNet \d\.\d+", "mnasnet_a1"),
    (r"ProxylessNAS", "proxylessnas_mobile"),
    (r"EfficientNet-lite0", "efficientnet_lite0"),
    (r"EfficientNet-EdgeTPU-S", "efficientnet_edgetpu_s"),
    (r"EfficientNet-EdgeTPU-M", "efficientnet_edgetpu_m"),
    (r"EfficientNet-EdgeTPU-L", "efficientnet_edgetpu_l"),
    (r"VGG16", "vgg16"),
]
SSDLITE_BACKBONES = {
    "MobileNetV2": "mobilenet_v2",
    "MobileNetV3-Large": "mobilenet_v3_large",
    "MobileNetV3-Small": "mobilenet_v3_small",
    "MobileNetEdgeTPU": "mobilenet_edgetpu",
}


def model_spec(model: str, variant: str, res: str, postprocess: bool = False,
               quantized_ssd: bool = False) -> tuple[str, str] | None:
    """(zoo spec, mapping note) for a raw row, or None when the zoo has no such net;
    `postprocess`: an SSDLite timing that includes detection post-processing;
    `quantized_ssd`: the source's quantized "SSDLite MobileNetV2" is plain SSD."""
    if not res.isdigit():
        return None
    resolution = int(res)
    ssd = re.fullmatch(r"SSDLite[+ ](\S+)", model)
    if ssd:
        backbone = SSDLITE_BACKBONES.get(ssd.group(1))
        if backbone is None or _width("", variant.split(" ")[0]) not in (None, 1.0):
            return None  # a width multiplier: the zoo's SSDLite has none
        options = ", postprocess=True" if postprocess else ""
        if quantized_ssd and backbone == "mobilenet_v2":
            return (f"ssd(resolution={resolution}{options})",
                    "the timed file is ssd_mobilenet_v2_300x300_quant_coco: plain SSD")
        if not backbone.startswith("mobilenet_v3"):
            return f"ssdlite(backbone={backbone}, resolution={resolution}{options})", ""
        # The paper's plain "1.0" rows use the full backbone, its dagger rows and the
        # released TF OD checkpoints (ssd_mobilenet_v3_*_coco) halve the last stage.
        reduced = variant != "1.0"
        note = "released checkpoint: reduced tail" if reduced and "reduced" not in variant else ""
        return (f"ssdlite(backbone={backbone}, resolution={resolution}, reduced_tail={reduced}{options})",
                note)
    for pattern, family in FAMILIES:
        if re.fullmatch(pattern, model, flags=re.IGNORECASE):
            width = _width(model, variant)
            if width is None:
                return None
            return f"{family}(width={width}, resolution={resolution})", ""
    return None


def _width(model: str, variant: str) -> float | None:
    """Width multiplier from the variant column ("0.75", "mobile", "") or the name."""
    named = re.search(r"(\d\.\d+)", model)
    if named:
        return float(named.group(1))
    if variant in ("", "mobile"):
        return 1.0
    if re.fullmatch(r"\d(\.\d+)?", variant):
        return float(variant)
    return None


def profile_cores(profile: str) -> int | None:
    """`compute.cores` of a shipped CPU profile; None when the profile is not shipped."""
    path = ROOT / "hw_profiles" / f"{profile}.toml"
    if not path.exists():
        return None
    return int(tomllib.loads(path.read_text())["compute"]["cores"])


def curate(raw_path: Path) -> tuple[list[list[str]], Counter]:
    """The curated rows (the raw file's, then the measured energy rows), and why raw rows
    were left out (reason -> count)."""
    out: list[list[str]] = []
    skipped: Counter = Counter()
    taken: set[tuple[str, str]] = set()
    with raw_path.open(newline="", encoding="utf-8") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            reason, row = _curate_row(r, line)
            if row is not None and (row[0], row[3]) in taken:
                reason, row = "duplicate (model, device)", None
            if row is None:
                skipped[reason] += 1
                continue
            taken.add((row[0], row[3]))
            out.append(row)
    return out + energy_rows(), skipped


def _curate_row(r: dict[str, str], line: int) -> tuple[str, list[str] | None]:
    text = " ".join(r[k] for k in ("variant", "input_res", "precision", "device", "notes",
                                   "threads")).lower()
    if any(word in text for word in SKIP_WORDS):
        return "marked unverified/superseded/ablation", None
    if r["device"] not in DEVICES:
        return "no profile for the device", None
    profile, device_note = DEVICES[r["device"]]
    precision = PRECISIONS.get(r["precision"].split(" ")[0])
    if precision is None:
        return "precision not stated", None
    if profile.endswith("-cpu"):
        cores = profile_cores(profile)
        if cores is None:
            return "profile not shipped", None
        if r["threads"] != str(cores):
            return "threads not stated or not the profile's cores", None
    quantized_ssd = precision == "int8" and r["source"].startswith(QUANTIZED_SSD_SOURCE)
    mapped = model_spec(r["model"], r["variant"], r["input_res"], r["device"] in POSTPROCESS_DEVICES,
                        quantized_ssd)
    if mapped is None:
        return "network not in the zoo", None
    spec, model_note = mapped
    try:
        spec = canonical(spec)
        build(spec)
    except EdgesimError:
        return "network not in the zoo", None
    try:
        latency = float(r["latency_ms"])
    except ValueError:
        return "latency not a number", None
    notes = "; ".join(filter(None, [device_note, model_note]))
    source = " ".join(r["source"].split())
    source += f" [published-raw.csv line {line}: {r['model']} {r['variant']}".rstrip()
    source += f", {r['device']}]" + (f" ({notes})" if notes else "")
    energy = r["energy_mj"].strip()
    return "", [spec, repr(latency), energy, f"{profile}@{precision}", source, ""]


def energy_rows(path: Path = ENERGY) -> list[list[str]]:
    """The rows read from result files in the reference format: power runs, energy derived
    from power × latency where the source measured power, and the same campaigns' latency
    runs (no power, no energy, no boundary: latency rows like the raw file's)."""
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            spec = canonical(r["model"])
            build(spec)  # every row must name a network the zoo builds
            latency = float(r["latency_ms"])
            if r["energy_mj"].strip():
                energy, how = f"{float(r['energy_mj']):.6g}", "energy per inference as measured"
            elif r["power_w"].strip():
                energy = f"{float(r['power_w']) * latency:.6g}"
                how = f"energy = {float(r['power_w']):g} W while inferring x {latency:g} ms"
            elif r["boundary"].strip():
                raise ValueError(f"{path.name} line {line}: a boundary without power or energy")
            else:
                energy, how = "", "latency run"
            source = f"{r['source']} [{path.name} line {line}: {r['conditions']}; {how}]"
            out.append([spec, repr(latency), energy, f"{r['profile']}@{r['precision']}", source, r["boundary"]])
    return out


def render(rows: list[list[str]]) -> str:
    return format_table_csv(HEADER, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", nargs="?", default=str(RAW), help="published-raw.csv")
    parser.add_argument("--check", action="store_true",
                        help="only report whether the shipped CSV is up to date")
    args = parser.parse_args(argv)
    rows, skipped = curate(Path(args.raw))
    text = render(rows)
    by_device = Counter(r[3] for r in rows)
    print(f"{len(rows)} rows kept: " + ", ".join(f"{d} {n}" for d, n in sorted(by_device.items())))
    for reason, n in skipped.most_common():
        print(f"  left out {n:4d}: {reason}")
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        print("up to date" if current == text else f"{OUT} is out of date")
        return 0 if current == text else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
