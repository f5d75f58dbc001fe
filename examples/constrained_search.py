"""A latency-constrained architecture search without the device: NSGA-II (Optuna) over
NAS-Bench-201 cells, accuracy from a table you supply, latency from edgesim.

    python examples/constrained_search.py --accuracy nb201-acc.csv --device coral-usb \\
        --budget-ms 2.0 --trials 400 --out search-out

The accuracy table is a CSV with columns `model,accuracy` whose models are NAS-Bench-201
specs (`nasbench201(arch='|nor_conv_3x3~0|+...', dataset='cifar10')`, what
`edgesim pareto --space nasbench201` reads); cells the table lacks are skipped. Latency
is edgesim's on `--device`; when the profile is calibrated (it carries validated
prediction intervals) the search holds the 90 % quantile of the measured latency to the
budget, so a chosen cell fits it with 90 % confidence; otherwise the point prediction.

Writes `trace.csv` (every trial: arch, accuracy, latency, whether it met the budget) and
`front.csv` (the chosen cells: the accuracy/latency front among those within budget) to
`--out`, and prints the chosen cells. Needs Optuna: pip install 'edgesim[search]'.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from graphs.errors import EdgesimError
from graphs.spaces import nasbench201
from graphs.spec import parse_spec
from simulator import intervals
from simulator.predictor import Predictor
from simulator.studies.pareto import pareto_mask, read_accuracy_csv
from simulator.tabular import write_table

QUANTILE = 0.9


def accuracy_by_code(path: str, dataset: str) -> dict[tuple[int, ...], float]:
    """The table's NAS-Bench-201 rows for `dataset`, keyed by the cell's code."""
    table = {}
    for model, accuracy in read_accuracy_csv(path, space=nasbench201.NAME).items():
        options = parse_spec(model)[1]
        if options.get("dataset", nasbench201.DEFAULT_DATASET) == dataset:
            table[nasbench201.encode(options.get("arch", nasbench201.DEFAULT_ARCH))] = accuracy
    if not table:
        raise EdgesimError(f"{path}: no NAS-Bench-201 rows for dataset {dataset!r}")
    return table


def search(
    accuracy: dict[tuple[int, ...], float], device: str, budget_ms: float, trials: int, seed: int = 0,
    population: int = 40, dataset: str = nasbench201.DEFAULT_DATASET, variant: str = "pytorch",
) -> tuple[list[dict[str, object]], str]:
    """Run the search; returns one record per trial and the latency measure used."""
    try:
        import optuna
    except ImportError:
        raise EdgesimError("the search needs Optuna: pip install 'edgesim[search]'") from None
    predictor = Predictor(device)
    calibrated = intervals.residuals(predictor.profile, "latency") is not None
    quantile = QUANTILE if calibrated else None
    measure = f"{QUANTILE:.0%} quantile of latency" if calibrated else "predicted latency"
    records: list[dict[str, object]] = []

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        code = tuple(nasbench201.OPS.index(trial.suggest_categorical(f"edge{e}", nasbench201.OPS))
                     for e in range(len(nasbench201.EDGES)))
        spec = nasbench201.spec(code, dataset=dataset, variant=variant)
        latency = float(predictor.predict([spec], quantile=quantile)[0])
        trial.set_constraint("latency", latency - budget_ms)  # feasible where <= 0
        if code not in accuracy:
            raise optuna.TrialPruned(f"{spec} has no accuracy in the table")
        records.append({"trial": trial.number, "model": spec, "accuracy": accuracy[code],
                        "latency_ms": latency, "within_budget": latency <= budget_ms})
        return accuracy[code], latency

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return records, measure


def chosen(records: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """The accuracy/latency front among the distinct cells within budget, fastest first."""
    feasible = list({r["model"]: r for r in records if r["within_budget"]}.values())
    if not feasible:
        return []
    mask = pareto_mask([r["accuracy"] for r in feasible], [r["latency_ms"] for r in feasible])
    return sorted((r for r, on in zip(feasible, mask, strict=True) if on), key=lambda r: r["latency_ms"])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accuracy", required=True, help="CSV with columns model,accuracy (NAS-Bench-201 specs)")
    p.add_argument("--device", required=True, help="device name or profile TOML")
    p.add_argument("--budget-ms", type=float, required=True, help="latency budget in ms")
    p.add_argument("--trials", type=int, default=400)
    p.add_argument("--population", type=int, default=40, help="NSGA-II population size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default=nasbench201.DEFAULT_DATASET, choices=tuple(nasbench201.DATASETS))
    p.add_argument("--variant", default="pytorch", choices=nasbench201.VARIANTS)
    p.add_argument("--out", required=True, help="output folder (created)")
    args = p.parse_args(argv)
    try:
        table = accuracy_by_code(args.accuracy, args.dataset)
        records, measure = search(table, args.device, args.budget_ms, args.trials, args.seed, args.population,
                                  args.dataset, args.variant)
    except EdgesimError as exc:
        sys.stderr.write(f"constrained_search: error: {exc}\n")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    columns = ["trial", "model", "accuracy", "latency_ms", "within_budget"]
    write_table(columns, [[r[c] for c in columns] for r in records], "csv", out / "trace.csv")
    front = chosen(records)
    write_table(columns, [[r[c] for c in columns] for r in front], "csv", out / "front.csv")
    print(f"{len(records)} cells evaluated on {args.device} ({measure}, budget {args.budget_ms:g} ms); "
          f"{sum(bool(r['within_budget']) for r in records)} within budget; chosen:")
    for r in front:
        print(f"  {r['accuracy']:7.3f}  {r['latency_ms']:8.4f} ms  {r['model']}")
    if not front:
        print("  none: no evaluated cell met the budget")
    print(f"-> {out / 'trace.csv'}, {out / 'front.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
