"""`rewrite.plan` is remembered by graph structure and runtime: the remembered plan is the
one a fresh rewrite gives, and structures that differ get their own."""

import dataclasses

from graphs import build
from graphs.spaces import nasbench201
from simulator import load_profile
from simulator.engine.rewrite import _new_plan, plan
from simulator.hardware.common import RuntimeSpec

RUNTIMES = [
    RuntimeSpec(),
    RuntimeSpec(fold_batch_norm=False, fused_activations=(), prune_dead_ops=False),
    load_profile("host-cpu-litert").runtime,  # duplicates merged, activations fused into adds
]


def test_remembered_plans_are_fresh_plans():
    specs = ["mobilenet_v2", "mobilenet_v3_large", "resnet50"] + [
        nasbench201.spec(a, variant=v) for a in nasbench201.sample(20, seed=5) for v in nasbench201.VARIANTS
        if v == "pytorch" or nasbench201.is_connected(a)
    ]
    for runtime in RUNTIMES:
        for spec in specs:
            flat = build(spec).flat()
            assert plan(flat, runtime) == _new_plan(flat, runtime), spec
            assert plan(flat, runtime) is plan(flat, runtime)  # remembered


def test_one_plan_per_structure_not_per_shape():
    arch = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    small, large = (build(nasbench201.spec(arch, dataset=d)).flat() for d in ("imagenet16-120", "cifar10"))
    assert small.ops != large.ops and small.sources == large.sources
    assert plan(small, RUNTIMES[0]) is plan(large, RUNTIMES[0])
    assert plan(small, RUNTIMES[1]) != plan(small, RUNTIMES[0])
    # a tag is structure: untag the "zero" edges and they are no longer pruned
    untagged = dataclasses.replace(small, ops=tuple(dataclasses.replace(op, tag="") for op in small.ops))
    assert plan(untagged, RUNTIMES[0]).pruned == 0 < plan(small, RUNTIMES[0]).pruned
