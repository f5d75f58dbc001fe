"""The Once-for-All MobileNetV3 space (Cai et al., ICLR 2020), width 1.0, ImageNet.

Re-derived from the reference implementation (mit-han-lab/once-for-all,
`OFAMobileNetV3` and the `MBConvLayer` / `SEModule` an active subnet is made of):

| part           | layers                                                                   |
| first conv     | conv 3×3 s2, 16, BN, h-swish                                              |
| first block    | dw 3×3 s1 + BN + ReLU, conv 1×1 16 + BN, identity shortcut (add)          |
| 5 stages       | depth d ∈ {2, 3, 4} of 4 slots; see `STAGES` for channels, stride, act, SE |
| final expand   | conv 1×1 960, BN, h-swish                                                 |
| head           | global average pool, conv 1×1 1280 (no bias, no BN), h-swish, linear 1000 |

A stage block (slot) with kernel k and expand ratio e on C_in input channels: conv 1×1 to
mid = make_divisible(round(C_in·e), 8) + BN + act, depthwise k×k (the stage stride on its
first block) + BN + act, squeeze-excite where the stage has it (mean pool, conv 1×1 with
bias to make_divisible(mid // 4, 8), ReLU, conv 1×1 with bias back to mid, h-sigmoid,
multiply), conv 1×1 to C_out + BN; an identity shortcut (add) when the stride is 1 and
C_in == C_out. Only the first d slots of a stage run; the values of the others are kept in
the spec (HELP's files list all 20) but change nothing. Dropout before the classifier is
the identity at inference.

Spec: `ofa_mbv3(ks='3-5-…', e='6-4-…', d='2-3-4-3-3', resolution=224)`: 20 kernel sizes
and 20 expand ratios joined by '-', 5 depths, input resolution 128–224. Encoding for
search loops: `encode(arch)` is 46 indices (20 into `KERNELS`, 20 into `EXPANDS`, 5 into
`DEPTHS`, 1 into `RESOLUTIONS`, OFA's own sampling grid); an arch is the spec string.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from graphs.builder import NetBuilder, make_divisible
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind
from graphs.registry import register
from graphs.segments import Segment, assemble
from graphs.spaces.sampling import Code, check_code, sample_codes

NAME = "ofa_mbv3"
KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
RESOLUTIONS = tuple(range(128, 225, 4))  # OFA's elastic resolution grid
SLOTS_PER_STAGE = 4
FIRST_CONV = 16
FINAL_EXPAND = 960
FEATURE_MIX = 1280
CLASSES = 1000
SE_REDUCTION = 4
SE_DIVISOR = 8


@dataclass(frozen=True)
class Stage:
    channels: int
    stride: int
    act: Kind
    se: bool


STAGES = (
    Stage(24, 2, Kind.RELU, False),
    Stage(40, 2, Kind.RELU, True),
    Stage(80, 2, Kind.HARD_SWISH, False),
    Stage(112, 1, Kind.HARD_SWISH, True),
    Stage(160, 2, Kind.HARD_SWISH, True),
)
SLOTS = SLOTS_PER_STAGE * len(STAGES)
# The largest subnet: every slot k7 e6, depth 4.
DEFAULT_KS = "-".join(["7"] * SLOTS)
DEFAULT_E = "-".join(["6"] * SLOTS)
DEFAULT_D = "-".join(["4"] * len(STAGES))
DEFAULT_RESOLUTION = 224
SIZES = [len(KERNELS)] * SLOTS + [len(EXPANDS)] * SLOTS + [len(DEPTHS)] * len(STAGES) + [len(RESOLUTIONS)]


@dataclass(frozen=True)
class Arch:
    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    resolution: int

    def active(self) -> list[tuple[int, int, int]]:
        """(stage index, kernel, expand ratio) of every block that runs, in order."""
        return [
            (s, self.ks[s * SLOTS_PER_STAGE + i], self.e[s * SLOTS_PER_STAGE + i])
            for s, depth in enumerate(self.d)
            for i in range(depth)
        ]


def _ints(option: str, text: object, count: int, allowed: Sequence[int]) -> tuple[int, ...]:
    if not isinstance(text, str):
        raise EdgesimError(f"{NAME}: {option} must be a string like '{'-'.join(['3'] * count)}', not {text!r}")
    parts = text.strip().split("-")
    if len(parts) != count or not all(p.strip().isdigit() and int(p) in allowed for p in parts):
        raise EdgesimError(
            f"{NAME}: {option}={text!r} must be {count} values joined by '-', each one of "
            f"{', '.join(map(str, allowed))}"
        )
    return tuple(int(p) for p in parts)


def parse(ks: str, e: str, d: str, resolution: int) -> Arch:
    """The checked architecture; a malformed option raises EdgesimError."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 32 <= resolution <= 1024:
        raise EdgesimError(f"{NAME}: resolution must be an int between 32 and 1024, not {resolution!r}")
    return Arch(
        _ints("ks", ks, SLOTS, KERNELS),
        _ints("e", e, SLOTS, EXPANDS),
        _ints("d", d, len(STAGES), DEPTHS),
        resolution,
    )


def parse_arch(arch: str) -> Arch:
    """An arch string: the spec `ofa_mbv3(ks=…, e=…, d=…, resolution=…)` (no other options)."""
    from graphs.spec import parse_spec

    name, options = parse_spec(arch)
    if name != NAME or set(options) - {"ks", "e", "d", "resolution"}:
        raise EdgesimError(
            f"{NAME}: arch {arch!r} must be written ofa_mbv3(ks='…', e='…', d='…', resolution=R)"
        )
    return parse(
        options.get("ks", DEFAULT_KS), options.get("e", DEFAULT_E), options.get("d", DEFAULT_D),
        options.get("resolution", DEFAULT_RESOLUTION),
    )


def format_arch(arch: Arch) -> str:
    join = "-".join
    return (
        f"{NAME}(ks={join(map(str, arch.ks))!r}, e={join(map(str, arch.e))!r}, "
        f"d={join(map(str, arch.d))!r}, resolution={arch.resolution})"
    )


def encode(arch: str) -> Code:
    """The arch as 46 indices: 20 kernels, 20 expand ratios, 5 depths, the resolution."""
    a = parse_arch(arch)
    if a.resolution not in RESOLUTIONS:
        raise EdgesimError(f"{NAME}: resolution {a.resolution} is not on OFA's grid 128, 132, …, 224")
    return (
        tuple(KERNELS.index(k) for k in a.ks) + tuple(EXPANDS.index(x) for x in a.e)
        + tuple(DEPTHS.index(x) for x in a.d) + (RESOLUTIONS.index(a.resolution),)
    )


def decode(code: Sequence[int]) -> str:
    """The arch string of a 46-index code (inverse of `encode`)."""
    c = check_code(NAME, code, SIZES)
    ks, e, d = c[:SLOTS], c[SLOTS:2 * SLOTS], c[2 * SLOTS:2 * SLOTS + len(STAGES)]
    return format_arch(Arch(
        tuple(KERNELS[i] for i in ks), tuple(EXPANDS[i] for i in e), tuple(DEPTHS[i] for i in d),
        RESOLUTIONS[c[-1]],
    ))


def sample(n: int, seed: int = 0) -> list[str]:
    """`n` arch strings, every decision drawn uniformly and independently with
    `random.Random(seed)` (kernel and expand ratio per slot, depth per stage, resolution)."""
    return [decode(c) for c in sample_codes(n, SIZES, seed)]


def spec(arch: str | Sequence[int], **options: int) -> str:
    """The model spec of an arch (string or code); `batch` is the one option."""
    text = decode(arch) if not isinstance(arch, str) else format_arch(parse_arch(arch))
    unknown = set(options) - {"batch"}
    if unknown:
        raise EdgesimError(f"{NAME}: unknown option {sorted(unknown)[0]!r}; valid options: batch")
    if options.get("batch", 1) == 1:
        return text
    return f"{text[:-1]}, batch={options['batch']!r})"


@register(
    NAME,
    task="search_space",
    description="Once-for-All MobileNetV3 space, width 1.0 (20 slots: k 3/5/7, e 3/4/6, depth 2-4)",
)
def ofa_mbv3(
    ks: str = DEFAULT_KS, e: str = DEFAULT_E, d: str = DEFAULT_D, resolution: int = DEFAULT_RESOLUTION
) -> OpGraph:
    """Once-for-All MobileNetV3 space, width 1.0 (20 slots: k 3/5/7, e 3/4/6, depth 2-4)."""
    arch = parse(ks, e, d, resolution)
    meta = {"space": NAME, "ks": ks, "e": e, "d": d, "resolution": resolution}
    return assemble(NAME, input_shape(arch.resolution), _segments(arch), meta)


def input_shape(resolution: int = DEFAULT_RESOLUTION) -> tuple[int, int, int, int]:
    return (1, 3, resolution, resolution)


def chain(arch: str) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """(segments, batch-1 input shape) of an arch string, for the segment fast path."""
    return _chain(arch)


def spec_chain(
    ks: str = DEFAULT_KS, e: str = DEFAULT_E, d: str = DEFAULT_D, resolution: int = DEFAULT_RESOLUTION
) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """`chain` from a spec's options (those of the registered builder)."""
    return chain(format_arch(parse(ks, e, d, resolution)))


@functools.lru_cache(maxsize=1 << 12)  # search loops revisit archs; the chain is immutable
def _chain(arch: str) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    a = parse_arch(arch)
    return _segments(a), input_shape(a.resolution)


def _segments(arch: Arch) -> tuple[Segment, ...]:
    """Stem (first conv and first block), every active block, head. A block's key is
    what it builds given its input shape: kernel, expand ratio and its stage's settings."""
    parts = [Segment(("stem",), "stem", _stem)]
    previous = -1
    for n, (s, k, x) in enumerate(arch.active()):
        stage = STAGES[s]
        stride = stage.stride if s != previous else 1
        previous = s
        build = partial(_block, kernel=k, expand=x, stage=stage, stride=stride)
        parts.append(Segment((k, x, stage, stride), f"block{n}", build))
    parts.append(Segment(("head",), "head", _head))
    return tuple(parts)


def _stem(b: NetBuilder) -> None:
    b.conv_bn_act(FIRST_CONV, 3, 2, act=Kind.HARD_SWISH)
    with b.scope("first_block"):
        x = b.x
        b.dw_bn_act(3, 1, act=Kind.RELU)
        b.conv_bn_act(FIRST_CONV, 1, act=None)
        b.add(x, b.x)


def _block(b: NetBuilder, kernel: int, expand: int, stage: Stage, stride: int) -> None:
    x = b.x
    c_in = b.channels()
    mid = make_divisible(round(c_in * expand), 8)
    b.conv_bn_act(mid, 1, act=stage.act)
    b.dw_bn_act(kernel, stride, act=stage.act)
    if stage.se:
        b.se(make_divisible(mid // SE_REDUCTION, SE_DIVISOR), act=Kind.RELU, gate=Kind.HARD_SIGMOID)
    b.conv_bn_act(stage.channels, 1, act=None)
    if stride == 1 and c_in == stage.channels:
        b.add(x, b.x)


def _head(b: NetBuilder) -> None:
    b.conv_bn_act(FINAL_EXPAND, 1, act=Kind.HARD_SWISH)
    b.global_pool()
    b.conv(FEATURE_MIX, 1)
    b.act(Kind.HARD_SWISH)
    b.flatten()
    b.dense(CLASSES)
