"""The engine: runtime rewrites (`rewrite`), placement on accelerator or host
(`placement`), the graph-level terms of an inference (`terms`), pricing a whole graph
(`pricing.run`, `pricing.simulate`) and pricing search-space networks segment by segment
(`fastpath`)."""

from simulator.engine.pricing import cost_model, host_model, run, simulate

__all__ = ["cost_model", "host_model", "run", "simulate"]
