"""Figures of the seed study (`simulator.studies.seed`); matplotlib is imported lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graphs.spec import parse_spec
from simulator.studies.pareto import pareto_mask
from simulator.studies.seed import EDGE_TPU, FAMILIES, FPS, KEY_MODELS, MOBILE_CPU, STORY_PAIR, SeedResult

STYLE = {  # family -> (colour, marker)
    "MobileNetEdgeTPU": ("C3", "o"),
    "MobileNetV2": ("C0", "s"),
    "MobileNetV3-Large": ("C2", "^"),
    "MobileNetV3-Small": ("C8", "v"),
    "MobileNetV3-minimalistic": ("C1", "D"),
    "MnasNet-A1": ("C4", "P"),
}
CATEGORY_COLOURS = {
    "conv": "C0", "pointwise": "C9", "depthwise": "C1", "dense": "C4", "elementwise": "C2",
    "pool": "C5", "data": "C7", "softmax": "C6", "graph terms": "0.35",
}


def plot_accuracy_latency(result: SeedResult, path: Path) -> None:
    from simulator.plots import pyplot

    plt = pyplot()
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in result.profiles]
    fig, axes = plt.subplots(1, len(story), figsize=(6.5 * len(story), 5.2), squeeze=False)
    for ax, device in zip(axes[0], story, strict=True):
        for family in FAMILIES:
            pts = [p for p in result.points if p.family == family]
            if not pts:
                continue
            colour, marker = STYLE[family]
            lat = np.array([p.latency_ms[device] for p in pts])
            acc = np.array([p.top1 for p in pts])
            ax.scatter(lat, acc, color=colour, marker=marker, s=22, alpha=0.45)
            on = pareto_mask(acc, lat)
            order = np.argsort(lat[on])
            ax.plot(lat[on][order], acc[on][order], color=colour, marker=marker, ms=6, lw=1.6, label=family)
        for (model, dev), pub in result.published.items():
            p = result.point(model)
            if dev == device and p is not None:
                ax.scatter([pub.latency_ms], [p.top1], marker="*", s=110, facecolors="none",
                           edgecolors=STYLE[p.family][0], linewidths=1.2, zorder=4)
        lat_all = [p.latency_ms[device] for p in result.points]
        if max(lat_all) / min(lat_all) > 8:
            log_axis_with_readable_ticks(ax)
        ax.set_xlabel(f"simulated latency on {device} (ms)")
        ax.set_ylabel("ImageNet top-1 (%)")
        ax.set_title(f"{device} ({result.profiles[device].description.split(',')[0]})", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right", title_fontsize=7,
                      title="line: family front; faded: variants off the front; ☆ published")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def log_axis_with_readable_ticks(ax) -> None:
    """A log x axis labelled at 1-2-5 steps: the default labels only powers of ten, which
    leaves a one-decade axis with two ticks."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_power(result: SeedResult, path: Path) -> None:
    from matplotlib.patches import Patch

    from simulator.plots import pyplot

    plt = pyplot()
    # Width variants at the default resolution: the resolution sweeps would crowd the chart.
    pts = [p for p in result.points if "resolution" not in parse_spec(p.model)[1]]
    pts.sort(key=lambda p: (list(FAMILIES).index(p.family), p.top1))
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(pts) + 1.6))
    y = np.arange(len(pts))
    ax.barh(y, [p.power_w for p in pts], color=[STYLE[p.family][0] for p in pts])
    ax.set_yticks(y, [f"{p.model}  ({p.top1:g} %)" for p in pts], fontsize=7)
    ax.invert_yaxis()
    reference = result.point(STORY_PAIR[1])
    if reference is not None:
        ax.axvline(reference.power_w / 2, color="0.3", ls="--", lw=1)
        ax.text(reference.power_w / 2, 1.005, f"half of {reference.model}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xlabel(f"simulated average Edge TPU power at {FPS:g} fps (W), {EDGE_TPU}")
    ax.grid(axis="x", alpha=0.3)
    families = dict.fromkeys(p.family for p in pts)
    ax.legend(handles=[Patch(color=STYLE[f][0], label=f) for f in families], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), title="family (top-1 in brackets)", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def plot_energy(result: SeedResult, path: Path) -> None:
    """Energy per inference on the Edge TPU, stacked by cause, for the study's key models."""
    from simulator.plots import pyplot
    from simulator.report import CAUSES

    plt = pyplot()
    pts = [p for p in (result.point(m) for m in KEY_MODELS) if p is not None and p.energy_by_cause_mj]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(pts) + 1.8))
    y = np.arange(len(pts))
    left = np.zeros(len(pts))
    for i, cause in enumerate(CAUSES.values()):
        values = np.array([p.energy_by_cause_mj[cause] for p in pts])
        if values.any():
            ax.barh(y, values, left=left, color=f"C{i}", label=cause)
            left += values
    ax.set_yticks(y, [f"{p.model}  ({p.top1:g} %)" for p in pts], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"simulated energy per inference (mJ), {EDGE_TPU}, by cause")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="cause", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def plot_detection(result: SeedResult, path: Path) -> None:
    from simulator.plots import pyplot

    plt = pyplot()
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in result.profiles]
    fig, axes = plt.subplots(1, len(story), figsize=(5 * len(story), 4), squeeze=False)
    x = np.arange(len(result.detections))
    for ax, device in zip(axes[0], story, strict=True):
        ax.bar(x, [d.latency_ms[device] for d in result.detections], color="C0", label="simulated")
        published = [(i, result.published.get((d.model, device))) for i, d in enumerate(result.detections)]
        published = [(i, pub.latency_ms) for i, pub in published if pub is not None]
        if published:
            ax.scatter(*zip(*published, strict=True), marker="_", s=600, color="k", lw=2, label="published")
        labels = [f"{d.backbone}\n{'' if d.coco_map is None else f'{d.coco_map:g} mAP'}" for d in result.detections]
        ax.set_xticks(x, labels, fontsize=7, rotation=25, ha="right", rotation_mode="anchor")
        ax.set_title(f"SSDLite 320×320 on {device}", fontsize=9)
        ax.set_ylabel("simulated latency (ms)")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_breakdown(result: SeedResult, path: Path) -> None:
    from matplotlib.patches import Patch

    from simulator.plots import pyplot

    plt = pyplot()
    models = list(dict.fromkeys(s.model for s in result.breakdown))
    devices = list(result.profiles)
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.6), squeeze=False, sharey=True)
    used: set[str] = set()
    for ax, model in zip(axes[0], models, strict=True):
        for i, device in enumerate(devices):
            slices = [s for s in result.breakdown if s.model == model and s.device == device]
            total = sum(s.latency_ms for s in slices)
            bottom = 0.0
            own = result.units[device]
            for s in sorted(slices, key=lambda s: (s.unit != own, list(CATEGORY_COLOURS).index(s.category))):
                share = s.latency_ms / total
                fallback = s.unit not in (own, "link")
                ax.bar(i, share, bottom=bottom, color=CATEGORY_COLOURS[s.category], edgecolor="white",
                       hatch="///" if fallback else None, lw=0.5)
                bottom += share
                used.add(s.category)
            ax.annotate(f"{total:.2f} ms", (i, 1.0), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=8)
        ax.set_xticks(range(len(devices)), [f"{d}\n({result.units[d]})" for d in devices], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(model, fontsize=10)
    axes[0][0].set_ylabel("share of simulated latency")
    handles = [Patch(color=c, label=k) for k, c in CATEGORY_COLOURS.items() if k in used]
    handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="///", label="on the host CPU (fallback)"))
    fig.legend(handles=handles, loc="center right", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.83, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)
