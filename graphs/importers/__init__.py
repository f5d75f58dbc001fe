"""Importers: ONNX, TFLite and PyTorch (through ONNX) models into op graphs."""


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, … the first not in `taken`; the name is added to it.
    Files may repeat or omit node names, while an op graph needs them distinct."""
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name
