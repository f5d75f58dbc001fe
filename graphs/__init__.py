"""What runs: the op-graph IR, the model zoo, search spaces, model specs and importers."""

from graphs.builder import NetBuilder, make_divisible
from graphs.errors import EdgesimError
from graphs.graph import OpGraph
from graphs.ops import Kind, Op
from graphs.registry import ModelEntry, entries, entry, register
from graphs.spec import build, canonical, parse_spec, published_accuracy

__all__ = [
    "EdgesimError",
    "Kind",
    "ModelEntry",
    "NetBuilder",
    "Op",
    "OpGraph",
    "build",
    "canonical",
    "entries",
    "entry",
    "make_divisible",
    "parse_spec",
    "published_accuracy",
    "register",
]
