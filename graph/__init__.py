"""The transaction graph engine: verification, credit transmission, contagion, graph features.

Pure functions over flow DataFrames and arrays (no I/O, no settings, nothing of ours outside
graph/), so the same call serves training, batch scoring and the API.
"""

from graph.catalog import FEATURE_NAMES, FEATURES
from graph.contagion import debtrank
from graph.dictionary import Direction, FeatureSpec
from graph.edges import neighbourhood, to_networkx
from graph.features import build_features
from graph.flags import FLAGS
from graph.params import GraphParams
from graph.queries import (
    build_edges,
    core_default_scenario,
    credit_transmission,
    red_flags,
    verify_invoices,
)
from graph.ratings import MASTER_SCALE, RATING_GRADES, rating_quality

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FLAGS",
    "MASTER_SCALE",
    "RATING_GRADES",
    "Direction",
    "FeatureSpec",
    "GraphParams",
    "build_edges",
    "build_features",
    "core_default_scenario",
    "credit_transmission",
    "debtrank",
    "neighbourhood",
    "rating_quality",
    "red_flags",
    "to_networkx",
    "verify_invoices",
]
