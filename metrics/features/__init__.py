"""The feature catalog: the vocabulary of scores, playbook conditions and scoreboards.

Add a feature with one `register(Feature(...))` (built-ins live in `catalog.py`; higher
apps register theirs in `AppConfig.ready()`). See `catalog.py` for the time semantics
every feature shares, and `frames.py` for how features that read other tables are
computed for the whole set at once.
"""

from . import catalog  # noqa: F401  (registers the built-in features)
from .frames import GroupedFrame, LatestFrame, any_of
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
    now,
    register,
    same_moment,
)

__all__ = [
    "Feature",
    "FeatureType",
    "GroupedFrame",
    "LatestFrame",
    "Param",
    "ParamKind",
    "all_features",
    "annotate",
    "any_of",
    "clean_params",
    "feature_choices",
    "get",
    "normalise_params",
    "now",
    "register",
    "same_moment",
]
