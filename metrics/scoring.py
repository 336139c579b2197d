"""Score models: validation, raw values for every account at once, points, breakdowns.

How a score is made (DESIGN §5):

- Each component gives a raw value per account: a catalog feature, or an aggregate of
  signals (count, sum, average, latest, or points = signals x the type's points) over
  the last N whole UTC days (today, so far, included; as of a past midnight, the N days
  before it), optionally decayed (a signal `half_life_days` old counts half) and
  multiplied by the sender's buying role. Whole days let counts and sums come from the
  daily rollups; role multipliers need the contact, so they read the signals table.
- The raw value maps to 0-100 points: linear between two bounds (clipped), steps
  (the highest threshold reached), or a mapping of values (text, choice, yes/no).
- Score = the weighted mean of the points of the components that have a value; a
  missing raw value leaves its component out and the others' weights are renormalised,
  and the breakdown says so. A component reading another model's score takes the value
  computed earlier in the same run (models are computed in dependency order; a cycle is
  refused when the model is saved).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.db.models import (
    Case,
    F,
    FloatField,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Power, TruncDate

from accounts.choices import BuyingRole
from signals.selectors import signal_type_keys

from . import features
from .choices import Aggregate, ComponentSource, Normalisation
from .dates import ceil_day, day_start
from .features.catalog import VALUE, DaysBetween
from .features.sources import days_total, latest_value, signals_aggregate

FLOAT = FloatField()

# Features that read a score model's stored value: a component using one depends on it.
SCORE_FEATURES = {
    "fit_score": "fit",
    "intent_score": "intent",
    "engagement_score": "engagement",
    "health_score": "health",
    "health_band": "health",
    "health_change_30d": "health",
}


# Validation -------------------------------------------------------------------------


def component_errors(component) -> dict[str, str]:
    """What makes this component impossible to compute, by field (empty when fine)."""
    errors = {}
    if component.source == ComponentSource.FEATURE:
        if not component.feature:
            return {"feature": "Choose a feature."}
        try:
            feature = features.get(component.feature)
        except KeyError as exc:
            return {"feature": str(exc.args[0])}
        try:
            component.feature_params = features.clean_params(
                component.feature, component.feature_params or {}
            )
        except Exception as exc:  # ValidationError with a dict naming the parameter
            detail = getattr(exc, "message_dict", None) or {"": [str(exc)]}
            errors["feature_params"] = "; ".join(
                f"{name}: {' '.join(msgs)}" if name else " ".join(msgs)
                for name, msgs in detail.items()
            )
        numeric = feature.type in (features.FeatureType.NUMBER,)
        if numeric and component.normalisation == Normalisation.MAPPING:
            errors["normalisation"] = f"{feature.label} is a number: use linear or steps."
        if not numeric and component.normalisation != Normalisation.MAPPING:
            errors["normalisation"] = f"{feature.label} is not a number: use a mapping."
    else:
        keys = component.signal_types
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            errors["signal_types"] = "Give a list of signal type keys."
        else:
            unknown = sorted(set(keys) - signal_type_keys())
            if unknown:
                errors["signal_types"] = f"Unknown signal type: {', '.join(unknown)}."
        if component.aggregate not in Aggregate.values:
            errors["aggregate"] = "Choose an aggregate."
        if component.normalisation == Normalisation.MAPPING:
            errors["normalisation"] = "A signal aggregate is a number: use linear or steps."
        if component.aggregate == Aggregate.LATEST and component.half_life_days:
            errors["half_life_days"] = "A latest value does not decay: leave the half-life empty."
        roles = component.role_multipliers
        if not isinstance(roles, dict):
            errors["role_multipliers"] = 'Give an object, e.g. {"decision_maker": 2}.'
        else:
            bad = sorted(set(roles) - set(BuyingRole.values))
            if bad:
                errors["role_multipliers"] = f"Not a buying role: {', '.join(bad)}."
            elif not all(_number(v) and v >= 0 for v in roles.values()):
                errors["role_multipliers"] = "Multipliers are numbers >= 0."
        weights = component.type_weights
        if not isinstance(weights, dict) or not all(_number(v) for v in weights.values()):
            errors["type_weights"] = 'Give an object of numbers, e.g. {"meeting.held": 20}.'
    errors.update(_normalisation_errors(component))
    return errors


def _number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _normalisation_errors(component) -> dict[str, str]:
    if component.normalisation == Normalisation.LINEAR:
        if component.lower is None or component.upper is None:
            return {"upper": "Linear normalisation needs both bounds."}
        if component.lower == component.upper:
            return {"upper": "The bounds must differ."}
    elif component.normalisation == Normalisation.STEPS:
        steps = component.steps
        ok = (
            isinstance(steps, list)
            and steps
            and all(
                isinstance(s, list | tuple)
                and len(s) == 2
                and _number(s[0])
                and _number(s[1])
                and 0 <= s[1] <= 100
                for s in steps
            )
        )
        if not ok:
            return {"steps": "Give [[threshold, points], ...] with points from 0 to 100."}
    elif component.normalisation == Normalisation.MAPPING:
        mapping = component.steps
        ok = (
            isinstance(mapping, dict)
            and mapping
            and all(_number(v) and 0 <= v <= 100 for v in mapping.values())
        )
        if not ok:
            return {"steps": 'Give {"value": points, ...} with points from 0 to 100.'}
    return {}


def dependencies(components) -> set[str]:
    """Model keys the components read (through score features)."""
    return {
        SCORE_FEATURES[c.feature]
        for c in components
        if c.source == ComponentSource.FEATURE and c.feature in SCORE_FEATURES
    }


def cycle_error(model_key: str, components, graph: dict[str, set[str]]) -> str | None:
    """A message when `model_key` with these components would depend on itself.

    `graph` maps the other models' keys to the keys they read.
    """
    graph = {**graph, model_key: dependencies(components)}
    path = _find_cycle(graph, model_key)
    if path:
        return "This model depends on itself: " + " -> ".join(path) + "."
    return None


def _find_cycle(graph, start):
    stack = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                stack.append((nxt, [*path, nxt]))
    return None


def dependency_order(models_with_components) -> list:
    """Models sorted so that each comes after the models it reads; cycles raise."""
    by_key = {m.key: (m, comps) for m, comps in models_with_components}
    order, done, visiting = [], set(), set()

    def visit(key, trail):
        if key in done or key not in by_key:
            return
        if key in visiting:
            raise ValueError("Score models depend on each other: " + " -> ".join(trail))
        visiting.add(key)
        for dep in sorted(dependencies(by_key[key][1])):
            visit(dep, [*trail, dep])
        visiting.discard(key)
        done.add(key)
        order.append(by_key[key])

    for key in sorted(by_key):
        visit(key, [key])
    return order


# Raw values -------------------------------------------------------------------------


def _window(component, moment: datetime):
    end_day = ceil_day(moment).date()  # exclusive: today (so far) is the last day
    return end_day - timedelta(days=component.window_days), end_day


def _decay(component, last_day, day_expression):
    if not component.half_life_days:
        return Value(1.0)
    age = Cast(DaysBetween(Value(last_day), day_expression), FLOAT)
    return Power(Value(0.5), age / Value(float(component.half_life_days)))


def _type_weight(component, prefix=""):
    overrides = [
        When(**{f"{prefix}type__key": key}, then=Value(float(weight)))
        for key, weight in sorted((component.type_weights or {}).items())
    ]
    default = Cast(F(f"{prefix}type__default_weight"), FLOAT)
    return Case(*overrides, default=default, output_field=FLOAT) if overrides else default


def _role_multiplier(component):
    cases = [
        When(contact__buying_role=role, then=Value(float(mult)))
        for role, mult in sorted(component.role_multipliers.items())
    ]
    return Case(*cases, default=Value(1.0), output_field=FLOAT)


def signal_expression(component, *, as_of: datetime | None):
    """The raw value of a signal component for every account (see the module doc).

    Read through frames: give it to `features.annotate(..., expressions=...)`, which
    computes every component of a run in one pass over the rollups (or the signals,
    for role multipliers).
    """
    moment = as_of if as_of is not None else features.now()
    first_day, end_day = _window(component, moment)
    last_day = end_day - timedelta(days=1)
    types = component.signal_types
    aggregate = component.aggregate
    if aggregate == Aggregate.LATEST:
        return Cast(latest_value(types, moment, day_start(first_day), VALUE), FLOAT)
    if component.role_multipliers:
        factor = _decay(component, last_day, TruncDate("occurred_at", tzinfo=UTC))
        factor = factor * _role_multiplier(component)
        count, value = Value(1.0), Cast(Coalesce("value", Value(0)), FLOAT)
        ranges = [(day_start(first_day), moment)]

        def total(part, expression):
            return signals_aggregate(
                ("component", component.pk, part),
                types,
                ranges,
                lambda where: Sum(expression, filter=where, output_field=FLOAT),
                FLOAT,
            )

    else:
        factor = _decay(component, last_day, F("day"))
        count, value = Cast(F("count"), FLOAT), Cast(F("value_sum"), FLOAT)

        def total(part, expression):
            key = ("component", component.pk, part)
            return days_total(key, types, first_day, end_day, expression, FLOAT)

    if aggregate == Aggregate.COUNT:
        return Coalesce(total("count", count * factor), Value(0.0))
    if aggregate == Aggregate.SUM:
        return Coalesce(total("sum", value * factor), Value(0.0))
    if aggregate == Aggregate.POINTS:
        return Coalesce(total("points", count * factor * _type_weight(component)), Value(0.0))
    # Average value per signal (decay weighs recent signals more); none -> missing.
    return total("sum", value * factor) / NullIf(total("count", count * factor), Value(0.0))


# Points -----------------------------------------------------------------------------


def points(component, raw) -> float | None:
    """Map a raw value to 0-100 points; None when the raw value is missing."""
    if raw is None:
        return None
    if component.normalisation == Normalisation.MAPPING:
        key = str(raw).lower() if isinstance(raw, bool) else str(raw)
        mapping = component.steps
        return float(mapping.get(key, mapping.get("default", 0)))
    raw = float(raw)
    if component.normalisation == Normalisation.STEPS:
        reached = [(t, p) for t, p in component.steps if raw >= t]
        return float(max(reached)[1]) if reached else 0.0
    lower, upper = component.lower, component.upper
    share = (raw - lower) / (upper - lower)
    return max(0.0, min(100.0, share * 100.0))


def band_of(bands, score: Decimal | None) -> str:
    """The band of the highest minimum the score reaches ('' when none or no score)."""
    return _band_in(sorted(bands, key=lambda b: b.min_score, reverse=True), score)


def _band_in(highest_first, score: Decimal | None) -> str:
    if score is None:
        return ""
    for band in highest_first:
        if score >= band.min_score:
            return band.name
    return ""


# Computation ------------------------------------------------------------------------


@dataclass
class ScoreResult:
    score: Decimal | None
    band: str
    breakdown: dict


@lru_cache(maxsize=1 << 16)
def _round(value, places="0.01") -> Decimal:
    # Half up on the value as printed; a recompute rounds a few values per component and
    # account, and the same ones come back again and again (0, 100, the steps' points).
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _plain(raw):
    if isinstance(raw, Decimal):
        return float(raw)
    return raw


def combine(components, raws: dict[int, object]) -> tuple[Decimal | None, dict]:
    """Score and breakdown from each component's raw value (by component id)."""
    return _combine(components, [raws.get(component.pk) for component in components])


def _combine(components, raws) -> tuple[Decimal | None, dict]:
    """`combine` with the raw values in the order of `components`."""
    parts, total_weight = [], 0.0
    for component, raw in zip(components, raws, strict=True):
        pts = points(component, raw)
        weight = float(component.weight)
        parts.append((component, raw, pts, weight))
        if pts is not None:
            total_weight += weight
    missing = [c.name for c, _, pts, w in parts if pts is None and w > 0]
    score = None
    if total_weight > 0:
        score = _round(sum(p * w for _, _, p, w in parts if p is not None) / total_weight)
    rows = []
    for component, raw, pts, weight in parts:
        share = weight / total_weight if pts is not None and total_weight else 0.0
        rows.append(
            {
                "component": component.name,
                "source": component.feature or ",".join(component.signal_types),
                "raw": _plain(raw),
                "points": None if pts is None else float(_round(pts)),
                "weight": weight,
                "effective_weight": round(share, 4),
                "contribution": None if pts is None else float(_round(pts * share)),
                "missing": pts is None,
            }
        )
    breakdown = {"components": rows, "missing": missing, "renormalised": bool(missing)}
    if missing and score is not None:
        breakdown["note"] = (
            f"No value for {', '.join(missing)}: left out, the other weights renormalised."
        )
    elif score is None:
        breakdown["note"] = "No component has a value: no score."
    return score, breakdown


class ScorePlan:
    """One model's components and bands, ready to score many accounts.

    Each distinct tuple of raw values is scored once and its result shared: many
    accounts have the same raw values (no signals, the same tier and country), and a
    recompute of 100,000 accounts would otherwise build the same breakdown thousands of
    times. Results are not to be modified.
    """

    def __init__(self, components, bands):
        self.components = list(components)
        self.bands = sorted(bands, key=lambda b: b.min_score, reverse=True)
        self._scored: dict[tuple, ScoreResult] = {}

    def result(self, raws: tuple) -> ScoreResult:
        # The types are part of the key: 1, 1.0 and True are equal but read differently.
        key = (raws, tuple(map(type, raws)))
        scored = self._scored.get(key)
        if scored is None:
            score, breakdown = _combine(self.components, raws)
            scored = self._scored[key] = ScoreResult(score, _band_in(self.bands, score), breakdown)
        return scored


def compute_all(accounts, *, as_of: datetime | None = None, models=None) -> dict:
    """{model key: {account id: ScoreResult}} for every active model and account.

    One query for every model's components (annotated over `accounts` through the
    feature frames); the scores are then combined in dependency order, so a component
    reading a model computed in this run takes its fresh value.
    """
    from .models import ScoreModel

    if models is None:
        models = ScoreModel.objects.filter(is_active=True).prefetch_related("components", "bands")
    ordered = dependency_order([(m, list(m.components.all())) for m in models])
    in_run = {model.key for model, _ in ordered}
    fresh: dict[int, str] = {}  # component id -> the model of this run it reads
    requests, signal_exprs = [], {}
    with features.same_moment():
        for _, components in ordered:
            for component in components:
                alias = f"c{component.pk}"
                if component.source == ComponentSource.FEATURE:
                    source_model = SCORE_FEATURES.get(component.feature)
                    if source_model in in_run and component.feature.endswith("_score"):
                        fresh[component.pk] = source_model
                        continue
                    requests.append((alias, component.feature, component.feature_params))
                else:
                    signal_exprs[alias] = signal_expression(component, as_of=as_of)
        queryset = features.annotate(
            accounts.order_by(), requests, as_of=as_of, expressions=signal_exprs
        )
    aliases = [r[0] for r in requests] + list(signal_exprs)
    position = {alias: index for index, alias in enumerate(aliases, start=1)}
    results: dict[str, dict[int, ScoreResult]] = {model.key: {} for model, _ in ordered}
    # Per model: where each component's raw value comes from, a row position or the
    # fresh results of a model computed before it in this run.
    plans = [
        (
            results[model.key],
            ScorePlan(components, model.bands.all()),
            [fresh.get(c.pk) or position[f"c{c.pk}"] for c in components],
        )
        for model, components in ordered
    ]
    for row in queryset.values_list("pk", *aliases):
        account_id = row[0]
        for into, plan, sources in plans:
            raws = tuple(
                row[source] if isinstance(source, int) else _score_of(results[source], account_id)
                for source in sources
            )
            into[account_id] = plan.result(raws)
    return results


def _score_of(results: dict[int, ScoreResult], account_id: int) -> float | None:
    result = results.get(account_id)
    return None if result is None or result.score is None else float(result.score)
