"""What-if sweeps: a grid of profile overrides × models, priced locally in parallel or on
a Dask distributed cluster. The rows come out in grid order however the sweep ran."""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from graphs.errors import EdgesimError
from simulator.api import resolve_profile
from simulator.hardware.profile import Profile, profile_from_mapping

BASE_COLUMNS = ["device", "variant", "model", "latency_ms", "energy_mj", "dynamic_energy_mj", "max_fps",
                "avg_power_w", "macs", "params"]


def grid(settings: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the settings, the first setting varying slowest."""
    keys = list(settings)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(settings[k] for k in keys))]


def _variant_name(overrides: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in overrides.items()) or "base"


def evaluate_variant(
    base: Mapping[str, Any], origin: str, overrides: Mapping[str, Any], models: Sequence[str], fps: float | None
) -> list[dict[str, Any]]:
    """Price every model on one profile variant (runs in a worker process)."""
    from simulator.api import predict

    profile = profile_from_mapping(base, origin).replace(**overrides)
    rows = []
    for model in models:
        report = predict(model, profile, fps=fps)
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
) -> list[dict[str, Any]]:
    """Rows (one per variant × model) in grid order.

    Local runs use a process pool (`workers`, default: all cores; 1 runs in-process);
    `scheduler` is the address of a Dask distributed scheduler."""
    profile = resolve_profile(device)
    variants = grid(settings)
    for overrides in variants:  # fail fast, in this process, on a bad field or value
        profile.replace(**overrides)
    base = profile.to_mapping()
    args = [(base, profile.path or profile.name, v, list(models), fps) for v in variants]
    if scheduler:
        results = _on_dask(scheduler, args, progress)
    else:
        results = _locally(args, workers or os.cpu_count() or 1, progress)
    return [row for chunk in results for row in chunk]


def _bar(total: int, enabled: bool) -> Callable[[], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="variant", disable=not enabled or total < 2, leave=False)
    return bar.update


def _locally(args: list[tuple], workers: int, progress: bool) -> list[list[dict[str, Any]]]:
    tick = _bar(len(args), progress)
    if workers <= 1 or len(args) == 1:
        out = []
        for a in args:
            out.append(evaluate_variant(*a))
            tick()
        return out
    results: list[list[dict[str, Any]] | None] = [None] * len(args)
    with ProcessPoolExecutor(max_workers=min(workers, len(args))) as pool:
        futures = {pool.submit(evaluate_variant, *a): i for i, a in enumerate(args)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            tick()
    return results  # type: ignore[return-value]


def _on_dask(address: str, args: list[tuple], progress: bool) -> list[list[dict[str, Any]]]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise EdgesimError("--scheduler needs the distributed extra: pip install 'edgesim[distributed]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise EdgesimError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    with client:
        futures = [client.submit(evaluate_variant, *a, pure=False) for a in args]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[list[dict[str, Any]] | None] = [None] * len(args)
        tick = _bar(len(args), progress)
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            tick()
    return results  # type: ignore[return-value]


def write_rows(rows: Sequence[Mapping[str, Any]], path: Path, settings: Sequence[str]) -> None:
    extra = sorted({k for r in rows for k in r} - set(BASE_COLUMNS) - set(settings))
    columns = BASE_COLUMNS[:2] + list(settings) + BASE_COLUMNS[2:] + extra
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in columns})


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.9g}"
    return "" if value is None else value


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
    paths = []
    fig, ax = plt.subplots(figsize=(9, 4.5))
    rest_fixed = {k: settings[k][0] for k in keys[2:]}
    device = rows[0]["device"] if rows else ""
    held = _held_text(device, rest_fixed)
    second_values = settings[keys[1]] if len(keys) > 1 else [None]
    for model in models:
        for value in second_values:
            pts = [
                (r[first], r["latency_ms"]) for r in rows
                if r["model"] == model and (value is None or r[keys[1]] == value)
                and all(r[k] == v for k, v in rest_fixed.items())
            ]
            label = model if value is None else f"{model}, {keys[1]}={value}"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xlabel(first)
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
            ax.set_xticks(range(len(xs)), [str(x) for x in xs])
            ax.set_yticks(range(len(ys)), [str(y) for y in ys])
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
