"""NAS search spaces: importing this package registers every space's builder.

`SPACES` maps a space's model name to its module, whose `segments(arch, **options)` and
`input_shape(dataset)` let search loops price a network segment by segment."""

from types import ModuleType

from graphs.spaces import fbnet, nasbench201

SPACES: dict[str, ModuleType] = {nasbench201.NAME: nasbench201, fbnet.NAME: fbnet}
