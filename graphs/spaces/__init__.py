"""NAS search spaces: importing this package registers every space's builder.

`SPACES` maps a space's model name to its module, whose `chain(arch, **options)` (the
segments and the input shape) lets search loops price a network segment by segment, and
whose `encode`, `decode`, `sample` and `spec` map between arch strings, integer codes and
model specs."""

from types import ModuleType

from graphs.spaces import fbnet, nasbench201, ofa_mbv3

SPACES: dict[str, ModuleType] = {
    nasbench201.NAME: nasbench201, fbnet.NAME: fbnet, ofa_mbv3.NAME: ofa_mbv3,
}
