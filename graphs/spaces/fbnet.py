"""The FBNet search space (Wu et al., CVPR 2019) as HW-NAS-Bench (Li et al., ICLR 2021) uses it.

22 searchable blocks in 7 stages (depths 1, 4, 4, 4, 4, 4, 1; output channels 16, 24, 32,
64, 112, 184, 352), each one of `CHOICES`: `kK_eE[_gG]` is an inverted-residual block
with a k×k depthwise conv, expansion E of the block's input channels and G groups in its
1×1 convs; `skip` is an identity, or 1×1 conv + BN + ReLU (with the stage stride) where
the shape changes. The stride of a stage applies to its first block.

| dataset  | input   | stem        | stage strides       | head  | classes |
| cifar100 | 32×32   | 3×3 s1, 16  | 1, 1, 2, 2, 1, 2, 1 | 1504  | 100     |
| imagenet | 224×224 | 3×3 s2, 16  | 1, 2, 2, 2, 1, 2, 1 | 1984  | 1000    |

Block: 1×1 conv (groups g) to E·C_in + BN + ReLU, channel shuffle if g > 1, k×k depthwise
conv (stride) + BN + ReLU, 1×1 conv (groups g) to C_out + BN, residual add when stride is
1 and C_in == C_out. Head: 1×1 conv + BN + ReLU, global avg pool, flatten, dense.

The arch string is the 22 choices joined by '-'. Encoding for search loops: `encode(arch)`
is the 22-tuple of indices into `CHOICES`; `decode` inverts it; `sample(n, seed)` draws
archs uniformly (9^22 points).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from graphs.builder import NetBuilder
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.registry import register
from graphs.segments import Segment, assemble
from graphs.spaces.sampling import (
    Code,
    check_choice,
    check_code,
    format_spec,
    sample_codes,
)

DEFAULT_DATASET = "cifar100"
NAME = "fbnet"
CHOICES = (
    "k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip",
)
DEPTHS = (1, 4, 4, 4, 4, 4, 1)
CHANNELS = (16, 24, 32, 64, 112, 184, 352)
STEM_CHANNELS = 16
BLOCKS = sum(DEPTHS)
# MobileNetV2's choice of blocks: expansion 1 for the first block, 6 (k3) for the rest.
DEFAULT_ARCH = "-".join(["k3_e1"] + ["k3_e6"] * (BLOCKS - 1))


@dataclass(frozen=True)
class _Dataset:
    resolution: int
    stem_stride: int
    strides: tuple[int, ...]
    head: int
    classes: int


DATASETS = {
    "cifar100": _Dataset(32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 100),
    "imagenet": _Dataset(224, 2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000),
}


@dataclass(frozen=True)
class Block:
    """One inverted-residual choice: depthwise kernel, expansion, 1×1 groups."""

    kernel: int
    expansion: int
    groups: int


def block(choice: str) -> Block | None:
    """The block a choice names; None for `skip`."""
    if choice == "skip":
        return None
    k, e, *g = choice.split("_")
    return Block(int(k[1:]), int(e[1:]), int(g[0][1:]) if g else 1)


def parse(arch: str) -> tuple[str, ...]:
    """The 22 block choices of `arch`; a malformed arch raises EdgesimError."""
    if not isinstance(arch, str):
        raise EdgesimError(f"{NAME}: arch must be a string, not {arch!r}")
    choices = tuple(c.strip() for c in arch.strip().split("-"))
    if len(choices) != BLOCKS:
        raise EdgesimError(
            f"{NAME}: arch {arch!r} has {len(choices)} blocks; it needs {BLOCKS} "
            "joined by '-', e.g. 'k3_e1-k3_e6-...-skip'"
        )
    for n, c in enumerate(choices):
        if c not in CHOICES:
            raise EdgesimError(
                f"{NAME}: arch {arch!r}: block {n} is {c!r}; choices: {', '.join(CHOICES)}"
            )
    return choices


def encode(arch: str) -> Code:
    """The arch as 22 indices into `CHOICES`."""
    return tuple(CHOICES.index(c) for c in parse(arch))


def decode(code: Sequence[int]) -> str:
    """The arch string of a 22-index code (inverse of `encode`)."""
    return "-".join(CHOICES[c] for c in check_code(NAME, code, [len(CHOICES)] * BLOCKS))


def sample(n: int, seed: int = 0) -> list[str]:
    """`n` arch strings drawn uniformly (each block independently) with `random.Random(seed)`."""
    return [decode(c) for c in sample_codes(n, [len(CHOICES)] * BLOCKS, seed)]


def spec(arch: str | Sequence[int], **options: str) -> str:
    """The model spec of an arch (string or code)."""
    arch = decode(arch) if not isinstance(arch, str) else decode(encode(arch))
    check_choice(NAME, "dataset", options.get("dataset", "cifar100"), tuple(DATASETS))
    return format_spec(NAME, arch, options, ("dataset",))


@register(
    NAME,
    task="search_space",
    description="FBNet space of HW-NAS-Bench (22 blocks × 9 choices; cifar100 / imagenet)",
)
def fbnet(arch: str = DEFAULT_ARCH, dataset: str = DEFAULT_DATASET) -> OpGraph:
    """FBNet space of HW-NAS-Bench (22 blocks × 9 choices; cifar100 / imagenet)."""
    meta = {"space": NAME, "arch": arch, "dataset": dataset}
    return assemble(NAME, input_shape(dataset), segments(arch, dataset), meta)


def input_shape(dataset: str = DEFAULT_DATASET) -> tuple[int, int, int, int]:
    res = DATASETS[dataset].resolution
    return (1, 3, res, res)


def chain(arch: str, dataset: str = DEFAULT_DATASET) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """(segments, batch-1 input shape) of an arch, for the segment fast path."""
    return segments(arch, dataset), input_shape(dataset)


def spec_chain(
    arch: str = DEFAULT_ARCH, dataset: str = DEFAULT_DATASET
) -> tuple[tuple[Segment, ...], tuple[int, int, int, int]]:
    """`chain` from a spec's options (those of the registered builder)."""
    return chain(arch, dataset)


@functools.lru_cache(maxsize=1 << 12)  # search loops revisit archs; the chain is immutable
def segments(arch: str, dataset: str = DEFAULT_DATASET) -> tuple[Segment, ...]:
    """The network as a chain of segments: stem, the 22 blocks, head. A block's key is its
    choice, output channels and stride; its input shape completes it."""
    check_choice(NAME, "dataset", dataset, tuple(DATASETS))
    choices = parse(arch)
    data = DATASETS[dataset]
    parts = [Segment(("stem", data.stem_stride), "stem", partial(_stem, stride=data.stem_stride))]
    n = 0
    for depth, c_out, stride in zip(DEPTHS, CHANNELS, data.strides, strict=True):
        for d in range(depth):
            s = stride if d == 0 else 1
            build = partial(_block, blk=block(choices[n]), c_out=c_out, stride=s)
            parts.append(Segment((choices[n], c_out, s), f"block{n}", build))
            n += 1
    head = partial(_head, channels=data.head, classes=data.classes)
    parts.append(Segment(("head", data.head, data.classes), "head", head))
    return tuple(parts)


def _stem(b: NetBuilder, stride: int) -> None:
    b.conv_bn_act(STEM_CHANNELS, 3, stride)


def _head(b: NetBuilder, channels: int, classes: int) -> None:
    b.conv_bn_act(channels, 1)
    b.global_pool()
    b.flatten()
    b.dense(classes)


def _block(b: NetBuilder, blk: Block | None, c_out: int, stride: int) -> None:
    x = b.x
    c_in = b.channels()
    if blk is None:
        if stride != 1 or c_in != c_out:
            b.conv_bn_act(c_out, 1, stride)
        return
    b.conv_bn_act(c_in * blk.expansion, 1, groups=blk.groups)
    if blk.groups > 1:
        b.channel_shuffle(blk.groups)
    b.dw_bn_act(blk.kernel, stride)
    b.conv_bn_act(c_out, 1, act=None, groups=blk.groups)
    if stride == 1 and c_in == c_out:
        b.add(x, b.x)
