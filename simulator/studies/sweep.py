"""What-if sweeps: a grid of profile overrides × models, priced locally in parallel or on
a Dask distributed cluster. The rows come out in grid order however the sweep ran."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphs.errors import EdgesimError
from graphs.files import atomic_file
from simulator.api import resolve_profile
from simulator.hardware.profile import Profile, profile_from_mapping
from simulator.tabular import write_csv

BASE_COLUMNS = ["device", "variant", "model", "batch", "latency_ms", "latency_per_sample_ms", "throughput_per_s",
                "energy_mj", "dynamic_energy_mj", "max_fps",
                "avg_power_w", "macs", "params"]


def grid(settings: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the settings, the first setting varying slowest."""
    keys = list(settings)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(settings[k] for k in keys))]


def _variant_name(overrides: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_value_text(v)}" for k, v in overrides.items()) or "base"


def _value_text(value: Any) -> str:
    """A setting's value as `--set` takes it (TOML: lists in brackets, strings quoted inside them)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(f'"{v}"' if isinstance(v, str) else _value_text(v) for v in value) + "]"
    return str(value)


def evaluate_variant(
    base: Mapping[str, Any], origin: str, overrides: Mapping[str, Any], models: Sequence[str], fps: float | None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Price every model (at `batch` samples if given) on one profile variant (runs in a
    worker process)."""
    from graphs.spec import build
    from simulator.api import predict

    profile = profile_from_mapping(base, origin).replace(**overrides)
    rows = []
    for model in models:
        report = predict(build(model, batch=batch), profile, fps=fps, model=model)
        totals = report.to_dict(per_op=False)  # the report's own ms / mJ / W conversions
        row: dict[str, Any] = {
            "device": profile.name,
            "variant": _variant_name(overrides),
            **overrides,
            "model": model,
            **{key: totals[key] for key in BASE_COLUMNS[3:]},
        }
        row.update(report.summary)
        rows.append(row)
    return rows


def sweep(
    device: str | Profile,
    settings: Mapping[str, Sequence[Any]],
    models: Sequence[str],
    *,
    fps: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    saved: SweepProgress | None = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Rows (one per variant × model) in grid order.

    Local runs use a process pool (`workers`, default: all cores; 1 runs in-process);
    `scheduler` is the address of a Dask distributed scheduler. With `saved`, variants it
    already holds are not priced again and each newly priced one is added to it as it
    completes, so that an interrupted sweep can resume."""
    profile = resolve_profile(device)
    variants = grid(settings)
    for overrides in variants:  # fail fast, in this process, on a bad field or value
        profile.replace(**overrides)
    base = profile.to_mapping()
    jobs = {i: (base, profile.path or profile.name, v, list(models), fps, batch) for i, v in enumerate(variants)}
    results: dict[int, list[dict[str, Any]]] = {}
    if saved is not None:
        results.update(saved.start(sweep_key(base, variants, models, fps, batch), len(jobs)))

    def done(index: int, rows: list[dict[str, Any]]) -> None:
        results[index] = rows
        if saved is not None:
            saved.add(index, rows)

    todo = {i: job for i, job in jobs.items() if i not in results}
    if scheduler:
        _on_dask(scheduler, todo, progress, done)
    else:
        _locally(todo, workers or os.cpu_count() or 1, progress, done)
    return [row for i in range(len(jobs)) for row in results[i]]


def sweep_key(base: Mapping[str, Any], variants: Sequence[Mapping[str, Any]], models: Sequence[str],
              fps: float | None, batch: int | None = None) -> str:
    """A digest of everything that decides a sweep's rows: same key, same grid."""
    text = json.dumps([base, list(variants), list(models), fps, batch], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class SweepProgress:
    """The variants an unfinished sweep has priced, one JSON line each after a header line
    with the sweep's key, in a hidden file beside the output folder."""

    def __init__(self, out: Path, resume: bool) -> None:
        self.path = out.parent / f".{out.name}.progress.jsonl"
        self.resume = resume
        self.count = 0
        self.total = 0

    def start(self, key: str, total: int) -> dict[int, list[dict[str, Any]]]:
        """Variants saved by an earlier run of the same sweep (with `resume`); the file is
        started afresh otherwise."""
        self.total = total
        saved = self._read(key) if self.resume else {}
        with atomic_file(self.path) as handle:
            handle.write(json.dumps({"key": key}) + "\n")
            for index, rows in saved.items():
                handle.write(json.dumps({"index": index, "rows": rows}, allow_nan=False) + "\n")
        self.count = len(saved)
        return saved

    def _read(self, key: str) -> dict[int, list[dict[str, Any]]]:
        if not self.path.exists():
            return {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            if json.loads(lines[0]).get("key") != key:
                raise EdgesimError(f"--resume: {self.path} is from a different sweep (device, settings, models "
                                   "or fps differ); run without --resume to start over")
            # A line cut short by a kill is the variant that was being saved: price it again.
            entries = [json.loads(line) for line in lines[1:] if line.endswith("}")]
            return {int(e["index"]): e["rows"] for e in entries}
        except (OSError, UnicodeDecodeError, ValueError, IndexError, KeyError, TypeError, AttributeError):
            raise EdgesimError(f"--resume: {self.path} is not a sweep progress file; "
                               "delete it or run without --resume") from None

    def add(self, index: int, rows: list[dict[str, Any]]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"index": index, "rows": rows}, allow_nan=False) + "\n")
        self.count += 1

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _bar(total: int, enabled: bool) -> Callable[[], None]:
    from tqdm import tqdm

    # disable=None: shown on a terminal only, so logs and pipes get no control characters.
    bar = tqdm(total=total, unit="variant", disable=None if enabled and total > 1 else True, leave=False)
    return bar.update


def _evaluate_job(job: tuple[int, tuple]) -> tuple[int, list[dict[str, Any]]]:
    index, args = job
    return index, evaluate_variant(*args)


def _worker_init() -> None:
    """Pool workers leave interrupts to the parent, which ends them, and exit on their own
    once the parent is gone (killed), instead of finishing the queue for nobody."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


Done = Callable[[int, list[dict[str, Any]]], None]


def _locally(jobs: dict[int, tuple], workers: int, progress: bool, done: Done) -> None:
    tick = _bar(len(jobs), progress)
    if workers <= 1 or len(jobs) <= 1:
        for index, job in jobs.items():
            done(index, evaluate_variant(*job))
            tick()
        return
    pool = multiprocessing.Pool(min(workers, len(jobs)), initializer=_worker_init)
    try:
        for index, rows in pool.imap_unordered(_evaluate_job, jobs.items()):
            done(index, rows)
            tick()
        pool.close()
    except BaseException:  # an error or an interrupt: end the workers now, not after the queue
        pool.terminate()
        raise
    finally:
        pool.join()


def _on_dask(address: str, jobs: dict[int, tuple], progress: bool, done: Done) -> None:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise EdgesimError("--scheduler needs the distributed extra: pip install 'edgesim[distributed]'") from None
    client = _connect(Client, address)
    with client:
        futures = {client.submit(evaluate_variant, *job, pure=False): index for index, job in jobs.items()}
        tick = _bar(len(jobs), progress)
        for future in dask_completed(list(futures)):
            done(futures[future], future.result())
            tick()


def _connect(client_class: type, address: str) -> Any:
    """A Dask client of the scheduler at `address`, or a one-line error within seconds."""
    try:
        return client_class(address, timeout="5s")
    except MemoryError:  # a peer that is not Dask answers bytes that read as an absurd frame length
        raise EdgesimError(f"--scheduler {address}: cannot use a Dask scheduler there (not a Dask scheduler)") \
            from None
    except Exception as exc:  # whatever Dask raises for an address it cannot use: bad syntax, refused, timeout
        reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        raise EdgesimError(f"--scheduler {address}: cannot use a Dask scheduler there ({reason})") from None


def write_rows(rows: Sequence[Mapping[str, Any]], path: Path, settings: Sequence[str]) -> None:
    extra = sorted({k for r in rows for k in r} - set(BASE_COLUMNS) - set(settings))
    columns = BASE_COLUMNS[:2] + list(settings) + BASE_COLUMNS[2:] + extra
    with path.open("w", newline="") as handle:
        write_csv(columns, [[_fmt(row.get(k)) for k in columns] for row in rows], handle)


def _fmt(value: Any) -> Any:
    from simulator.tabular import number

    if isinstance(value, tuple):
        return _value_text(value)
    return "" if value is None else number(value)


def plot_rows(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Sequence[Any]], out: Path) -> list[Path]:
    """A line plot of latency against the first setting (one line per model and value of
    the second), and with two or more settings a heat map per model over the first two.
    Settings a figure does not vary are held at their first value, and its title says so;
    legends sit outside the axes."""
    from simulator.plots import pyplot

    plt = pyplot()
    keys = list(settings)
    models = list(dict.fromkeys(r["model"] for r in rows))
    first = keys[0]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in settings[first])
    position = {v: v if numeric else i for i, v in enumerate(settings[first])}  # categories at 0, 1, ...
    paths = []
    fig, ax = plt.subplots(figsize=(9, 4.5))
    rest_fixed = {k: settings[k][0] for k in keys[2:]}
    device = rows[0]["device"] if rows else ""
    held = _held_text(device, rest_fixed)
    second_values = settings[keys[1]] if len(keys) > 1 else [None]
    for model in models:
        for value in second_values:
            pts = [
                (position[r[first]], r["latency_ms"]) for r in rows
                if r["model"] == model and (value is None or r[keys[1]] == value)
                and all(r[k] == v for k, v in rest_fixed.items())
            ]
            label = model if value is None else f"{model}, {keys[1]}={value}"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xlabel(first)
    if not numeric:
        ax.set_xticks(range(len(settings[first])), [_value_text(v) for v in settings[first]])
    ax.set_ylabel("latency (ms)")
    ax.set_title(held, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    paths.append(out / "sweep_lines.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    if len(keys) >= 2:
        xs, ys = settings[keys[0]], settings[keys[1]]
        for model in models:
            table = {(r[keys[0]], r[keys[1]]): r["latency_ms"] for r in rows
                     if r["model"] == model and all(r[k] == v for k, v in rest_fixed.items())}
            data = [[table[(x, y)] for x in xs] for y in ys]
            fig, ax = plt.subplots(figsize=(6, 4.5))
            im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(xs)), [_value_text(x) for x in xs])
            ax.set_yticks(range(len(ys)), [_value_text(y) for y in ys])
            ax.set_xlabel(keys[0])
            ax.set_ylabel(keys[1])
            for iy, row in enumerate(data):
                for ix, v in enumerate(row):
                    ax.text(ix, iy, f"{v:.3g}", ha="center", va="center", color="w", fontsize=7)
            fig.colorbar(im, label="latency (ms)")
            ax.set_title(f"{model}\n{held}", fontsize=8)
            fig.tight_layout()
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
            paths.append(out / f"sweep_heatmap_{safe}.png")
            fig.savefig(paths[-1], dpi=120)
            plt.close(fig)
    return paths


def _held_text(device: str, fixed: Mapping[str, Any]) -> str:
    """The title that names what a figure holds fixed: the base device and unvaried settings."""
    if not fixed:
        return f"{device}; every other field as in the profile"
    return f"{device}; held fixed: {_variant_name(fixed)}; every other field as in the profile"
