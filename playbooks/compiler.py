"""Conditions -> ORM filters over feature annotations. Nothing is ever eval'ed.

A playbook's published snapshot holds triggers, each a list of conditions
`(feature, params, operator, value)`. Each distinct `(feature, params)` becomes one
annotation alias (`feature_use_alias`), shared by every playbook in a run; a condition
becomes a `Q` over its alias; a trigger is the AND of its conditions, a playbook the OR
of its triggers, limited to its tiers and stages.

Missing values (NULL) make every operator false except `is_not_set`: SQL comparisons
with NULL are not true, and the negated operators (`ne`, `not_in`) add `IS NOT NULL`
explicitly, because Django's negation would otherwise let NULL through.
"""

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, IntegerField, Q, Value, When

from . import catalog
from .choices import Operator

T = catalog.FeatureType
NUMBER, TEXT, CHOICE, BOOL, DATE = (str(t) for t in (T.NUMBER, T.TEXT, T.CHOICE, T.BOOL, T.DATE))

COMPARISONS = {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE}
PRESENCE = {Operator.IS_SET, Operator.IS_NOT_SET}
LISTS = {Operator.IN, Operator.NOT_IN}
OPERATORS_BY_TYPE: dict[str, set[str]] = {
    NUMBER: {Operator.EQ, Operator.NE, Operator.BETWEEN, *COMPARISONS, *LISTS, *PRESENCE},
    DATE: {Operator.EQ, Operator.NE, Operator.BETWEEN, *COMPARISONS, *PRESENCE},
    TEXT: {Operator.EQ, Operator.NE, Operator.CONTAINS, *LISTS, *PRESENCE},
    CHOICE: {Operator.EQ, Operator.NE, *LISTS, *PRESENCE},
    BOOL: {Operator.EQ, Operator.NE, *PRESENCE},
}
MAX_LIST = 500


def operators_for(feature_type) -> list[str]:
    """The operators that fit a feature type, in the catalog order of `Operator`."""
    allowed = OPERATORS_BY_TYPE.get(str(feature_type), set())
    return [op for op in Operator.values if op in allowed]


# Validation ---------------------------------------------------------------------------


def condition_clean(*, feature: str, params, operator: str, value):
    """Check a condition against the catalog; returns the cleaned `(params, value)`.

    Raises ValidationError naming the field (`feature`, `params`, `operator`, `value`)
    and saying why.
    """
    spec = catalog.feature_get(feature)
    if spec is None:
        raise ValidationError(
            {"feature": f"Unknown feature {feature!r}: pick one from the catalog."}
        )
    if params in (None, ""):
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "The parameters are an object of name -> value."})
    try:
        params = catalog.feature_params_clean(feature, params)
    except ValidationError as exc:
        raise ValidationError({"params": _messages(exc)}) from None
    feature_type = str(spec.type)
    if operator not in Operator.values:
        raise ValidationError({"operator": f"Unknown operator {operator!r}."})
    if operator not in OPERATORS_BY_TYPE.get(feature_type, set()):
        allowed = ", ".join(operators_for(feature_type))
        raise ValidationError(
            {
                "operator": f"'{Operator(operator).label}' does not fit {spec.label!r}, "
                f"a {feature_type} feature; use one of: {allowed}."
            }
        )
    return params, _clean_value(spec, feature_type, operator, value)


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


def _clean_value(spec, feature_type: str, operator: str, value):
    def refuse(message):
        raise ValidationError({"value": f"{spec.label}: {message}"})

    if operator in PRESENCE:
        if value not in (None, "", [], {}):
            refuse(f"'{Operator(operator).label}' takes no value.")
        return None
    if operator == Operator.BETWEEN:
        if not isinstance(value, list) or len(value) != 2:
            refuse("'is between' takes two values, [low, high].")
        low, high = (_scalar(spec, feature_type, v, refuse) for v in value)
        if _as_python(feature_type, low) > _as_python(feature_type, high):
            refuse("the low end of 'is between' is above the high end.")
        return [low, high]
    if operator in LISTS:
        if not isinstance(value, list) or not value:
            refuse(f"'{Operator(operator).label}' takes a non-empty list.")
        if len(value) > MAX_LIST:
            refuse(f"a list holds at most {MAX_LIST} values.")
        return [_scalar(spec, feature_type, v, refuse) for v in value]
    if operator == Operator.CONTAINS:
        if not isinstance(value, str) or not value:
            refuse("'contains' takes some text.")
        return value
    return _scalar(spec, feature_type, value, refuse)


def _scalar(spec, feature_type: str, value, refuse):
    if feature_type == NUMBER:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            refuse(f"give a number, not {value!r}.")
        return value
    if feature_type == BOOL:
        if not isinstance(value, bool):
            refuse(f"give true or false, not {value!r}.")
        return value
    if feature_type == DATE:
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            refuse(f"give a date as YYYY-MM-DD, not {value!r}.")
        return value
    if not isinstance(value, str) or not value:
        refuse(f"give text, not {value!r}.")
    if feature_type == CHOICE and spec.choices is not None:
        allowed = [c[0] if isinstance(c, list | tuple) else c for c in spec.choices()]
        if allowed and value not in [str(c) for c in allowed]:
            refuse(f"{value!r} is not one of: {', '.join(str(c) for c in allowed)}.")
    return value


def _as_python(feature_type: str, value):
    if feature_type == DATE:
        return dt.date.fromisoformat(value)
    return value


# Compilation --------------------------------------------------------------------------


def feature_use_alias(key: str, params: dict) -> str:
    """A stable annotation name for one `(feature, params)`: equal uses share it."""
    canonical = json.dumps([key, params], sort_keys=True, separators=(",", ":"), default=str)
    return "f_" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CompiledCondition:
    feature: str
    params: dict
    operator: str
    value: object
    alias: str

    def q(self) -> Q:
        return condition_q(self.alias, self.operator, self.value, self.value_type)

    @property
    def value_type(self) -> str:
        spec = catalog.feature_get(self.feature)
        return str(spec.type) if spec else TEXT


@dataclass
class CompiledPlaybook:
    """A snapshot compiled to Qs; `uses` are the annotations it needs."""

    key: str
    triggers: list[list[CompiledCondition]]
    trigger_names: list[str]
    scope: Q
    uses: dict[str, tuple[str, dict]] = field(default_factory=dict)

    def trigger_q(self, index: int) -> Q:
        q = Q()
        for condition in self.triggers[index]:
            q &= condition.q()
        return q

    def match_q(self) -> Q:
        """Any trigger matches, within the playbook's tiers and stages."""
        q = Q(pk__in=[])
        for index in range(len(self.triggers)):
            q |= self.trigger_q(index)
        return self.scope & q

    def matched_trigger(self) -> Case:
        """The index of the first matching trigger, NULL when none matches."""
        return Case(
            *(
                When(self.scope & self.trigger_q(i), then=Value(i))
                for i in range(len(self.triggers))
            ),
            default=Value(None),
            output_field=IntegerField(),
        )

    def condition_passes(self) -> dict[str, Case]:
        """`c_<trigger>_<condition>` -> whether that condition holds (for explain)."""
        return {
            f"c_{t}_{c}": Case(
                When(cond.q(), then=Value(True)), default=Value(False), output_field=BooleanField()
            )
            for t, conditions in enumerate(self.triggers)
            for c, cond in enumerate(conditions)
        }

    def evidence(self, row: dict, trigger_index: int) -> dict:
        """The matched trigger and each of its conditions with the value that satisfied it."""
        return {
            "trigger": trigger_index,
            "trigger_name": self.trigger_names[trigger_index],
            "conditions": [
                {
                    "feature": cond.feature,
                    "params": cond.params,
                    "operator": cond.operator,
                    "value": cond.value,
                    "actual": jsonable(row.get(cond.alias)),
                }
                for cond in self.triggers[trigger_index]
            ],
        }


def compile_snapshot(snapshot: dict, *, key: str = "") -> CompiledPlaybook:
    """Compile a published snapshot; raises ValidationError when it no longer validates
    (a feature removed from the catalog, say)."""
    triggers, names, uses = [], [], {}
    for t_index, trigger in enumerate(snapshot.get("triggers", [])):
        conditions = []
        for condition in trigger.get("conditions", []):
            params, value = condition_clean(
                feature=condition["feature"],
                params=condition.get("params") or {},
                operator=condition["operator"],
                value=condition.get("value"),
            )
            alias = feature_use_alias(condition["feature"], params)
            uses[alias] = (condition["feature"], params)
            conditions.append(
                CompiledCondition(condition["feature"], params, condition["operator"], value, alias)
            )
        if not conditions:
            raise ValidationError({"triggers": f"Trigger {t_index + 1} has no condition."})
        triggers.append(conditions)
        names.append(trigger.get("name") or f"Trigger {t_index + 1}")
    if not triggers:
        raise ValidationError({"triggers": "A playbook needs at least one trigger."})
    scope = Q()
    if snapshot.get("tiers"):
        scope &= Q(tier__name__in=snapshot["tiers"])
    if snapshot.get("stages"):
        scope &= Q(stage__in=snapshot["stages"])
    return CompiledPlaybook(key=key, triggers=triggers, trigger_names=names, scope=scope, uses=uses)


def condition_q(alias: str, operator: str, value, value_type: str) -> Q:
    if value_type == DATE and value is not None:
        value = (
            [dt.date.fromisoformat(v) for v in value]
            if isinstance(value, list)
            else dt.date.fromisoformat(value)
        )
    present = Q(**{f"{alias}__isnull": False})
    match operator:
        case Operator.EQ:
            return present & Q(**{alias: value})
        case Operator.NE:
            return present & ~Q(**{alias: value})
        case Operator.GT | Operator.GTE | Operator.LT | Operator.LTE:
            return present & Q(**{f"{alias}__{operator}": value})
        case Operator.BETWEEN:
            return present & Q(**{f"{alias}__gte": value[0], f"{alias}__lte": value[1]})
        case Operator.IN:
            return present & Q(**{f"{alias}__in": value})
        case Operator.NOT_IN:
            return present & ~Q(**{f"{alias}__in": value})
        case Operator.IS_SET:
            return present
        case Operator.IS_NOT_SET:
            return Q(**{f"{alias}__isnull": True})
        case Operator.CONTAINS:
            return present & Q(**{f"{alias}__icontains": value})
    raise ValueError(f"Unknown operator {operator!r}")


def jsonable(value):
    """A feature value as evidence: exact decimals stay exact (as text when fractional)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
