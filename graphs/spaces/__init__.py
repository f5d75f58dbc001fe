"""NAS search spaces: importing this package registers every space's builder.

`SPACES` maps a space's model name to its module, whose `chain(arch, **options)` (the
segments and the input shape) lets search loops price a network segment by segment,
`spec_chain(**spec_options)` gives the same from a model spec's options, and whose
`encode`, `decode`, `sample` and `spec` map between arch strings, integer codes and
model specs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from graphs.errors import EdgesimError
from graphs.spaces import fbnet, nasbench201, ofa_mbv3

SPACES: dict[str, ModuleType] = {
    nasbench201.NAME: nasbench201, fbnet.NAME: fbnet, ofa_mbv3.NAME: ofa_mbv3,
}


def is_code(model: Any) -> bool:
    """Whether `model` is an integer code: a list, tuple or 1-D numpy array of ints."""
    if hasattr(model, "dtype") and hasattr(model, "ndim"):  # numpy, without importing it
        return model.ndim == 1 and model.dtype.kind in "iu"
    return isinstance(model, list | tuple) and all(isinstance(c, int) and not isinstance(c, bool) for c in model)


def code_space(code: Sequence[int], space: str | None = None) -> ModuleType:
    """The space a code belongs to: `space`, or the space whose codes have its length (a
    code's length names its space: NAS-Bench-201 6, FBNet 22, OFA MobileNetV3 46). The one
    resolver of integer codes, for `graphs.build` (numpy codes) and `Predictor.predict`."""
    if space is not None:
        if space not in SPACES:
            raise EdgesimError(f"unknown search space {space!r}; spaces: {', '.join(SPACES)}")
        return SPACES[space]
    by_length = _spaces_by_code_length()
    module = by_length.get(len(code))
    if module is None:
        lengths = ", ".join(f"{m.NAME} {n}" for n, m in sorted(by_length.items()))
        raise EdgesimError(f"code {list(code)!r:.80} fits no search space: a code of {len(code)} integers; "
                           f"code lengths: {lengths} (or name the space: space=...)")
    return module


@functools.cache
def _spaces_by_code_length() -> dict[int, ModuleType]:
    lengths = {len(module.encode(module.sample(1)[0])): module for module in SPACES.values()}
    assert len(lengths) == len(SPACES), "two search spaces with one code length: resolve codes by value"
    return lengths


def spec_of_code(code: Sequence[int], space: str | None = None, **options: Any) -> str:
    """The model spec of an integer code (list, tuple or numpy array) of `space`, or of the
    one space whose codes it fits."""
    return code_space(_ints(code), space).spec(_ints(code), **options)


def _ints(code: Sequence[int]) -> tuple[int, ...]:
    return tuple(code.tolist()) if hasattr(code, "tolist") else tuple(code)
