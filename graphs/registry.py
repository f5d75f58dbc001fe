"""Name → builder registry for the zoo and the search spaces, with published accuracy."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphs.errors import EdgesimError
from graphs.graph import OpGraph

Builder = Callable[..., OpGraph]


@dataclass(frozen=True)
class ModelEntry:
    """A buildable network family.

    `accuracy` maps canonical spec strings (see `graphs.spec.canonical`) of the variants
    with a published figure to that figure: ImageNet top-1 in % for classifiers (`metric`
    "top1"), COCO mAP for detectors ("mAP"). `accuracy_source` cites it.
    """

    name: str
    builder: Builder
    task: str = "classification"
    metric: str = "top1"
    accuracy: Mapping[str, float] = field(default_factory=dict)
    accuracy_source: str = ""
    description: str = ""

    @property
    def options(self) -> dict[str, inspect.Parameter]:
        """The builder's keyword options and their defaults."""
        return dict(inspect.signature(self.builder).parameters)

    def defaults(self) -> dict[str, Any]:
        return {k: p.default for k, p in self.options.items() if p.default is not p.empty}


_REGISTRY: dict[str, ModelEntry] = {}


def register(
    name: str,
    *,
    task: str = "classification",
    metric: str = "top1",
    accuracy: Mapping[str, float] | None = None,
    accuracy_source: str = "",
    description: str = "",
) -> Callable[[Builder], Builder]:
    """Decorator: register `builder` under `name`. Its keyword arguments are its options."""

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelEntry(
            name, builder, task, metric, dict(accuracy or {}), accuracy_source,
            description or (inspect.getdoc(builder) or "").split("\n")[0],
        )
        return builder

    return decorate


def _load_all() -> None:
    # Importing the packages runs their `register` decorators.
    import graphs.spaces
    import graphs.zoo  # noqa: F401


def entries() -> list[ModelEntry]:
    _load_all()
    return list(_REGISTRY.values())


def entry(name: str) -> ModelEntry:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "see `edgesim models`"
        raise EdgesimError(f"unknown model {name!r}: {hint}") from None
