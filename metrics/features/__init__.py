"""The feature catalog: the vocabulary of scores, playbook conditions and scoreboards.

Add a feature with one `register(Feature(...))` (built-ins live in `catalog.py`; higher
apps register theirs in `AppConfig.ready()`). See `catalog.py` for the time semantics
every feature shares.
"""

from . import catalog  # noqa: F401  (registers the built-in features)
from .registry import (
    Feature,
    FeatureType,
    Param,
    ParamKind,
    all_features,
    annotate,
    clean_params,
    feature_choices,
    get,
    normalise_params,
    register,
)

__all__ = [
    "Feature",
    "FeatureType",
    "Param",
    "ParamKind",
    "all_features",
    "annotate",
    "clean_params",
    "feature_choices",
    "get",
    "normalise_params",
    "register",
]
