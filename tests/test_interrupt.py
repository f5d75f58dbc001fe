"""Interrupts (issue 18, "Interruption"): Ctrl-C and SIGTERM print one line and exit with
128 + the signal number, end the sweep's worker processes and leave the output folder as
it was; workers of a killed sweep exit on their own; `sweep --resume` finishes the grid."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simulator.studies.seed
from simulator.api import predict
from tests.cli_check import files_under, run_cli

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process parents from /proc")

ROOT = Path(__file__).resolve().parents[1]
# A two-field grid, 400 x 3 variants (~5 s on a quiet machine): one field of 400 values alone
# priced in ~1.5 s, short enough that the sweep once finished before the signal landed, and the
# CLI caps one argument at 4,096 characters.
PER_OP_S = [f"{i}e-7" for i in range(1, 401)]
PER_INFERENCE_S = ["0", "1e-4", "2e-4"]
VARIANTS = len(PER_OP_S) * len(PER_INFERENCE_S)
MODELS = ["efficientnet_b0", "resnet50"]


def sweep_argv(out: Path, *extra: str) -> list[str]:
    return ["sweep", "--device", "pixel1-cpu", "--set", f"per_op_s={','.join(PER_OP_S)}",
            "--set", f"per_inference_s={','.join(PER_INFERENCE_S)}", "--models", *MODELS,
            "--out", str(out), "--workers", "2", "--no-progress", *extra]


def start(argv: list[str]) -> subprocess.Popen:
    """The CLI as a terminal starts it: Ctrl-C at its default. An ignored SIGINT survives exec
    and Python then keeps ignoring it, so a test process that ignores it (as the CI run's did,
    by the time this file ran) would make the sweep finish with exit 0."""
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_progress(proc: subprocess.Popen, progress: Path, variants: int = 2, limit: float = 120) -> list[int]:
    """Block until the sweep has saved `variants` variants; return its worker pids."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if progress.exists() and len(progress.read_text().splitlines()) > variants:
            return children(proc.pid)
        time.sleep(0.05)
    raise AssertionError("the sweep saved no progress")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_ctrl_c_keeps_the_old_folder_ends_workers_and_resume_completes(tmp_path, capsys):
    out = tmp_path / "sw"
    progress = tmp_path / ".sw.progress.jsonl"
    # An earlier run's folder, which the interrupted run must leave exactly as it was.
    assert run_cli(capsys, ["sweep", "--device", "pixel1-cpu", "--set", "per_op_s=1e-6", "--models", "mobilenet_v1",
                            "--out", str(out), "--workers", "1", "--no-progress"])[0] == 0
    old = {name: (out / name).read_bytes() for name in files_under(out)}

    proc = start(sweep_argv(out))
    workers = wait_for_progress(proc, progress)
    assert len(workers) == 2
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgesim: interrupted; "), stderr
    assert f"of {VARIANTS} variants kept in {progress}" in lines[0] and "--resume" in lines[0]
    time.sleep(5)
    assert not [pid for pid in workers if alive(pid)]
    assert {name: (out / name).read_bytes() for name in files_under(out)} == old  # complete and old
    assert files_under(tmp_path) == {"sw", *(f"sw/{n}" for n in old), progress.name}

    proc = start(sweep_argv(out, "--resume"))
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    rows = csv_rows(out / "sweep.csv")
    assert len(rows) == VARIANTS * len(MODELS)
    assert [r["model"] for r in rows[:4]] == MODELS * 2  # grid order, however it was priced
    # The first field varies slowest, the second within it.
    assert [(float(r["per_op_s"]), float(r["per_inference_s"])) for r in rows[:: len(MODELS)]] == [
        (float(a), float(b)) for a in PER_OP_S for b in PER_INFERENCE_S]
    from simulator.hardware.profile import load_profile

    for row in (rows[0], rows[-1]):  # the first row came from the interrupted run, the last from the resumed one
        profile = load_profile("pixel1-cpu").replace(per_op_s=float(row["per_op_s"]),
                                                     per_inference_s=float(row["per_inference_s"]))
        assert float(row["latency_ms"]) == pytest.approx(predict(row["model"], profile).latency_s * 1e3, rel=1e-8)
    assert not progress.exists() and files_under(tmp_path) == {"sw", *(f"sw/{n}" for n in files_under(out))}


@pytest.mark.slow
def test_sigterm_is_an_interrupt_and_sigkill_leaves_no_workers(tmp_path):
    out, progress = tmp_path / "sw", tmp_path / ".sw.progress.jsonl"
    proc = start(sweep_argv(out))
    workers = wait_for_progress(proc, progress)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and len(stderr.splitlines()) == 1, stderr
    assert not out.exists()

    proc = start(sweep_argv(out))
    workers = wait_for_progress(proc, progress)
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:  # do not leave them running if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors
    assert not out.exists()


def test_an_interrupt_before_writing_writes_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator.studies.seed, "run_seed", interrupted)
    code, out, err = run_cli(capsys, ["study", "seed", "--out", str(tmp_path / "study")])
    assert (code, out, err) == (130, "", "edgesim: interrupted; nothing written\n")
    assert files_under(tmp_path) == set()
