"""The seed study: the MobileNetEdgeTPU findings of Google's AI blog on the simulator.

"Introducing the Next Generation of On-Device Vision Models: MobileNetV3 and
MobileNetEdgeTPU" (A. Howard, S. Gupta, Google AI Blog, 13 Nov 2019) tells one story: a
network searched for the Pixel 4 Edge TPU beats MobileNetV2 and minimalistic MobileNetV3
there at equal latency and draws under half their power, yet loses to MobileNetV3 on the
phone's CPU, where time grows linearly with MACs. `run_seed` prices what it takes to check
that story; `simulator.studies.seed_report` turns the result into CSVs, figures and a report.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from graphs.registry import entry
from graphs.spec import build, canonical, parse_spec, published_accuracy
from simulator.api import predict
from simulator.costmodels import model_class
from simulator.fitted import fitted_rows
from simulator.hardware.profile import Profile, device_names, load_profile
from simulator.predictor import Predictor
from simulator.reference import load_reference
from simulator.results import TermKind
from simulator.studies.pareto import pareto_mask

EDGE_TPU = "pixel4-edgetpu"
MOBILE_CPU = "pixel4-cpu"
# One device per hardware class, all in (or like those in) the Pixel 4.
HARDWARE = (MOBILE_CPU, EDGE_TPU, "hexagon-690", "adreno-640")
FPS = 30.0

# Display family -> registry models; every variant with a published top-1 is priced.
FAMILIES: dict[str, tuple[str, ...]] = {
    "MobileNetEdgeTPU": ("mobilenet_edgetpu",),
    "MobileNetV2": ("mobilenet_v2",),
    "MobileNetV3-Large": ("mobilenet_v3_large",),
    "MobileNetV3-Small": ("mobilenet_v3_small",),
    "MobileNetV3-minimalistic": ("mobilenet_v3_large_minimalistic", "mobilenet_v3_small_minimalistic"),
    "MnasNet-A1": ("mnasnet_a1",),
}
SUBJECT = "MobileNetEdgeTPU"
# Whom the blog compares MobileNetEdgeTPU with on each device.
TPU_RIVALS = ("MobileNetV2", "MobileNetV3-minimalistic")
CPU_RIVALS = ("MobileNetV3-Large", "MobileNetV3-Small")
STORY_PAIR = ("mobilenet_edgetpu", "mobilenet_v3_large_minimalistic")
# --quick: per registry model, the first variants at the default resolution.
QUICK_PER_MODEL = 2

# The models the report's tables and the energy figure show.
KEY_MODELS = (
    "mobilenet_edgetpu", "mobilenet_edgetpu(width=0.75)", "mobilenet_v3_large_minimalistic",
    "mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2", "mnasnet_a1",
)
BACKBONES = ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_edgetpu")
BREAKDOWN_MODELS = ("mobilenet_edgetpu", "mobilenet_v3_large")

BLOG = (
    "Google AI Blog, 13 Nov 2019, A. Howard & S. Gupta, 'Introducing the Next Generation of "
    "On-Device Vision Models: MobileNetV3 and MobileNetEdgeTPU'"
)
# Blog figures the curated published set may lack: (canonical spec, device) -> ms.
BLOG_LATENCY_MS = {
    ("ssdlite(backbone='mobilenet_edgetpu')", EDGE_TPU): 6.6,
    ("ssdlite", EDGE_TPU): 6.8,
}
BLOG_MAP = {"ssdlite(backbone='mobilenet_edgetpu')": 24.3, "ssdlite": 22.0}


@dataclass(frozen=True)
class Point:
    """One classifier variant: published top-1, simulated latency per device, whether it
    is on the all-family accuracy/latency front there, and its average Edge TPU power at
    `FPS` (`simulator.power`), energy per inference there and that energy by cause."""

    family: str
    model: str
    top1: float
    macs: int
    latency_ms: Mapping[str, float]
    front: Mapping[str, bool]
    power_w: float | None
    energy_mj: float | None
    energy_by_cause_mj: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Detection:
    backbone: str
    model: str
    coco_map: float | None  # published COCO mAP
    latency_ms: Mapping[str, float]


@dataclass(frozen=True)
class Slice:
    """Latency of one model on one device spent in one op category on one unit; graph
    terms (transfers, invocation, parameter streaming) are the category "graph terms"."""

    model: str
    device: str
    unit: str
    category: str
    latency_ms: float
    ops: int


@dataclass(frozen=True)
class Published:
    latency_ms: float
    source: str


@dataclass(frozen=True)
class SeedResult:
    quick: bool
    profiles: Mapping[str, Profile]  # the HARDWARE devices that exist, in that order
    units: Mapping[str, str]  # device -> the unit its own cost model reports (not a host's)
    missing: tuple[str, ...]
    points: tuple[Point, ...]
    detections: tuple[Detection, ...]
    breakdown: tuple[Slice, ...]
    published: Mapping[tuple[str, str], Published]
    accuracy_sources: Mapping[str, str]  # registry model -> citation
    seconds: float

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(self.profiles)

    def point(self, model: str) -> Point | None:
        key = canonical(model)
        return next((p for p in self.points if p.model == key), None)


def family_models(quick: bool = False) -> list[tuple[str, str, float]]:
    """(family, canonical spec, published top-1) of the variants the study prices."""
    out = []
    for family, names in FAMILIES.items():
        for name in names:
            variants = list(entry(name).accuracy.items())
            if quick:
                variants = [(s, a) for s, a in variants if "resolution" not in parse_spec(s)[1]][:QUICK_PER_MODEL]
            out.extend((family, spec, top1) for spec, top1 in variants)
    return out


def run_seed(quick: bool = False) -> SeedResult:
    """Price everything the report needs; devices whose profile does not exist are left
    out and listed in `missing`."""
    start = time.perf_counter()
    shipped = set(device_names())
    profiles = {d: load_profile(d) for d in HARDWARE if d in shipped}
    missing = tuple(d for d in HARDWARE if d not in shipped)
    story = [d for d in (EDGE_TPU, MOBILE_CPU) if d in profiles]

    models = family_models(quick)
    specs = [spec for _, spec, _ in models]
    predictors = {d: Predictor(profiles[d]) for d in story}
    latency = {d: predictors[d].predict(specs) for d in story}
    top1 = [a for _, _, a in models]
    front = {d: pareto_mask(top1, latency[d]) for d in story}
    reports = [predict(s, profiles[EDGE_TPU], fps=FPS) for s in specs] if EDGE_TPU in profiles else []
    power = [r.avg_power_w for r in reports] or [None] * len(specs)
    energy = [r.energy_j * 1e3 for r in reports] or [None] * len(specs)
    causes = [{k: v * 1e3 for k, v in r.energy_by_cause().items()} for r in reports] or [None] * len(specs)
    points = tuple(
        Point(
            family, spec, acc, build(spec).macs,
            {d: float(latency[d][i]) for d in story}, {d: bool(front[d][i]) for d in story}, power[i], energy[i],
            causes[i],
        )
        for i, (family, spec, acc) in enumerate(models)
    )

    det_specs = [canonical(f"ssdlite(backbone={b})") for b in BACKBONES]
    det_latency = {d: predictors[d].predict(det_specs) for d in story}
    detections = tuple(
        Detection(b, s, _map(s), {d: float(det_latency[d][i]) for d in story})
        for i, (b, s) in enumerate(zip(BACKBONES, det_specs, strict=True))
    )

    breakdown = tuple(s for m in BREAKDOWN_MODELS for d, p in profiles.items() for s in op_breakdown(m, d, p))
    units = {d: model_class(p.kind).unit for d, p in profiles.items()}
    sources = {name: entry(name).accuracy_source for names in FAMILIES.values() for name in names}
    sources["ssdlite"] = entry("ssdlite").accuracy_source
    published = published_latencies(profiles, {p.model for p in points} | set(det_specs))
    return SeedResult(
        quick, profiles, units, missing, points, detections, breakdown, published, sources,
        time.perf_counter() - start,
    )


def _map(spec: str) -> float | None:
    found = published_accuracy(spec)
    return None if found is None else found[0]


def op_breakdown(model: str, device: str, profile: Profile) -> list[Slice]:
    """Latency of `model` on `profile` by (unit, op category), plus the graph terms."""
    report = predict(model, profile)
    category = {op.name: op.category for op in build(model).ops()}
    groups: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for row in report.rows:
        group = groups[(row.unit, category[row.name])]
        group[0] += row.latency_s
        group[1] += 1
    slices = [Slice(model, device, u, c, t * 1e3, int(n)) for (u, c), (t, n) in groups.items()]
    terms = sum(t.latency_s for t in report.terms)
    if terms > 0:
        slices.append(Slice(model, device, "link", "graph terms", terms * 1e3, 0))
    return slices


def published_latencies(
    profiles: Mapping[str, Profile], models: set[str]
) -> dict[tuple[str, str], Published]:
    """Published latency of each simulated (model, device) pair: the curated `published`
    set first (its rows name `device@precision`), then the blog's own figures. A row the
    device's profile was fitted on (`[calibration].fitted_rows`) never checks it, and the
    blog's figure for that pair is not used in its place."""
    out = {}
    fitted = {device: fitted_rows(profile) for device, profile in profiles.items()}
    taken = set()
    for row in load_reference("published"):
        device = row.device.split("@")[0]
        profile = profiles.get(device)
        if profile is None or row.device not in (device, f"{device}@{profile.precision}"):
            continue
        if row in fitted[device]:
            taken.add((canonical(row.model), device))
            continue
        key = (canonical(row.model), device)
        if key[0] in models and key not in out:
            out[key] = Published(row.latency_ms, row.source)
    for key, ms in BLOG_LATENCY_MS.items():
        if key[1] in profiles and key[0] in models and key not in taken:
            out.setdefault(key, Published(ms, BLOG))
    return out


# -- findings -------------------------------------------------------------------------


def story_ratios(result: SeedResult) -> dict[str, float]:
    """Latency of MobileNetEdgeTPU over minimalistic MobileNetV3-Large, per device."""
    a, b = (result.point(m) for m in STORY_PAIR)
    if a is None or b is None:
        return {}
    return {d: a.latency_ms[d] / b.latency_ms[d] for d in a.latency_ms}


def macs_r2(points: Sequence[Point], device: str) -> float:
    """R² of the least-squares line latency = a·MACs + b: 1 where time is linear in MACs."""
    macs = np.array([p.macs for p in points], dtype=float)
    lat = np.array([p.latency_ms[device] for p in points])
    return float(np.corrcoef(macs, lat)[0, 1] ** 2)


def comparable_subject(result: SeedResult) -> Point | None:
    """The MobileNetEdgeTPU variant closest in top-1 to minimalistic MobileNetV3-Large."""
    reference = result.point(STORY_PAIR[1])
    subjects = [p for p in result.points if p.family == SUBJECT]
    if reference is None or not subjects:
        return None
    return min(subjects, key=lambda p: abs(p.top1 - reference.top1))


@dataclass(frozen=True)
class PowerGap:
    """What it would take for `subject` to draw under half of `reference`'s average power
    at `FPS` on `profile`, one quantity at a time. Average power = idle + fps × A, with A
    the energy per inference above the idle floor, so the claim needs
    A_reference ≥ 2 A_subject + idle / fps."""

    subject_above_idle_mj: float  # A of the subject
    reference_above_idle_mj: float
    missing_mj: float  # what the reference lacks (≤ 0: the claim holds)
    reference_busy_ms: float  # the reference's Edge TPU busy time
    busy_needed_ms: float  # ... that would close the gap at the profile's busy power
    dram_bytes_needed: float  # off-chip bytes per inference that would, at `dram_j_per_byte`
    dram_j_per_byte: float
    reference_activation_bytes: float  # every op output of the reference written and read once
    subject_compute_mj: float  # the subject's MAC energy
    compute_cut_needed: float  # the share of it that would have to go (> 1: no MAC energy is enough)


def power_gap(profile: Profile, subject: str, reference: str, dram_j_per_byte: float) -> PowerGap:
    """`PowerGap` for two model specs on `profile` (an accelerator with busy power)."""
    rs, rr = predict(subject, profile, fps=FPS), predict(reference, profile, fps=FPS)
    idle = profile.energy.idle_power_w
    above_s = rs.energy_j - rs.energy_by_cause()["idle"]
    above_r = rr.energy_j - rr.energy_by_cause()["idle"]
    missing = 2 * above_s + idle / FPS - above_r
    busy_w = profile.energy.static_power_w
    reference_busy = rr.run.power_energy_j(TermKind.BUSY) / busy_w
    compute_s = rs.energy_by_cause()["compute"]
    # Halving the subject instead: A_s ≤ (A_r − idle/fps) / 2, by MAC energy alone.
    cut = (above_s - (above_r - idle / FPS) / 2) / compute_s if compute_s else math.inf
    activations = 2.0 * profile.bytes_per_element * sum(op.out_elements for op in build(reference).flat().ops)
    return PowerGap(above_s * 1e3, above_r * 1e3, missing * 1e3, reference_busy * 1e3,
                    (reference_busy + missing / busy_w) * 1e3, missing / dram_j_per_byte, dram_j_per_byte,
                    activations, compute_s * 1e3, cut)
