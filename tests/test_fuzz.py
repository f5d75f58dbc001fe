"""Fuzzing the promise "every error is one line with exit 2, nothing half-written"
(issue 18): seeded generators of bad and odd inputs (spec strings, profile TOMLs, `--set`
values, reference CSVs, ONNX graphs, output paths, CLI flags) run through the CLI's
`main()` in-process. A case fails on any traceback, on an exit status other than 0 or 2,
on an error that is not exactly one stderr line, on an inf/NaN in the output, and on any
file left behind by a failed command or any temporary file left by any command.

CI runs `CASES` cases per generator (a few hundred in all, well under a minute); set
`EDGESIM_FUZZ=N` to run N per generator in the `slow` test.
"""

from __future__ import annotations

import os
import random
import re
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphs import NetBuilder
from simulator.hardware.profile import profile_dir
from tests.cli_check import files_under, finite_numbers, run_cli

CASES = 40
NASTY_NUMBERS = ["0", "-0", "-1", "1", "0.5", "2", "1e308", "-1e308", "1e999", "5e-324", "1e-300", "nan", "inf",
                 "-inf", "1e6", "3.5", "10000000000000000000000", "0x10", "1_000", "true", "'x'", "[]", "{}",
                 "[1, 2]", "\"\"", "1e", "--1", "None"]
NASTY_WORDS = ["", " ", "x", "-", "--", "\x00", "é", "\ufeff", "💥", "../", "/", "a" * 300, "%s%n", "$(true)",
               "__import__('os')", "width", "mobilenet_v2", "(", ")", "=", ",", "'", "\"", "\\", "\n"]
SPECS = ["mobilenet_v2", "mobilenet_v1(width=0.25, resolution=32)", "mnasnet_a1(resolution=64)",
         "ssdlite(backbone=mobilenet_v2, resolution=64)", "resnet50(width=0.25, resolution=32)",
         "nasbench201(arch='|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
         "skip_connect~2|')", "fbnet(arch='" + "-".join(["k3_e1"] * 22) + "', dataset='cifar100')"]
SMALL = "mobilenet_v1(width=0.25, resolution=32)"
TEMPORARY = re.compile(r"(^|/)\.[^/]*\.(tmp|new|old)$")


def check(capsys, work: Path, argv: list[str], *, may_write: bool = True) -> int:
    """Run one case and assert the promise; return its exit status."""
    before = files_under(work)
    code, out, err = run_cli(capsys, argv)
    shown = [a[:80] for a in argv]
    assert code in (0, 2), (shown, code, err[-800:])
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("edgesim: error: "), (shown, err[-800:])
        assert files_under(work) == before, (shown, files_under(work) - before)
    else:
        assert finite_numbers(out), (shown, out[-800:])
        assert may_write or files_under(work) == before, shown
    assert not [p for p in files_under(work) if TEMPORARY.search(p)], shown
    return code


def mutate(text: str, rng: random.Random) -> str:
    """`text` with one to three random edits: a character changed, dropped, doubled or
    inserted, a number replaced by a nasty one, or a nasty word spliced in."""
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        numbers = list(re.finditer(r"\d+(\.\d+)?(e-?\d+)?", text))
        if choice < 0.35 and numbers:
            m = rng.choice(numbers)
            text = text[: m.start()] + rng.choice(NASTY_NUMBERS) + text[m.end():]
        elif choice < 0.55:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(NASTY_WORDS) + text[i:]
        elif choice < 0.75 and text:
            i = rng.randrange(len(text))
            text = text[:i] + text[i + 1:]
        elif choice < 0.9 and text:
            i = rng.randrange(len(text))
            text = text[:i] + text[i] + text[i:]
        else:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(string.printable) + text[i:]
    return text


# -- generators: each yields argv lists for one kind of input --------------------------
def gen_specs(rng: random.Random, work: Path) -> Iterator[list[str]]:
    while True:
        spec = rng.choice(SPECS)
        if rng.random() < 0.5:  # a nasty number in place of one option value, the rest intact
            numbers = list(re.finditer(r"\d+(\.\d+)?", spec)) or [re.search(r"$", spec)]
            m = rng.choice(numbers)
            spec = spec[: m.start()] + rng.choice([*NASTY_NUMBERS, "0.75", "96", "160"]) + spec[m.end():]
        else:
            spec = mutate(spec, rng)
        yield ["predict", spec, "--device", "pixel1-cpu", "--json"]


def gen_profiles(rng: random.Random, work: Path) -> Iterator[list[str]]:
    names = ["coral-usb", "pixel1-cpu", "hexagon-690", "jetson-nano", "pixel4-edgetpu", "adreno-640"]
    while True:
        text = (profile_dir() / f"{rng.choice(names)}.toml").read_text()
        lines = text.splitlines()
        edit = rng.random()
        # Keys the loader checks: not the free-form [calibration] record at the end.
        end = next((i for i, line in enumerate(lines) if line.startswith("[calibration")), len(lines))
        values = [i for i, line in enumerate(lines[:end]) if re.match(r"^\w+ = ", line)]
        i = rng.choice(values)
        key = lines[i].split(" = ")[0]
        if edit < 0.6:
            lines[i] = f"{key} = {rng.choice(NASTY_NUMBERS)}"
        elif edit < 0.7:
            del lines[i]
        elif edit < 0.8:
            lines[i] = f'{key} = ["relu", "{rng.choice(["warp", "relu6", "", "x" * 50])}"]'
        elif edit < 0.9:
            lines.insert(i, f"{mutate(key, rng)} = 1")
        else:
            lines = mutate("\n".join(lines), rng).splitlines()
        path = work / "fuzz.toml"
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        if rng.random() < 0.05:
            data = data.replace(b"=", b"\xff=", 1)  # not UTF-8
        path.write_bytes(data)
        yield ["predict", SMALL, "--device", str(path), "--fps", "30", "--json"]


def gen_settings(rng: random.Random, work: Path) -> Iterator[list[str]]:
    fields = ["array_rows", "array_clock_hz", "link_bw_bytes_per_s", "parameter_cache_bytes", "per_op_s",
              "energy.idle_power_w", "precision", "runtime.fused_activations", "offload.host", "dataflow",
              "vector_lanes", "memory.dram_bw_bytes_per_s", "nonexistent", ""]
    device = ["coral-usb", "pixel1-cpu", "hexagon-690"]
    while True:
        value = rng.choice(NASTY_NUMBERS + NASTY_WORDS[:8] + ["'coral-usb'", "fp32", "int8", "ws", "['warp']"])
        setting = f"{rng.choice(fields)}={value}"
        if rng.random() < 0.3:
            setting = mutate(setting, rng)
        yield ["sweep", "--device", rng.choice(device), "--set", setting, "--models", str(work / "tiny.json"),
               "--workers", "1", "--no-progress", "--out", str(work / "sw")]


def gen_references(rng: random.Random, work: Path) -> Iterator[list[str]]:
    good = ("model,latency_ms,energy_mj,device,source\n"
            f'"{SMALL}",1.5,2.5,d,s\n"mobilenet_v1(width=0.5, resolution=64)",3,,d,s\n')
    while True:
        text = mutate(good, rng)
        if rng.random() < 0.1:
            text = "\ufeff" + text
        path = work / "fuzz.csv"
        path.write_bytes(text.encode("utf-8", "surrogatepass") if rng.random() > 0.05 else b"\xff" + text.encode())
        yield ["validate", "--device", "pixel1-cpu", "--reference", str(path), *rng.choice([[], ["--json"]])]


def gen_onnx(rng: random.Random, work: Path) -> Iterator[list[str]]:
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    while True:
        # One fault per case (or none), so that good graphs are priced as well as bad ones refused.
        fault = rng.choice([None, None, None, "dims", "type", "channels", "op", "input", "order", "empty", "bytes"])
        c_in, c_out, size = rng.choice([1, 3, 5]), rng.choice([2, 4]), rng.choice([1, 4, 8])
        dims = [1, c_in, size, size]
        if fault == "dims":
            dims[rng.randrange(4)] = rng.choice([0, -1, -5, 2**40])
        elem = rng.choice([TensorProto.STRING, TensorProto.INT64, 0]) if fault == "type" else TensorProto.FLOAT
        w_in = c_in + 1 if fault == "channels" else c_in
        act = rng.choice(["Einsum", "Foo", "Softmax"]) if fault == "op" else rng.choice(["Relu", "Sigmoid"])
        other = rng.choice(["y", "nope", ""]) if fault == "input" else rng.choice(["c", "r"])
        nodes = [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
            helper.make_node(act, ["c"], ["r"], name="act"),
            helper.make_node("Add", ["r", other], ["y"], name="add"),
        ]
        if fault == "order":
            rng.shuffle(nodes)
        if fault == "empty":
            nodes = []
        weights = numpy_helper.from_array(np.ones((c_out, w_in, 1, 1), np.float32), "w")
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, dims)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weights])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", rng.choice([13, 17]))])
        model.ir_version = 8
        data = model.SerializeToString()
        if fault == "bytes":
            cut = rng.randrange(1, len(data))
            data = data[:cut] if rng.random() < 0.5 else data[:cut] + bytes([rng.randrange(256)]) + data[cut + 1:]
        path = work / "fuzz.onnx"
        path.write_bytes(data)
        assert onnx
        yield ["predict", str(path), "--device", "pixel1-cpu", *rng.choice([[], ["--allow-unknown"], ["--json"]])]


def gen_paths(rng: random.Random, work: Path) -> Iterator[list[str]]:
    (work / "a_file").write_text("x")
    (work / "a_dir").mkdir(exist_ok=True)
    parts = ["a_file", "a_dir", "new", "..", ".", "", " ", "x" * 300, "é", "/proc", "/dev/null", "sub/deeper"]
    while True:
        target = "/".join(rng.choice(parts) for _ in range(rng.randint(1, 3)))
        target = str(work / target) if not target.startswith("/") else target
        command = rng.choice([
            ["export", str(work / "tiny.json"), "--out", target + ".onnx"],
            ["export", str(work / "tiny.json"), "--out", target],
            ["pareto", "--device", "pixel1-cpu", "--models", SMALL, "--out", target],
            ["validate", "--device", "pixel1-cpu", "--reference", str(work / "ref.csv"), "--plot", target + ".png"],
        ])
        yield command


def gen_flags(rng: random.Random, work: Path) -> Iterator[list[str]]:
    tiny = str(work / "tiny.json")
    commands = {
        "predict": ([SMALL], {"--device": ["pixel1-cpu", "coral-usb", "nope"], "--fps": None, "--per-op": [],
                              "--json": [], "--csv": [], "--allow-unknown": []}),
        "inspect": ([SMALL], {"--json": [], "--csv": [], "--allow-unknown": []}),
        "sweep": (["--device", "pixel1-cpu", "--models", tiny, "--no-progress", "--out", str(work / "sw")],
                  {"--set": ["per_op_s=1e-6,2e-6", "per_op_s=", "x=1"], "--fps": None, "--workers": None,
                   "--scheduler": ["foo", "tcp://"], "--resume": []}),
        "validate": (["--device", "pixel1-cpu", "--reference", str(work / "ref.csv")],
                     {"--json": [], "--worst": None, "--plot": [str(work / "p.png"), str(work / "p.xyz")]}),
        "pareto": (["--device", "pixel1-cpu", "--out", str(work / "p")],
                   {"--models": [SMALL, "mobilenet_v2"], "--metric": ["latency", "energy", "power"],
                    "--seed": None, "--n": None, "--space": ["nasbench201", "zoo"]}),
        "export": ([tiny, "--out", str(work / "m.onnx")], {"--seed": None}),
        "devices": ([], {}),
    }
    while True:
        name = rng.choice(list(commands))
        argv, flags = commands[name]
        argv = [name, *argv]
        for flag in rng.sample(list(flags), k=min(len(flags), rng.randint(0, 3))):
            values = flags[flag]
            if values is None:
                argv += [flag, rng.choice([*NASTY_NUMBERS, "x", "", "-3", "7"])]
            elif values:
                argv += [flag, rng.choice(values)]
            else:
                argv.append(flag)
        if rng.random() < 0.1:
            argv.append(rng.choice(["--bogus", "-x", "extra", "--", "--help=no"]))
        yield argv


GENERATORS: dict[str, Callable[[random.Random, Path], Iterator[list[str]]]] = {
    "specs": gen_specs, "profiles": gen_profiles, "settings": gen_settings, "references": gen_references,
    "onnx": gen_onnx, "paths": gen_paths, "flags": gen_flags,
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    b = NetBuilder("tiny", (1, 3, 32, 32))
    b.conv_bn_act(8, 3, 2, "relu")
    b.global_pool()
    b.flatten()
    b.dense(10)
    b.build().save(tmp_path / "tiny.json")
    (tmp_path / "ref.csv").write_text("model,latency_ms,energy_mj,device,source\n"
                                      f'"{SMALL}",1.5,,d,s\n"mobilenet_v1(width=0.5, resolution=64)",3,,d,s\n'
                                      '"mobilenet_v1(width=0.75, resolution=64)",4,,d,s\n'
                                      '"mobilenet_v2(width=0.5, resolution=64)",3.5,,d,s\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fuzz(name: str, cases: int, seed: int, capsys, work: Path) -> dict[int, int]:
    rng = random.Random(f"{name}-{seed}")
    codes = {0: 0, 2: 0}
    for _, argv in zip(range(cases), GENERATORS[name](rng, work), strict=False):
        codes[check(capsys, work, argv)] += 1
    return codes


@pytest.mark.parametrize("name", list(GENERATORS))
def test_fuzz(name, capsys, work):
    codes = fuzz(name, CASES, 0, capsys, work)
    assert codes[2] > 0  # the generator does produce bad input


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("EDGESIM_FUZZ"), reason="set EDGESIM_FUZZ=N to run N cases per generator")
@pytest.mark.parametrize("name", list(GENERATORS))
def test_fuzz_long(name, capsys, work):
    fuzz(name, int(os.environ["EDGESIM_FUZZ"]), 1, capsys, work)
