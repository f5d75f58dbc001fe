"""Findings, report and CSVs of the seed study (`simulator.studies.seed`); figures in
`seed_plots`.

Everything is rendered into a staging folder next to the output folder, which it replaces
whole once all of it exists (`graphs.files.atomic_folder`), so an error or an interrupt never
leaves a half-written folder or one that mixes two runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphs.files import atomic_folder
from graphs.spec import parse_spec
from simulator.report import CAUSES
from simulator.studies.seed import (
    BLOG,
    BLOG_MAP,
    CPU_RIVALS,
    EDGE_TPU,
    FPS,
    KEY_MODELS,
    MOBILE_CPU,
    STORY_PAIR,
    SUBJECT,
    TPU_RIVALS,
    Point,
    SeedResult,
    comparable_subject,
    macs_r2,
    power_gap,
    story_ratios,
)
from simulator.studies.seed_plots import (
    plot_accuracy_latency,
    plot_breakdown,
    plot_detection,
    plot_energy,
    plot_power,
)
from simulator.tabular import write_csv

# Thresholds of the verdicts, stated in the report next to each.
LINEAR_R2 = 0.9  # "time is linear in MACs" where a straight line explains this much
COMPARABLE = 1.10  # "about the same latency": at most 10 % slower
CLOSE = 0.20  # a simulated latency "agrees" with a published one within ±20 %
# Off-chip energy per byte for the power-gap estimate: LPDDR4X ~5-6 pJ/bit (hardware.md 5.3).
DRAM_J_PER_BYTE = 45e-12

@dataclass(frozen=True)
class Verdict:
    claim: str
    agrees: bool | None  # None: not checkable here (a device is missing)
    detail: str


# -- comparisons -----------------------------------------------------------------------


def rival_at_latency(subject: Point, points: Sequence[Point], device: str, rivals: Sequence[str]) -> Point | None:
    """The most accurate rival-family point at no more latency than `subject`."""
    faster = [q for q in points if q.family in rivals and q.latency_ms[device] <= subject.latency_ms[device]]
    return max(faster, key=lambda q: q.top1, default=None)


def rival_at_accuracy(subject: Point, points: Sequence[Point], device: str, rivals: Sequence[str]) -> Point | None:
    """The fastest rival-family point of at least `subject`'s top-1."""
    better = [q for q in points if q.family in rivals and q.top1 >= subject.top1]
    return min(better, key=lambda q: q.latency_ms[device], default=None)


def subjects(result: SeedResult) -> list[Point]:
    return sorted((p for p in result.points if p.family == SUBJECT), key=lambda p: p.top1)


def verdicts(result: SeedResult) -> list[Verdict]:
    """Each finding of the blog, checked on the simulator's numbers."""
    out = []
    have = set(result.devices)
    points = result.points

    claim = "Edge TPU: MobileNetEdgeTPU is more accurate than MobileNetV2 and minimalistic MobileNetV3 at equal latency"
    if EDGE_TPU in have:
        wins = [(s, rival_at_latency(s, points, EDGE_TPU, TPU_RIVALS)) for s in subjects(result)]
        lost = [f"{s.model} vs {r.model}" for s, r in wins if r is not None and r.top1 >= s.top1]
        out.append(Verdict(claim, not lost, f"loses at equal latency: {', '.join(lost)}" if lost else
                           f"all {len(wins)} variants beat the best rival at no more latency"))
    else:
        out.append(Verdict(claim, None, f"{EDGE_TPU} profile missing"))

    claim = "Mobile CPU: MobileNetV3 is faster than MobileNetEdgeTPU at comparable accuracy"
    if MOBILE_CPU in have:
        pairs = [(s, rival_at_accuracy(s, points, MOBILE_CPU, CPU_RIVALS)) for s in subjects(result)]
        pairs = [(s, r) for s, r in pairs if r is not None]
        slower = [f"{s.model} vs {r.model}" for s, r in pairs if r.latency_ms[MOBILE_CPU] >= s.latency_ms[MOBILE_CPU]]
        detail = (f"MobileNetV3 not faster for: {', '.join(slower)}" if slower else
                  f"faster for all {len(pairs)} variants MobileNetV3 matches in top-1")
        out.append(Verdict(claim, bool(pairs) and not slower, detail))
    else:
        out.append(Verdict(claim, None, f"{MOBILE_CPU} profile missing"))

    claim = ("One model, opposite verdicts: MobileNetEdgeTPU's latency relative to minimalistic "
             "MobileNetV3-Large is higher on the CPU than on the Edge TPU")
    ratios = story_ratios(result)
    if EDGE_TPU in ratios and MOBILE_CPU in ratios:
        out.append(Verdict(claim, ratios[MOBILE_CPU] > ratios[EDGE_TPU],
                           f"{ratios[MOBILE_CPU]:.2f}x on {MOBILE_CPU}, {ratios[EDGE_TPU]:.2f}x on {EDGE_TPU}"))
    else:
        out.append(Verdict(claim, None, "needs both Pixel 4 profiles"))

    claim = f"Mobile CPU time grows linearly with MACs (R² ≥ {LINEAR_R2}), unlike the Edge TPU's"
    if MOBILE_CPU in have and EDGE_TPU in have and len(points) > 2:
        r2_cpu, r2_tpu = macs_r2(points, MOBILE_CPU), macs_r2(points, EDGE_TPU)
        out.append(Verdict(claim, r2_cpu >= LINEAR_R2 and r2_cpu > r2_tpu,
                           f"R² {r2_cpu:.3f} on {MOBILE_CPU}, {r2_tpu:.3f} on {EDGE_TPU}"))
    else:
        out.append(Verdict(claim, None, "needs both Pixel 4 profiles"))

    claim = (f"Edge TPU power at {FPS:g} fps: MobileNetEdgeTPU under half of minimalistic MobileNetV3 "
             "at comparable accuracy")
    subject, reference = comparable_subject(result), result.point(STORY_PAIR[1])
    if EDGE_TPU in have and subject is not None and reference is not None:
        ratio = subject.power_w / reference.power_w
        out.append(Verdict(claim, ratio < 0.5, f"{subject.model} {subject.power_w:.3f} W vs "
                                               f"{reference.model} {reference.power_w:.3f} W: {ratio:.2f}x"))
    else:
        out.append(Verdict(claim, None, f"{EDGE_TPU} profile missing"))

    claim = (f"SSDLite on the Edge TPU: the MobileNetEdgeTPU backbone runs in about the time of MobileNetV2 "
             f"(at most {COMPARABLE:.2f}x; published 6.6 vs 6.8 ms) with higher mAP")
    det = {d.backbone: d for d in result.detections}
    if EDGE_TPU in have:
        a, b = det["mobilenet_edgetpu"], det["mobilenet_v2"]
        ratio = a.latency_ms[EDGE_TPU] / b.latency_ms[EDGE_TPU]
        out.append(Verdict(claim, ratio <= COMPARABLE,
                           f"{a.latency_ms[EDGE_TPU]:.2f} vs {b.latency_ms[EDGE_TPU]:.2f} ms: {ratio:.2f}x"))
    else:
        out.append(Verdict(claim, None, f"{EDGE_TPU} profile missing"))

    for (model, device), pub in sorted(result.published.items()):
        sim = simulated(result, model, device)
        err = sim / pub.latency_ms - 1
        out.append(Verdict(f"{model} on {device}: published {pub.latency_ms:g} ms (within ±{CLOSE:.0%})",
                           abs(err) <= CLOSE, f"simulated {sim:.2f} ms ({err:+.0%})"))
    return out


def simulated(result: SeedResult, model: str, device: str) -> float:
    point = result.point(model)
    if point is not None:
        return point.latency_ms[device]
    return next(d.latency_ms[device] for d in result.detections if d.model == model)


# -- report ----------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _mark(agrees: bool | None) -> str:
    return {True: "agrees", False: "does not agree", None: "not checked"}[agrees]


class _Sources:
    """Numbered citations, in order of first use."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def ref(self, source: str) -> str:
        if source not in self.items:
            self.items.append(source)
        return f"[{self.items.index(source) + 1}]"


def report_markdown(result: SeedResult) -> str:
    src = _Sources()
    checks = verdicts(result)
    parts = [_intro(result), _story(result, src), _power(result), _detection(result, src),
             _breakdown(result), _published(result, src), _summary(checks)]
    parts.append("## Sources\n\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(src.items, start=1)))
    return "\n\n".join(p for p in parts if p) + "\n"


def _intro(result: SeedResult) -> str:
    text = [
        "# MobileNetEdgeTPU on edgesim: the seed study",
        f"This report re-checks the findings of *{BLOG}* with edgesim's analytical cost models. Figures "
        "marked **sim** are the simulator's, computed from each device profile's stock values; a published "
        "latency a profile was fitted on (its `[calibration].fitted_rows`) is never set beside it. "
        "Top-1 and mAP are the published figures "
        "from edgesim's model registry; the simulator does not predict accuracy.",
    ]
    if result.quick:
        text.append("**Quick run** (`--quick`): only a few variants per family; run without it for the full study.")
    rows = [[f"`{d}`", p.kind, p.precision, p.description] for d, p in result.profiles.items()]
    text.append(_table(["device", "kind", "precision", "description"], rows))
    if result.missing:
        text.append(f"**Skipped:** no profile for {', '.join(f'`{d}`' for d in result.missing)} "
                    "(not in `edgesim devices`); the parts that need it are left out below.")
    return "\n\n".join(text)


def _story(result: SeedResult, src: _Sources) -> str:
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in result.profiles]
    text = [
        "## 1. One model, opposite verdicts",
        "**Blog:** on the Pixel 4 Edge TPU, MobileNetEdgeTPU is more accurate than MobileNetV2 and "
        "minimalistic MobileNetV3 at the same latency (or as accurate and faster); on the Pixel 4 CPU it "
        "is slower than MobileNetV3, as expected from a network that does many more operations on a "
        "processor whose time grows linearly with the work. Figure `accuracy_latency.png`; every point "
        "in `points.csv`. Top-1 of MobileNetEdgeTPU is that of its 8-bit model, the others' mostly float "
        "(see the sources): the Edge TPU runs 8-bit models only.",
    ]
    if not story:
        return "\n\n".join([*text, "Skipped: neither Pixel 4 profile exists."])
    header = ["model", "top-1 %", "MMACs"]
    for d in story:
        header += [f"{d} sim ms", f"{d} published ms"]
    rows = []
    for model in KEY_MODELS:
        p = result.point(model)
        if p is None:
            continue
        row = [f"`{p.model}`", f"{p.top1:g} {src.ref(result.accuracy_sources[parse_spec(p.model)[0]])}",
               f"{p.macs / 1e6:.0f}"]
        for d in story:
            pub = result.published.get((p.model, d))
            row += [_ms(p.latency_ms[d]), "–" if pub is None else f"{pub.latency_ms:g} {src.ref(pub.source)}"]
        rows.append(row)
    text.append(_table(header, rows))

    ratios = story_ratios(result)
    a, b = (result.point(m) for m in STORY_PAIR)
    if ratios and a is not None and b is not None:
        text.append(
            f"**Same pair, two devices.** `{a.model}` does {a.macs / b.macs:.1f}x the MACs of `{b.model}` "
            f"({a.macs / 1e6:.0f} M vs {b.macs / 1e6:.0f} M) and takes "
            + " and ".join(f"{r:.2f}x its time on `{d}`" for d, r in ratios.items()) + "."
        )
    terms = sum(s.latency_ms for s in result.breakdown
                if s.model == STORY_PAIR[0] and s.device == EDGE_TPU and s.category == "graph terms")
    if a is not None and EDGE_TPU in story and terms > 0:
        text.append(
            f"On `{EDGE_TPU}`, {terms:.2f} ms of `{a.model}`'s {a.latency_ms[EDGE_TPU]:.2f} ms are graph terms "
            "(invocation, transfers: section 4), a floor every model pays, which narrows the gaps between "
            "models there."
        )
    if EDGE_TPU in story:
        rows = []
        for s in subjects(result):
            r = rival_at_latency(s, result.points, EDGE_TPU, TPU_RIVALS)
            rows.append([f"`{s.model}`", f"{s.top1:g}", _ms(s.latency_ms[EDGE_TPU]),
                         "none as fast" if r is None else f"`{r.model}`", "–" if r is None else f"{r.top1:g}",
                         "–" if r is None else _ms(r.latency_ms[EDGE_TPU]),
                         "–" if r is None else f"{s.top1 - r.top1:+.1f}"])
        text.append(f"**Equal latency on `{EDGE_TPU}`**: each MobileNetEdgeTPU variant against the most accurate "
                    "MobileNetV2 or minimalistic MobileNetV3 that is no slower (Δ > 0: MobileNetEdgeTPU wins).\n\n"
                    + _table(["variant", "top-1", "sim ms", "best rival at ≤ ms", "its top-1", "its sim ms",
                              "Δ top-1"], rows))
    if MOBILE_CPU in story:
        rows = []
        for s in subjects(result):
            r = rival_at_accuracy(s, result.points, MOBILE_CPU, CPU_RIVALS)
            rows.append([f"`{s.model}`", f"{s.top1:g}", _ms(s.latency_ms[MOBILE_CPU]),
                         "none as accurate" if r is None else f"`{r.model}`", "–" if r is None else f"{r.top1:g}",
                         "–" if r is None else _ms(r.latency_ms[MOBILE_CPU]),
                         "–" if r is None else f"{s.latency_ms[MOBILE_CPU] / r.latency_ms[MOBILE_CPU]:.2f}"])
        text.append(f"**Equal accuracy on `{MOBILE_CPU}`**: each MobileNetEdgeTPU variant against the fastest "
                    "MobileNetV3 (Large or Small) of at least its top-1 (time ratio > 1: MobileNetV3 wins).\n\n"
                    + _table(["variant", "top-1", "sim ms", "fastest MobileNetV3 at ≥ top-1", "its top-1",
                              "its sim ms", "time ratio"], rows))
    fronts = []
    for d in story:
        on = [p for p in result.points if p.front[d]]
        share = sum(p.family == SUBJECT for p in on)
        fronts.append(f"`{d}`: {len(on)} points, {share} of them MobileNetEdgeTPU "
                      f"({', '.join(f'`{p.model}`' for p in on if p.family == SUBJECT) or 'none'})")
    text.append("**Accuracy/latency front over all families** — " + "; ".join(fronts) + ".")
    if len(story) == 2 and len(result.points) > 2:
        text.append(f"**Time against MACs**: a straight line latency = a·MACs + b over all {len(result.points)} "
                    f"variants explains R² = {macs_r2(result.points, MOBILE_CPU):.3f} of the variance on "
                    f"`{MOBILE_CPU}` and R² = {macs_r2(result.points, EDGE_TPU):.3f} on `{EDGE_TPU}`.")
    return "\n\n".join(text)


def _power(result: SeedResult) -> str:
    text = [
        f"## 2. Average Edge TPU power at {FPS:g} fps",
        "**Blog:** MobileNetEdgeTPU's lower latency also lowers the average Edge TPU power: under 50 % of "
        "minimalistic MobileNetV3 at comparable accuracy. The blog gives this in a chart whose wattages "
        "are not stated in its text, so only the 50 % claim can be compared. Figures `power.png` and "
        "`energy.png` (energy per inference stacked by cause); every model in `power.csv`.",
    ]
    if EDGE_TPU not in result.profiles:
        return "\n\n".join([*text, f"Skipped: no `{EDGE_TPU}` profile."])
    profile = result.profiles[EDGE_TPU]
    idle, busy = profile.energy.idle_power_w, profile.energy.static_power_w
    text.append(f"**Simulator:** average power at f frames per second = idle × (1 − f·t) + f × E, with t the "
                f"latency and E the energy per inference at the profile's boundary ({profile.energy.boundary}): "
                f"MACs and bytes, the busy power of every unit that ran ({busy:g} W above idle on the Edge TPU "
                f"while it works; the host CPU's while it calls the Edge TPU) and the {idle:g} W idle floor. "
                f"It is `predict(spec, \"{EDGE_TPU}\", fps={FPS:g}).avg_power_w`, the one definition every "
                "report uses (`simulator.power`).")
    rows = []
    for model in KEY_MODELS:
        p = result.point(model)
        if p is not None:
            causes = p.energy_by_cause_mj or {}
            rows.append([f"`{p.model}`", f"{p.top1:g}", _ms(p.latency_ms[EDGE_TPU]), f"{p.power_w:.3f}",
                         f"{p.energy_mj:.3f}", f"{causes.get('compute', 0):.3f}", f"{causes.get('busy power', 0):.3f}",
                         f"{causes.get('idle', 0):.3f}"])
    text.append(_table(["model", "top-1 %", "sim ms", "sim avg W", "sim mJ per inference", "of which MACs",
                        "busy power", "idle"], rows))
    subject, reference = comparable_subject(result), result.point(STORY_PAIR[1])
    if subject is None or reference is None:
        return "\n\n".join(text)
    ratio = subject.power_w / reference.power_w
    text.append(
        f"At comparable accuracy (`{subject.model}`, {subject.top1:g} %, against `{reference.model}`, "
        f"{reference.top1:g} %) the simulator gives {subject.power_w:.3f} W vs {reference.power_w:.3f} W: "
        f"**{ratio:.2f}x** (blog: under 0.5x), and {subject.energy_mj / reference.energy_mj:.2f}x in energy "
        "per inference."
    )
    if ratio < 0.5:
        return "\n\n".join(text)
    gap = power_gap(profile, subject.model, reference.model, DRAM_J_PER_BYTE)
    text.append(
        "**Why it does not reproduce, and what would have to differ.** Above the idle floor the subject "
        f"spends {gap.subject_above_idle_mj:.2f} mJ per inference, the reference {gap.reference_above_idle_mj:.2f} "
        f"mJ: it has {subject.macs / reference.macs:.1f}x the MACs and keeps the Edge TPU busy about as long. "
        f"For the blog's ratio the reference would need {gap.missing_mj:.2f} mJ more per inference, one "
        "quantity at a time:\n\n"
        f"- busy time: the Edge TPU would have to work {gap.busy_needed_ms:.2f} ms per inference on "
        f"`{reference.model}` instead of {gap.reference_busy_ms:.2f} ms "
        f"({gap.busy_needed_ms / gap.reference_busy_ms:.1f}x), "
        "which contradicts the equal latencies (3.1-3.6 ms) the same blog reports;\n"
        f"- memory traffic: {gap.dram_bytes_needed / 1e6:.0f} MB per inference of off-chip traffic at "
        f"{gap.dram_j_per_byte * 1e12:.0f} pJ/B (LPDDR4X, hardware.md 5.3) that `{subject.model}` does not "
        f"have: {gap.dram_bytes_needed / gap.reference_activation_bytes:.1f}x the traffic of writing and reading "
        f"every activation of `{reference.model}` once off chip ({gap.reference_activation_bytes / 1e6:.0f} MB);\n"
        f"- energy per MAC: no value can do it: even at zero MAC energy `{subject.model}` stays above half "
        f"(it would need {gap.compute_cut_needed:.1f}x its {gap.subject_compute_mj:.2f} mJ of MAC energy removed).\n\n"
        "No measurement supports any of these: no Pixel 4 Edge TPU (Pixel Neural Core) power figure is "
        "published (research/published.md), and the only measured Edge TPU powers in the published set, "
        "DeepEdgeBench's Coral Dev Board runs, rise with the work done (4.03 W for MobileNet v1 0.25/128, "
        "4.38 W for MobileNetV2 at the board's input), the opposite of a large network drawing less. The "
        "blog's chart most likely shows power at a fixed rate on hardware whose busy time differs far more "
        "between the two networks than the published latencies say (or a per-layer power model we cannot "
        "see); the simulator keeps the claim as not reproduced."
    )
    return "\n\n".join(text)


def _detection(result: SeedResult, src: _Sources) -> str:
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in result.profiles]
    text = [
        "## 3. Object detection: SSDLite with each backbone",
        "**Blog:** as an SSDLite backbone on the Pixel 4 Edge TPU, MobileNetEdgeTPU reaches 24.3 mAP in "
        "6.6 ms against 22 mAP in 6.8 ms for MobileNetV2 (COCO). All four backbones at 320×320 in "
        "`detection.csv` and `detection.png`.",
    ]
    if not story:
        return "\n\n".join([*text, "Skipped: neither Pixel 4 profile exists."])
    header = ["backbone", "mAP (registry)", "mAP (blog)"]
    for d in story:
        header += [f"{d} sim ms", f"{d} published ms"]
    rows = []
    for det in result.detections:
        row = [f"`{det.backbone}`", "–" if det.coco_map is None else f"{det.coco_map:g} {src.ref(_map_source(result))}",
               f"{BLOG_MAP[det.model]:g}" if det.model in BLOG_MAP else "–"]
        for d in story:
            pub = result.published.get((det.model, d))
            row += [_ms(det.latency_ms[d]), "–" if pub is None else f"{pub.latency_ms:g} {src.ref(pub.source)}"]
        rows.append(row)
    text.append(_table(header, rows))
    det = {d.backbone: d for d in result.detections}
    for d in story:
        a, b = det["mobilenet_edgetpu"].latency_ms[d], det["mobilenet_v2"].latency_ms[d]
        text.append(f"On `{d}` the MobileNetEdgeTPU backbone takes {a / b:.2f}x the time of MobileNetV2"
                    + (" (published: 6.6 / 6.8 = 0.97x)." if d == EDGE_TPU else "."))
    return "\n\n".join(text)


def _map_source(result: SeedResult) -> str:
    return result.accuracy_sources["ssdlite"]


def _breakdown(result: SeedResult) -> str:
    text = [
        "## 4. Where the time goes, on four kinds of hardware",
        "Latency by op category and by the unit that ran it (the device itself, or the host CPU for "
        "ops the device does not take); graph terms are transfers, invocation and parameter "
        "streaming. Figure `breakdown.png` (bars normalised to 100 %, totals on top); all slices in "
        "`breakdown.csv`.",
    ]
    rows = []
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for s in result.breakdown:
        groups[(s.model, s.device)].append(s)
    for (model, device), slices in groups.items():
        total = sum(s.latency_ms for s in slices)
        own = result.units[device]
        on_device = sum(s.latency_ms for s in slices if s.unit == own)
        terms = sum(s.latency_ms for s in slices if s.category == "graph terms")
        host = max(total - on_device - terms, 0.0)  # not below zero by float rounding
        fallback_ops = sum(s.ops for s in slices if s.unit not in (own, "link"))
        by_cat: dict[str, float] = defaultdict(float)
        for s in slices:
            by_cat[s.category] += s.latency_ms
        top = max(by_cat, key=by_cat.__getitem__)
        rows.append([f"`{model}`", f"`{device}`", _ms(total), f"{on_device / total:.0%} ({own})",
                     f"{host / total:.0%} ({fallback_ops} ops)", f"{terms / total:.0%}",
                     f"{top} ({by_cat[top] / total:.0%})"])
    text.append(_table(["model", "device", "sim ms", "on the device", "on the host", "graph terms",
                        "largest category"], rows))
    if result.missing:
        text.append(f"Not shown (no profile): {', '.join(f'`{d}`' for d in result.missing)}.")
    return "\n\n".join(text)


def _published(result: SeedResult, src: _Sources) -> str:
    text = ["## 5. Simulated against published latency",
            "Every simulated (model, device) pair of this study that has a published latency the "
            "device's profile was not fitted on."]
    if not result.published:
        return "\n\n".join([*text, "None of the pairs has one."])
    rows = []
    for (model, device), pub in sorted(result.published.items()):
        sim = simulated(result, model, device)
        rows.append([f"`{model}`", f"`{device}`", f"{pub.latency_ms:g}", _ms(sim),
                     f"{sim / pub.latency_ms - 1:+.0%}", src.ref(pub.source)])
    text.append(_table(["model", "device", "published ms", "sim ms", "error", "source"], rows))
    return "\n\n".join(text)


def _summary(checks: Sequence[Verdict]) -> str:
    rows = [[v.claim, f"**{_mark(v.agrees)}**", v.detail] for v in checks]
    title = "## Where the simulator agrees, and where it does not"
    return title + "\n\n" + _table(["finding", "simulator", "numbers"], rows)


# -- CSVs and figures ------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Floats to 6 significant digits: simulated figures carry no more, and a reader should
    not see 3.7477388999999994."""
    with path.open("w", newline="") as handle:
        write_csv(header, [[f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows], handle)


def write_csvs(result: SeedResult, folder: Path) -> list[Path]:
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in result.profiles]
    paths = []
    path = folder / "points.csv"
    header = ["family", "model", "top1", "macs"] + [f"latency_ms_{d}" for d in story] + [f"front_{d}" for d in story]
    _write_csv(path, header, ([p.family, p.model, p.top1, p.macs] + [p.latency_ms[d] for d in story]
                              + [p.front[d] for d in story] for p in result.points))
    paths.append(path)
    if EDGE_TPU in result.profiles:
        path = folder / "power.csv"
        causes = list(CAUSES.values())
        _write_csv(path, ["family", "model", "top1", f"latency_ms_{EDGE_TPU}", f"avg_power_w_{FPS:g}fps",
                          "energy_mj", *(f"{c.replace(' ', '_')}_mj" for c in causes)],
                   ([p.family, p.model, p.top1, p.latency_ms[EDGE_TPU], p.power_w, p.energy_mj,
                     *(p.energy_by_cause_mj[c] for c in causes)] for p in result.points))
        paths.append(path)
    path = folder / "detection.csv"
    _write_csv(path, ["backbone", "model", "map"] + [f"latency_ms_{d}" for d in story]
               + [f"published_ms_{d}" for d in story],
               ([d.backbone, d.model, d.coco_map] + [d.latency_ms[x] for x in story]
                + [_published_ms(result, d.model, x) for x in story] for d in result.detections))
    paths.append(path)
    path = folder / "breakdown.csv"
    _write_csv(path, ["model", "device", "unit", "category", "latency_ms", "ops"],
               ([s.model, s.device, s.unit, s.category, s.latency_ms, s.ops] for s in result.breakdown))
    paths.append(path)
    return paths


def _published_ms(result: SeedResult, model: str, device: str) -> float | str:
    pub = result.published.get((model, device))
    return "" if pub is None else pub.latency_ms


def render(result: SeedResult, folder: Path) -> list[Path]:
    """Every output file of the study, written into `folder`."""
    paths = write_csvs(result, folder)
    figures = [("breakdown.png", plot_breakdown)]
    if any(d in result.profiles for d in (EDGE_TPU, MOBILE_CPU)):
        figures += [("accuracy_latency.png", plot_accuracy_latency), ("detection.png", plot_detection)]
    if EDGE_TPU in result.profiles:
        figures += [("power.png", plot_power), ("energy.png", plot_energy)]
    for name, plot in figures:
        plot(result, folder / name)
        paths.append(folder / name)
    path = folder / "report.md"
    path.write_text(report_markdown(result), encoding="utf-8")
    paths.append(path)
    return paths


def write_study(result: SeedResult, out: str | Path) -> list[Path]:
    """Render into a staging folder beside `out`, which then replaces `out` whole."""
    with atomic_folder(out) as staging:
        return [Path(out) / path.name for path in render(result, staging)]
