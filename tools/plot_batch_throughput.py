"""Throughput against batch size for a few models on every GPU profile.

    python tools/plot_batch_throughput.py [--out batch-throughput.png] [--csv rows.csv]

One panel per GPU profile (`kind = "gpu"`): samples per second of each model at batch
1, 2, 4, ..., 256, simulated. At batch 1 the GPUs are bound by kernel launches and the
per-inference cost; throughput grows with the batch until the waves of thread blocks fill
every SM and each kernel is bound by its compute or memory time, where the curve flattens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphs.spec import build  # noqa: E402
from simulator.engine import run  # noqa: E402
from simulator.hardware.profile import device_names, load_profile  # noqa: E402
from simulator.plots import pyplot  # noqa: E402
from simulator.tabular import write_csv  # noqa: E402

MODELS = ("mobilenet_v2", "mobilenet_v3_large", "ofa_mbv3", "resnet50")
BATCHES = tuple(2**k for k in range(9))


def throughputs(device: str) -> dict[str, list[float]]:
    """Samples per second of each model at each batch size on `device`."""
    profile = load_profile(device)
    out = {}
    for model in MODELS:
        one = build(model)
        out[model] = [b / run(build(one, batch=b).flat(), profile).latency_s for b in BATCHES]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="batch-throughput.png")
    parser.add_argument("--csv", help="also write the figures as device,model,batch,samples_per_s rows")
    args = parser.parse_args()
    devices = [d for d in device_names() if load_profile(d).kind == "gpu"]
    plt = pyplot()
    cols = 4
    rows = -(-len(devices) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.3 * rows), squeeze=False)
    table = []
    for ax, device in zip(axes.flat, devices, strict=False):
        for model, values in throughputs(device).items():
            ax.plot(BATCHES, values, marker="o", ms=3, label=model)
            table += [(device, model, b, v) for b, v in zip(BATCHES, values, strict=True)]
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{device} ({load_profile(device).precision})", fontsize=9)
        ax.set_xlabel("batch size")
        ax.set_ylabel("samples/s (simulated)")
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[len(devices):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(MODELS), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(args.out, dpi=120)
    print(f"-> {args.out}")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            write_csv(["device", "model", "batch", "samples_per_s"], [(d, m, b, f"{v:.6g}") for d, m, b, v in table],
                      handle)


if __name__ == "__main__":
    main()
