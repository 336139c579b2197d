"""Tier rules in the admin: a rule with its conditions inline, errors next to the field,
history of who changed what, the preview, "apply now", and accepting proposals."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from accounts.choices import TierSource
from playbooks import tier_rules
from playbooks.models import TierProposal, TierRule, TierRuleCondition
from tests.accounts.factories import AccountFactory, TierFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:playbooks_tierrule_add")
PREVIEW = reverse("admin:playbooks_tierrule_preview")


@pytest.fixture
def revops(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(user)
    return client


@pytest.fixture
def gold():
    return TierFactory(name="Gold", rank=1)


def form_data(tier, *conditions, name="Enterprise", prefix="conditions", initial=0):
    data = {
        "tier": tier.pk,
        "name": name,
        "description": "",
        "is_active": "on",
        "order": "0",
        f"{prefix}-TOTAL_FORMS": str(len(conditions)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, condition in enumerate(conditions):
        for key, value in condition.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def test_a_rule_is_added_with_its_conditions_and_its_history_names_who(revops, staff_user, gold):
    # when
    response = revops.post(
        ADD,
        form_data(
            gold,
            {"feature": "employee_count", "params": "", "operator": "gte", "value": "1000"},
            {"feature": "industry", "params": "", "operator": "in", "value": "Software, Fintech"},
            {
                "feature": "signal_count",
                "params": '{"signal_types": ["intent.surge"], "days": 7}',
                "operator": "gte",
                "value": "3",
            },
        ),
    )

    # then
    assert response.status_code == 302, response.context and response.context["errors"]
    rule = TierRule.objects.get()
    assert (rule.tier, rule.name, rule.is_active) == (gold, "Enterprise", True)
    rows = list(rule.conditions.order_by("order").values_list("feature", "operator", "value"))
    assert rows == [
        ("employee_count", "gte", 1000),
        ("industry", "in", ["Software", "Fintech"]),
        ("signal_count", "gte", 3),
    ]
    assert rule.conditions.get(feature="signal_count").params == {
        "signal_types": ["intent.surge"],
        "days": 7,
    }
    assert rule.history.get().history_user == staff_user
    assert {h.history_user for h in TierRuleCondition.history.all()} == {staff_user}
    changelist = revops.get(reverse("admin:playbooks_tierrule_changelist")).content.decode()
    assert "employee_count gte 1000; industry in Software, Fintech" in changelist


def test_editing_a_rule_keeps_its_history(revops, staff_user, gold):
    rule = tier_rules.tier_rule_save(
        data={
            "tier": gold,
            "name": "Enterprise",
            "conditions": [{"feature": "employee_count", "operator": "gte", "value": 1000}],
        }
    )
    condition = rule.conditions.get()
    data = form_data(
        gold,
        {
            "id": condition.pk,
            "rule": rule.pk,
            "feature": "employee_count",
            "params": "{}",
            "operator": "gte",
            "value": "2000",
        },
        initial=1,
    )

    response = revops.post(reverse("admin:playbooks_tierrule_change", args=[rule.pk]), data)

    assert response.status_code == 302
    assert rule.conditions.get().value == 2000
    assert TierRuleCondition.history.filter(history_type="-").count() == 1
    history = revops.get(reverse("admin:playbooks_tierrule_history", args=[rule.pk]))
    assert history.status_code == 200


BAD_ROWS = [
    (
        {"feature": "employee_count", "params": "", "operator": "contains", "value": "x"},
        "does not fit",
    ),
    ({"feature": "employee_count", "params": "", "operator": "gte", "value": "many"}, "many"),
    (
        {
            "feature": "signal_count",
            "params": '{"signal_types": ["intent.surge"], "days": 0}',
            "operator": "gte",
            "value": "1",
        },
        "days: Give a number from 1 to 730.",
    ),
    ({"feature": "employee_count", "params": "{not json", "operator": "gte", "value": "1"}, "JSON"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_a_bad_condition_is_shown_on_its_row_and_nothing_is_saved(revops, gold, row, message):
    response = revops.post(ADD, form_data(gold, row))
    assert response.status_code == 200
    inline_errors = str(response.context["inline_admin_formsets"][0].formset.errors)
    assert message in inline_errors.replace("&#x27;", "'")
    assert not TierRule.objects.exists() and not TierRuleCondition.objects.exists()


def test_a_rule_without_conditions_is_refused(revops, gold):
    response = revops.post(ADD, form_data(gold))
    assert response.status_code == 200
    assert "A rule needs at least one condition" in response.content.decode()
    assert not TierRule.objects.exists()


def test_the_preview_page_counts_and_lists_the_moves(revops, gold):
    silver = TierFactory(name="Silver", rank=2)
    tier_rules.tier_rule_save(
        data={
            "tier": gold,
            "name": "Enterprise",
            "conditions": [{"feature": "employee_count", "operator": "gte", "value": 1000}],
        }
    )
    AccountFactory(name="Acme", employee_count=5000, tier_source=TierSource.RULE)
    AccountFactory(name="Kept", employee_count=5000, tier=silver, tier_source=TierSource.MANUAL)

    html = revops.get(PREVIEW).content.decode()

    assert "<tr><td>No tier</td><td>Gold</td><td>1</td></tr>" in html
    assert "<tr><td>Silver</td><td>Gold</td><td>1</td></tr>" in html
    assert "Acme" in html and "employee_count gte 1000: <strong>5000</strong>" in html
    assert "Apply the active rules now" in html


def test_viewers_may_look_at_the_preview_but_not_apply(viewer, gold):
    tier_rules.tier_rule_save(
        data={
            "tier": gold,
            "name": "Enterprise",
            "conditions": [{"feature": "employee_count", "operator": "gte", "value": 1000}],
        }
    )
    acme = AccountFactory(employee_count=5000, tier_source=TierSource.RULE)

    page = viewer.get(PREVIEW)
    assert page.status_code == 200 and "Apply the active rules now" not in page.content.decode()
    assert viewer.post(PREVIEW).status_code == 403
    acme.refresh_from_db()
    assert acme.tier is None


def test_revops_applies_now(revops, gold):
    tier_rules.tier_rule_save(
        data={
            "tier": gold,
            "name": "Enterprise",
            "conditions": [{"feature": "employee_count", "operator": "gte", "value": 1000}],
        }
    )
    acme = AccountFactory(employee_count=5000, tier_source=TierSource.RULE)

    response = revops.post(PREVIEW, follow=True)

    acme.refresh_from_db()
    assert acme.tier == gold
    assert "1 account(s) changed tier" in response.content.decode()


def test_accepting_proposals_in_the_admin(revops, staff_user, gold):
    silver = TierFactory(name="Silver", rank=2)
    tier_rules.tier_rule_save(
        data={
            "tier": gold,
            "name": "Enterprise",
            "conditions": [{"feature": "employee_count", "operator": "gte", "value": 1000}],
        }
    )
    kept = AccountFactory(employee_count=5000, tier=silver, tier_source=TierSource.MANUAL)
    tier_rules.tier_rules_apply()
    proposal = TierProposal.objects.get()

    response = revops.post(
        reverse("admin:playbooks_tierproposal_changelist"),
        {"action": "accept_selected", "_selected_action": [proposal.pk]},
        follow=True,
    )

    kept.refresh_from_db()
    assert (kept.tier, kept.tier_source) == (gold, TierSource.RULE)
    assert "1 account(s) moved to the proposed tier." in response.content.decode()
    assert not TierProposal.objects.exists()
