"""The one place playbooks read the feature catalog (`metrics.features`).

Conditions name catalog features by key; the compiler asks here for a feature's type,
parameters and choices, and for the annotations that compute features over accounts.
"""

from metrics import features as _features

FeatureType = _features.FeatureType
# A feature this app adds reads its tables through a frame (one grouped query).
GroupedFrame = _features.GroupedFrame
any_of = _features.any_of


def feature_get(key: str):
    """The feature with `key`, or None when the catalog has no such feature."""
    try:
        return _features.get(key)
    except (KeyError, LookupError):
        return None


def feature_all():
    return list(_features.all_features())


def feature_params_clean(key: str, params: dict) -> dict:
    return _features.clean_params(key, params)


def annotate(queryset, uses, *, as_of=None):
    """`uses` is [(alias, key, params)]; each feature is computed once per queryset."""
    return _features.annotate(queryset, list(uses), as_of=as_of)


def register(feature) -> None:
    _features.register(feature)
