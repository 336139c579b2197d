"""The feature registry: named account features, their parameters, and annotation.

A feature is computed for a whole queryset of accounts at once, as one ORM expression
per row (NULL means missing), optionally as of a past moment; what it reads from other
tables comes from frames (`frames.py`), one grouped query per source. The playbook engine,
score models and scoreboards all read accounts through this vocabulary.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Expression, F, QuerySet
from django.utils import timezone

from . import frames


class FeatureType(models.TextChoices):
    NUMBER = "number", "Number"
    TEXT = "text", "Text"
    CHOICE = "choice", "Choice"
    BOOL = "bool", "Yes/no"
    DATE = "date", "Date"


class ParamKind(models.TextChoices):
    SIGNAL_TYPES = "signal_types", "Signal types"
    INT = "int", "Whole number"
    TEXT = "text", "Text"
    CHOICE = "choice", "Choice"


@dataclass(frozen=True)
class Param:
    """A parameter of a feature: signal types, a window in days, a playbook, ..."""

    name: str
    kind: str
    required: bool = True
    default: object = None
    choices: tuple = ()
    min_value: int | None = None
    max_value: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Feature:
    """A named account feature.

    `compute(as_of=..., **params)` returns the ORM expression; `as_of` is None for "now".
    A feature without history (`has_history=False`) always gets `as_of=None`: backtests
    use today's value and say so. Subclasses may override `expression` instead.
    """

    key: str
    label: str
    type: str
    description: str
    params: tuple[Param, ...] = ()
    has_history: bool = True
    choices: Callable[[], list[tuple[str, str]]] | None = None
    compute: Callable[..., Expression] | None = field(default=None, kw_only=True, compare=False)

    def expression(self, *, as_of: datetime | None, **params) -> Expression:
        if self.compute is None:
            raise NotImplementedError(f"Feature {self.key!r} has no computation.")
        return self.compute(as_of=as_of if self.has_history else None, **params)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_REGISTRY: dict[str, Feature] = {}


def register(feature: Feature) -> Feature:
    """Add a feature to the catalog (higher apps call this in `AppConfig.ready()`).

    Registering the same key again replaces the entry, so a reloaded app stays consistent.
    """
    if feature.type not in FeatureType.values:
        raise ValueError(f"Feature {feature.key!r}: unknown type {feature.type!r}.")
    for param in feature.params:
        if param.kind not in ParamKind.values:
            raise ValueError(f"Feature {feature.key!r}: unknown parameter kind {param.kind!r}.")
    _REGISTRY[feature.key] = feature
    return feature


def get(key: str) -> Feature:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(
            f"Unknown feature {key!r}; known features: {', '.join(sorted(_REGISTRY))}."
        ) from None


def all_features() -> list[Feature]:
    return sorted(_REGISTRY.values(), key=lambda f: f.key)


def feature_choices() -> list[tuple[str, str]]:
    """(key, label) of every feature, for form dropdowns."""
    return [(f.key, f.label) for f in all_features()]


# Parameters -------------------------------------------------------------------------


def clean_params(key: str, params: dict | None) -> dict:
    """Validate and normalise a feature's parameters, checking signal types exist.

    Raises `ValidationError` whose dict names the parameter; unknown parameters are
    refused (a typo must not pass silently). Returns a new dict with every parameter
    the feature takes, defaults filled in, signal types as a sorted list of keys.
    """
    try:
        feature = get(key)
    except KeyError as exc:
        raise ValidationError({"feature": str(exc.args[0])}) from None
    cleaned = normalise_params(feature, params)
    for param in feature.params:
        if param.kind == ParamKind.SIGNAL_TYPES and cleaned.get(param.name):
            from signals.selectors import signal_type_keys

            unknown = sorted(set(cleaned[param.name]) - signal_type_keys())
            if unknown:
                raise ValidationError({param.name: f"Unknown signal type: {', '.join(unknown)}."})
    return cleaned


def normalise_params(feature: Feature, params: dict | None) -> dict:
    """`clean_params` without database checks (used when annotating: no extra query)."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "Give the parameters as an object."})
    unknown = sorted(set(params) - {p.name for p in feature.params})
    if unknown:
        raise ValidationError(
            {name: f"Feature {feature.key!r} takes no parameter {name!r}." for name in unknown}
        )
    cleaned = {}
    for param in feature.params:
        value = params.get(param.name)
        if value is None or value == "" or value == []:
            if param.required and param.default is None:
                raise ValidationError({param.name: "This parameter is required."})
            cleaned[param.name] = param.default
            continue
        cleaned[param.name] = _clean_value(param, value)
    return cleaned


def _clean_value(param: Param, value):
    if param.kind == ParamKind.SIGNAL_TYPES:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError({param.name: "Give a list of signal type keys."})
        if not value:
            raise ValidationError({param.name: "Give at least one signal type."})
        return sorted(set(value))
    if param.kind == ParamKind.INT:
        if isinstance(value, bool):
            raise ValidationError({param.name: "Give a whole number."})
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError({param.name: "Give a whole number."}) from None
        if isinstance(value, float) and number != value:
            raise ValidationError({param.name: "Give a whole number."})
        low, high = param.min_value, param.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValidationError({param.name: f"Give a number from {low} to {high}."})
        return number
    if param.kind == ParamKind.CHOICE:
        allowed = [c[0] if isinstance(c, tuple) else c for c in param.choices]
        if value not in allowed:
            raise ValidationError(
                {param.name: f"{value!r} is not one of: {', '.join(map(str, allowed))}."}
            )
        return value
    if not isinstance(value, str | int):
        raise ValidationError({param.name: "Give a text value."})
    return str(value)


def _frozen(params: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


# Annotation -------------------------------------------------------------------------

_pinned_now: ContextVar[datetime | None] = ContextVar("features_now", default=None)


def now() -> datetime:
    """ "Now" for the features being built: one moment per `annotate()` call (and per
    `same_moment()` block), so every window ending now ends at the same instant and
    features reading the same source share one frame."""
    return _pinned_now.get() or timezone.now()


@contextmanager
def same_moment() -> Iterator[datetime]:
    """Build everything inside with one "now" (nested blocks keep the outer one)."""
    moment = now()
    token = _pinned_now.set(moment)
    try:
        yield moment
    finally:
        _pinned_now.reset(token)


def annotate(
    queryset: QuerySet,
    requests: Iterable[tuple[str, str, dict]],
    *,
    as_of: datetime | None = None,
    expressions: dict[str, Expression] | None = None,
) -> QuerySet:
    """Annotate an Account queryset with features: `requests` are (alias, key, params).

    Each distinct (feature, parameters) pair is built once; further aliases of the same
    pair refer to the first with `F()`. Features computed from other tables read them
    through frames (`frames.py`): one grouped query per source over the accounts of
    `queryset`, joined once, whatever the number of features that read it.
    `expressions` are further annotations built from the same frames (score
    components, ARR on a given day), joined in the same pass. Parameters are
    normalised but not checked against the database (validate them with `clean_params`
    when they are saved), so annotating adds no query: the queryset stays one SELECT.
    """
    if as_of is not None and timezone.is_naive(as_of):
        raise ValueError("as_of must be an aware datetime.")
    annotations: dict[str, Expression] = {}
    computed: dict[tuple, str] = {}
    with same_moment():
        for alias, key, params in requests:
            feature = get(key)
            cleaned = normalise_params(feature, params)
            identity = (key, _frozen(cleaned))
            if identity in computed:
                annotations[alias] = F(computed[identity])
                continue
            annotations[alias] = feature.expression(as_of=as_of, **cleaned)
            computed[identity] = alias
    annotations.update(expressions or {})
    # Aliases referring to another are annotated after it, in a second call.
    direct = {a: e for a, e in annotations.items() if not isinstance(e, F)}
    refs = {a: e for a, e in annotations.items() if isinstance(e, F)}
    queryset = frames.attach(queryset, direct.values()).annotate(**direct)
    return queryset.annotate(**refs) if refs else queryset
