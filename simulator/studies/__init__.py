"""Studies users run on top of the engine: Pareto fronts, what-if sweeps, the seed study."""
