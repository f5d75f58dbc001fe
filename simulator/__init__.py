"""How long and how much energy: hardware profiles, cost models, the engine, reports,
studies, CLI."""

import graphs.spaces
import graphs.zoo
from graphs.errors import EdgesimError
from simulator.api import predict, resolve_profile
from simulator.hardware.classes import CLASSES, schema_class
from simulator.hardware.common import EnergySpec, OffloadSpec, RuntimeSpec
from simulator.hardware.profile import Profile, load_profile, prepare_schema
from simulator.predictor import Predictor
from simulator.report import Report

# The zoo, the search spaces and every hardware schema load with the package, so that a
# first prediction pays for pricing, not for imports; a cost model is imported with the
# first profile of its kind (`simulator.costmodels`).
for _schema in (RuntimeSpec, EnergySpec, OffloadSpec, *(schema_class(kind) for kind in CLASSES)):
    prepare_schema(_schema)

__all__ = ["EdgesimError", "Predictor", "Profile", "Report", "graphs", "load_profile", "predict", "resolve_profile"]
