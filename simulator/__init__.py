"""How long and how much energy: hardware profiles, cost models, the engine, reports,
studies, CLI."""

import graphs.spaces
import graphs.zoo
from graphs.errors import EdgesimError
from simulator.api import predict, resolve_profile
from simulator.costmodels import model_class
from simulator.hardware.classes import CLASSES, schema_class
from simulator.hardware.common import EnergySpec, OffloadSpec, RuntimeSpec
from simulator.hardware.profile import Profile, load_profile, prepare_schema
from simulator.predictor import Predictor
from simulator.report import Report

# The zoo, the search spaces, every hardware schema and every cost model load with the
# package, so that a first prediction pays for pricing, not for imports (measured: a cost
# model imported on first use adds about half to a cold `predict`).
for _kind in CLASSES:
    model_class(_kind)
for _schema in (RuntimeSpec, EnergySpec, OffloadSpec, *(schema_class(kind) for kind in CLASSES)):
    prepare_schema(_schema)

__all__ = ["EdgesimError", "Predictor", "Profile", "Report", "graphs", "load_profile", "predict", "resolve_profile"]
