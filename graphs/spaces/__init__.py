"""NAS search spaces: importing this package registers every space's builder."""

from graphs.spaces import fbnet, nasbench201  # noqa: F401
