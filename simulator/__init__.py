"""How long and how much energy: profiles, cost models, the engine, reports, studies, CLI."""

from graphs.errors import EdgesimError
from simulator.api import predict, resolve_profile
from simulator.profile import Profile, load_profile
from simulator.report import Report

__all__ = ["EdgesimError", "Profile", "Report", "load_profile", "predict", "resolve_profile"]
