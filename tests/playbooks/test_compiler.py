"""Conditions compile to ORM filters: every operator on every feature type, missing
values, and the refusals that name the field and the reason."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Stage
from playbooks.compiler import compile_snapshot, condition_clean, feature_use_alias
from playbooks.evaluation import match_accounts
from tests.accounts.factories import AccountFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(renewal_feature):
    return {
        "A": AccountFactory(
            name="A",
            employee_count=50,
            industry="Software",
            stage=Stage.PROSPECT,
            renewal_date=date(2027, 1, 10),
        ),
        "B": AccountFactory(
            name="B",
            employee_count=200,
            industry="Retail Banking",
            stage=Stage.CUSTOMER,
            partner=PartnerFactory(),
            renewal_date=date(2027, 6, 1),
        ),
        "C": AccountFactory(name="C", employee_count=None, industry="", stage=Stage.CHURNED),
    }


def snapshot(*triggers, **settings):
    return {
        **settings,
        "triggers": [
            {"name": f"T{i}", "conditions": [dict(c) for c in conditions]}
            for i, conditions in enumerate(triggers)
        ],
    }


def cond(feature, operator, value=None, params=None):
    return {"feature": feature, "operator": operator, "value": value, "params": params or {}}


def matching(*triggers, **settings) -> set[str]:
    compiled = compile_snapshot(snapshot(*triggers, **settings), key="t")
    matched = match_accounts([compiled]).by_playbook["t"]
    return set(
        AccountFactory._meta.model.objects.filter(pk__in=matched).values_list("name", flat=True)
    )


CASES = [
    # numbers (C has no employee count: missing)
    ("employee_count", "eq", 200, {"B"}),
    ("employee_count", "ne", 200, {"A"}),
    ("employee_count", "gt", 50, {"B"}),
    ("employee_count", "gte", 50, {"A", "B"}),
    ("employee_count", "lt", 200, {"A"}),
    ("employee_count", "lte", 200, {"A", "B"}),
    ("employee_count", "between", [50, 100], {"A"}),
    ("employee_count", "in", [50, 7], {"A"}),
    ("employee_count", "not_in", [50], {"B"}),
    ("employee_count", "is_set", None, {"A", "B"}),
    ("employee_count", "is_not_set", None, {"C"}),
    # text (a blank industry is missing)
    ("industry", "eq", "Software", {"A"}),
    ("industry", "ne", "Software", {"B"}),
    ("industry", "contains", "bank", {"B"}),
    ("industry", "in", ["Software", "Retail Banking"], {"A", "B"}),
    ("industry", "not_in", ["Software"], {"B"}),
    ("industry", "is_set", None, {"A", "B"}),
    ("industry", "is_not_set", None, {"C"}),
    # choices
    ("stage", "eq", "customer", {"B"}),
    ("stage", "ne", "customer", {"A", "C"}),
    ("stage", "in", ["prospect", "churned"], {"A", "C"}),
    ("stage", "not_in", ["prospect"], {"B", "C"}),
    # booleans
    ("has_partner", "eq", True, {"B"}),
    ("has_partner", "eq", False, {"A", "C"}),
    ("has_partner", "ne", True, {"A", "C"}),
    # dates (C has no renewal date)
    ("test_renewal_date", "gt", "2027-03-01", {"B"}),
    ("test_renewal_date", "lte", "2027-01-10", {"A"}),
    ("test_renewal_date", "eq", "2027-06-01", {"B"}),
    ("test_renewal_date", "between", ["2027-01-01", "2027-12-31"], {"A", "B"}),
    ("test_renewal_date", "ne", "2027-06-01", {"A"}),
    ("test_renewal_date", "is_not_set", None, {"C"}),
]


@pytest.mark.parametrize(("feature", "operator", "value", "expected"), CASES)
def test_each_operator_on_each_feature_type(accounts, feature, operator, value, expected):
    assert matching([cond(feature, operator, value)]) == expected


def test_all_conditions_of_a_trigger_and_any_trigger(accounts):
    big = cond("employee_count", "gte", 100)
    software = cond("industry", "eq", "Software")
    assert matching([big, software]) == set()
    assert matching([big], [software]) == {"A", "B"}


def test_tiers_and_stages_limit_the_playbook(accounts):
    anyone = cond("employee_count", "is_set")
    assert matching([anyone], stages=["customer"]) == {"B"}
    assert matching([anyone], tiers=["Tier 1"]) == set()


def test_evidence_names_the_first_matching_trigger_and_the_values(accounts):
    compiled = compile_snapshot(
        snapshot(
            [cond("employee_count", "gte", 1000)],
            [cond("employee_count", "gte", 100), cond("has_partner", "eq", True)],
        ),
        key="t",
    )
    evidence = match_accounts([compiled]).by_playbook["t"][accounts["B"].pk]
    assert evidence == {
        "trigger": 1,
        "trigger_name": "T1",
        "conditions": [
            {
                "feature": "employee_count",
                "params": {},
                "operator": "gte",
                "value": 100,
                "actual": 200,
            },
            {
                "feature": "has_partner",
                "params": {},
                "operator": "eq",
                "value": True,
                "actual": True,
            },
        ],
    }


def test_one_feature_with_the_same_parameters_is_one_annotation():
    a = feature_use_alias("signal_count", {"signal_types": ["web.visit"], "days": 7})
    b = feature_use_alias("signal_count", {"days": 7, "signal_types": ["web.visit"]})
    c = feature_use_alias("signal_count", {"signal_types": ["web.visit"], "days": 30})
    assert a == b != c


def test_signal_count_in_a_window(accounts):
    from datetime import timedelta

    from django.utils import timezone

    from signals.services import signals_ingest

    now = timezone.now()
    signals_ingest(
        items=[
            {
                "source": "intent",
                "type": "intent.surge",
                "occurred_at": (now - timedelta(days=days)).isoformat(),
                "external_id": f"s-{n}",
                "account": {"id": accounts["A"].pk},
            }
            for n, days in enumerate([1, 2, 3, 10])
        ]
    )
    surge = {"signal_types": ["intent.surge"], "days": 7}
    # three of the four are within the last 7 x 24 hours
    assert matching([cond("signal_count", "gte", 3, surge)]) == {"A"}
    assert matching([cond("signal_count", "gte", 4, surge)]) == set()
    assert matching([cond("signal_count", "eq", 0, surge)]) == {"B", "C"}


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        (cond("warp_factor", "gt", 3), "feature", "Unknown feature 'warp_factor'"),
        (cond("industry", "gt", "x"), "operator", "does not fit 'Industry', a text feature"),
        (cond("employee_count", "contains", "5"), "operator", "does not fit"),
        (cond("has_partner", "gt", 1), "operator", "does not fit"),
        (cond("employee_count", "gte", "100"), "value", "give a number, not '100'"),
        (cond("employee_count", "gte", True), "value", "give a number"),
        (cond("has_partner", "eq", "yes"), "value", "give true or false"),
        (cond("employee_count", "between", [10, 5]), "value", "low end"),
        (cond("employee_count", "between", 5), "value", "two values"),
        (cond("employee_count", "in", []), "value", "non-empty list"),
        (cond("employee_count", "is_set", 3), "value", "takes no value"),
        (cond("stage", "eq", "won"), "value", "'won' is not one of"),
        (cond("test_renewal_date", "gt", "next week"), "value", "YYYY-MM-DD"),
        (
            cond("signal_count", "gte", 3, {"signal_types": ["intent.surge"], "days": 0}),
            "params",
            "days",
        ),
        (cond("signal_count", "gte", 3, {"signal_types": ["no.such"]}), "params", "no.such"),
        (cond("employee_count", "gte", 3, {"days": 7}), "params", "takes no parameter"),
        (cond("employee_count", "around", 3), "operator", "Unknown operator"),
    ],
)
def test_bad_conditions_are_refused_naming_the_field(renewal_feature, condition, field, message):
    with pytest.raises(ValidationError) as caught:
        condition_clean(**condition)
    errors = caught.value.message_dict
    assert list(errors) == [field]
    assert message in " ".join(errors[field])


def test_a_playbook_without_a_trigger_does_not_compile():
    with pytest.raises(ValidationError, match="at least one trigger"):
        compile_snapshot({"triggers": []})
