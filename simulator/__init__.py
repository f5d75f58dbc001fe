"""How long and how much energy: profiles, cost models, the engine, reports, studies, CLI."""

import graphs.spaces
import graphs.zoo
from graphs.errors import EdgesimError
from simulator.api import predict, resolve_profile
from simulator.costmodels import MODELS, model_class
from simulator.predictor import Predictor
from simulator.profile import EnergySpec, OffloadSpec, Profile, RuntimeSpec, load_profile, prepare_schema
from simulator.report import Report

# The zoo, the search spaces and every cost model load with the package, so that a first
# prediction pays for pricing, not for imports.
for _schema in (RuntimeSpec, EnergySpec, OffloadSpec, *(model_class(kind).hardware_schema for kind in MODELS)):
    prepare_schema(_schema)

__all__ = ["EdgesimError", "Predictor", "Profile", "Report", "graphs", "load_profile", "predict", "resolve_profile"]
