"""Tier rules: the highest-ranked matching tier wins, manual tiers are kept with a
proposal, the preview is the application, bad rules are refused, and applying costs the
same queries for any number of accounts."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import AccountEventKind, TierSource
from accounts.models import Account, AccountEvent
from metrics.features import Feature, FeatureType, register
from metrics.features import registry as feature_registry
from playbooks import tasks, tier_rules
from playbooks.models import Activation, EvaluationRun, TierProposal, TierRule, TierRuleCondition
from tests.accounts.factories import AccountFactory, TierFactory

from .helpers import published

pytestmark = pytest.mark.django_db


def at_least(employees):
    return {"feature": "employee_count", "operator": "gte", "value": employees}


def rule(tier, name, *conditions, **settings):
    return tier_rules.tier_rule_save(
        data={"tier": tier, "name": name, "conditions": list(conditions), **settings}
    )


@pytest.fixture
def tiers():
    """Gold (rank 1) for 1,000+ employees; Silver (rank 2) for 100+ or fintech; Bronze
    (rank 3) has no rule. The Silver rules are written first: rank decides, not age."""
    gold, silver, bronze = (
        TierFactory(name="Gold", rank=1),
        TierFactory(name="Silver", rank=2),
        TierFactory(name="Bronze", rank=3),
    )
    rule(silver, "Mid-size", at_least(100))
    rule(silver, "Fintech", {"feature": "industry", "operator": "eq", "value": "Fintech"})
    rule(gold, "Enterprise", at_least(1000))
    return gold, silver, bronze


def account(employees, tier=None, source=TierSource.RULE, **fields):
    return AccountFactory(employee_count=employees, tier=tier, tier_source=source, **fields)


def tier_of(account_):
    account_.refresh_from_db()
    return (account_.tier.name if account_.tier else None, account_.tier_source)


# Precedence and application --------------------------------------------------------------


def test_each_account_goes_to_the_highest_ranked_tier_whose_rule_it_matches(tiers):
    # given
    gold, silver, _ = tiers
    big = account(5000)  # matches Enterprise and Mid-size: Gold
    mid = account(300)
    fintech = account(10, industry="Fintech")
    small = account(10)
    shrunk = account(200, gold)  # a rule made it Gold; now only Silver's rule holds
    unmatched = account(50, silver)  # no rule holds: it keeps the tier it has

    # when
    result = tier_rules.tier_rules_apply()

    # then
    assert tier_of(big) == ("Gold", "rule")
    assert tier_of(mid) == ("Silver", "rule")
    assert tier_of(fintech) == ("Silver", "rule")
    assert tier_of(small) == (None, "rule")
    assert tier_of(shrunk) == ("Silver", "rule")
    assert tier_of(unmatched) == ("Silver", "rule")
    assert (result["rules"], result["matching"], result["changed"]) == (3, 4, 4)
    events = AccountEvent.objects.filter(kind=AccountEventKind.TIER_CHANGED)
    assert {
        (e.account_id, e.old_value, e.new_value, e.actor_label, e.actor_id) for e in events
    } == {
        (big.pk, "", "Gold", "Tier rule: Gold / Enterprise", None),
        (mid.pk, "", "Silver", "Tier rule: Silver / Mid-size", None),
        (fintech.pk, "", "Silver", "Tier rule: Silver / Fintech", None),
        (shrunk.pk, "Gold", "Silver", "Tier rule: Silver / Mid-size", None),
    }
    evidence = events.get(account=big).data
    assert evidence["tier_rule"] == TierRule.objects.get(name="Enterprise").pk
    assert evidence["evidence"]["conditions"][0]["actual"] == 5000


def test_a_second_application_changes_nothing(tiers):
    account(5000)
    account(300)
    tier_rules.tier_rules_apply()
    events = AccountEvent.objects.count()

    result = tier_rules.tier_rules_apply()

    assert result["changed"] == 0 and AccountEvent.objects.count() == events


def test_merged_accounts_and_inactive_rules_are_left_out(tiers):
    bronze = tiers[2]
    rule(bronze, "Everyone", at_least(0), is_active=False)
    survivor = account(10)
    merged = account(5000, merged_into=survivor)

    tier_rules.tier_rules_apply()

    assert tier_of(merged) == (None, "rule") and tier_of(survivor) == (None, "rule")


# Manual tiers ----------------------------------------------------------------------------------


def test_a_manual_tier_is_never_overwritten_and_the_rules_record_what_they_would_set(tiers):
    # given: a person made this 5,000-employee account Bronze
    gold, _, bronze = tiers
    chosen = account(5000, bronze, TierSource.MANUAL)
    agreed = account(5000, gold, TierSource.MANUAL)
    untiered = account(5000, None, TierSource.MANUAL)  # no tier yet: nothing to keep

    # when
    result = tier_rules.tier_rules_apply()

    # then
    assert tier_of(chosen) == ("Bronze", "manual")
    assert tier_of(agreed) == ("Gold", "manual")
    assert tier_of(untiered) == ("Gold", "rule")
    assert not AccountEvent.objects.filter(account__in=[chosen, agreed]).exists()
    proposal = TierProposal.objects.get()
    assert (proposal.account, proposal.tier, proposal.rule.name) == (chosen, gold, "Enterprise")
    assert proposal.evidence["conditions"][0]["actual"] == 5000
    assert (result["proposals"], result["proposed"], result["withdrawn"]) == (1, 1, 0)


def test_a_proposal_stands_while_the_rules_hold_then_follows_them_then_goes(tiers):
    # given
    _, silver, bronze = tiers
    chosen = account(5000, bronze, TierSource.MANUAL)
    tier_rules.tier_rules_apply(now=timezone.now() - timedelta(days=3))
    first = TierProposal.objects.get()

    # when the rules still say Gold: the proposal keeps its date
    tier_rules.tier_rules_apply()
    assert TierProposal.objects.get().proposed_at == first.proposed_at

    # when the account shrinks: the proposal follows the rules to Silver
    Account.objects.filter(pk=chosen.pk).update(employee_count=300)
    result = tier_rules.tier_rules_apply()
    again = TierProposal.objects.get()
    assert (again.tier, result["proposed"], result["withdrawn"]) == (silver, 1, 1)
    assert again.proposed_at > first.proposed_at

    # when no rule holds any more: the proposal is withdrawn
    Account.objects.filter(pk=chosen.pk).update(employee_count=5)
    tier_rules.tier_rules_apply()
    assert not TierProposal.objects.exists()
    assert tier_of(chosen) == ("Bronze", "manual")


def test_a_tier_set_by_hand_after_the_rules_looked_is_kept(tiers):
    """The write locks and re-reads the accounts: a manual tier set in between wins."""
    from accounts import services as account_services

    bronze = tiers[2]
    target = account(5000)
    plan = tier_rules.tier_rules_plan()
    account_services.account_update(account=target, data={"tier": bronze})

    events = account_services.account_tiers_set_by_rules(
        assignments=[
            account_services.RuleTier(d.account_id, d.proposed_tier_id, "Tier rule")
            for d in plan.moves
        ]
    )

    assert events == [] and tier_of(target) == ("Bronze", "manual")


def test_accepting_a_proposal_hands_the_tier_to_the_rules(tiers, staff_user):
    bronze = tiers[2]
    chosen = account(5000, bronze, TierSource.MANUAL)
    tier_rules.tier_rules_apply()

    changed = tier_rules.tier_proposals_accept(
        proposals=TierProposal.objects.all(), user=staff_user
    )

    assert changed == 1 and tier_of(chosen) == ("Gold", "rule")
    event = AccountEvent.objects.get(account=chosen, kind=AccountEventKind.TIER_CHANGED)
    assert (event.old_value, event.new_value, event.actor) == ("Bronze", "Gold", staff_user)
    assert event.actor_label == "Accepted: Tier rule: Gold / Enterprise"
    assert not TierProposal.objects.exists()


# Preview ------------------------------------------------------------------------------------


def test_the_preview_is_what_the_application_does(tiers):
    # given a mix of moves, manual tiers, accounts already placed and unmatched ones
    gold, _, bronze = tiers
    for employees in (5000, 2000, 300, 150, 20):
        account(employees)
    for employees in (5000, 300):
        account(employees, bronze, TierSource.MANUAL)
    account(3000, gold)
    account(10, industry="Fintech")

    # when
    preview = tier_rules.tier_rules_preview()
    plan = tier_rules.tier_rules_plan()
    result = tier_rules.tier_rules_apply()

    # then: counts by hand, and the very accounts and tiers
    assert preview["moves"] == [
        {"from": None, "to": "Silver", "accounts": 3},
        {"from": None, "to": "Gold", "accounts": 2},
    ]
    assert preview["proposals"] == [
        {"from": "Bronze", "to": "Gold", "accounts": 1},
        {"from": "Bronze", "to": "Silver", "accounts": 1},
    ]
    assert (preview["matching"], preview["unchanged"]) == (8, 1)
    assert (preview["would_move"], preview["would_propose"]) == (5, 2)
    moved = {
        (e.account_id, e.new_value)
        for e in AccountEvent.objects.filter(kind=AccountEventKind.TIER_CHANGED)
    }
    assert moved == {(row["id"], row["to"]) for row in preview["move_accounts"]}
    assert moved == {(d.account_id, d.rule.tier.name) for d in plan.moves}
    proposed = set(TierProposal.objects.values_list("account_id", "tier__name"))
    assert proposed == {(row["id"], row["to"]) for row in preview["proposal_accounts"]}
    assert (result["changed"], result["proposals"]) == (5, 2)
    after = tier_rules.tier_rules_preview()
    assert (after["would_move"], after["would_propose"], after["unchanged"]) == (0, 2, 6)


def test_an_inactive_rule_can_be_previewed_but_does_not_apply(tiers):
    _, _, bronze = tiers
    everyone = rule(bronze, "Everyone", at_least(0), is_active=False)
    small = account(10)

    preview = tier_rules.tier_rules_preview(include={everyone.pk})

    assert preview["moves"] == [{"from": None, "to": "Bronze", "accounts": 1}]
    tier_rules.tier_rules_apply()
    assert tier_of(small) == (None, "rule")


# Bad rules ------------------------------------------------------------------------------------


BAD = [
    (
        {"conditions": []},
        "conditions",
        "A rule needs at least one condition",
    ),
    (
        {"conditions": [{"feature": "shoe_size", "operator": "gte", "value": 3}]},
        "conditions.0.feature",
        "Unknown feature 'shoe_size'",
    ),
    (
        {"conditions": [{"feature": "employee_count", "operator": "contains", "value": "x"}]},
        "conditions.0.operator",
        "does not fit 'Employees'",
    ),
    (
        {"conditions": [{"feature": "employee_count", "operator": "gte", "value": "many"}]},
        "conditions.0.value",
        "give a number, not 'many'",
    ),
    (
        {
            "conditions": [
                {
                    "feature": "signal_count",
                    "params": {"days": 0, "signal_types": ["intent.surge"]},
                    "operator": "gte",
                    "value": 1,
                }
            ]
        },
        "conditions.0.params",
        "days: Give a number from 1 to 730.",
    ),
    ({"tier": "Platinum"}, "tier", "there is no tier 'Platinum'"),
    ({"name": ""}, "name", "This field cannot be blank."),
    ({"name": "Enterprise"}, "rule", "This tier already has a rule of this name."),
    ({"colour": "red"}, "colour", "Unknown setting."),
]


@pytest.mark.parametrize(("change", "where", "message"), BAD)
def test_a_bad_rule_is_refused_naming_the_field_and_changes_nothing(tiers, change, where, message):
    gold = tiers[0]
    rules, conditions = TierRule.objects.count(), TierRuleCondition.objects.count()
    data = {"tier": gold, "name": "New", "conditions": [at_least(10)], **change}

    with pytest.raises(ValidationError) as caught:
        tier_rules.tier_rule_save(data=data)

    assert where in caught.value.message_dict
    assert any(message in m for m in caught.value.message_dict[where])
    assert (TierRule.objects.count(), TierRuleCondition.objects.count()) == (rules, conditions)


def test_a_rule_whose_feature_left_the_catalog_is_reported_and_the_others_still_apply(tiers):
    # given a rule on a feature that is then removed from the catalog
    bronze = tiers[2]
    feature = register(
        Feature(
            "test_headcount",
            "Headcount",
            FeatureType.NUMBER,
            "Employees, for this test.",
            has_history=False,
            compute=lambda *, as_of: F("employee_count"),
        )
    )
    try:
        broken = rule(bronze, "Gone", {"feature": feature.key, "operator": "gte", "value": 1})
    finally:
        feature_registry._REGISTRY.pop(feature.key, None)
    big = account(5000)

    # when
    preview = tier_rules.tier_rules_preview()
    result = tier_rules.tier_rules_apply()

    # then
    assert [e["rule"] for e in preview["errors"]] == [broken.pk]
    assert "test_headcount" in preview["errors"][0]["error"]
    assert result["errors"] == preview["errors"] and result["rules"] == 3
    assert tier_of(big) == ("Gold", "rule")


# Scheduled evaluation -------------------------------------------------------------------------


def test_the_scheduled_evaluation_applies_the_tiers_before_the_playbooks(tiers):
    # given a play for Gold accounts, and an account the rules make Gold
    playbook = published("Gold accounts", tiers=["Gold"], min_employees=1)
    big = account(5000)

    # when
    tasks.evaluation_task()

    # then
    assert tier_of(big) == ("Gold", "rule")
    assert Activation.objects.filter(playbook=playbook, account=big).exists()


def test_a_failing_tier_rule_application_does_not_stop_the_evaluation(tiers, monkeypatch, caplog):
    def fail():
        raise RuntimeError("disk full")

    monkeypatch.setattr(tier_rules, "tier_rules_apply", fail)
    with caplog.at_level(logging.ERROR, logger="playbooks.tier_rules"):
        run_id = tasks.evaluation_task()
    assert EvaluationRun.objects.filter(pk=run_id, finished_at__isnull=False).exists()
    assert "Applying the tier rules failed." in caplog.text


# Query counts ---------------------------------------------------------------------------------


def build(tiers, count):
    bronze = tiers[2]
    for index in range(count):
        account(5000 + index)  # moves to Gold
        account(300 + index, bronze, TierSource.MANUAL)  # proposal: Silver
        account(10)  # no rule


def test_applying_costs_the_same_queries_for_more_accounts(tiers, django_assert_num_queries):
    # given 3 of each kind of account
    build(tiers, 3)
    with CaptureQueriesContext(connection) as three:
        assert tier_rules.tier_rules_apply()["changed"] == 3

    # when 3 more of each, and the first ones put back where they were
    Account.objects.filter(tier__name="Gold").update(tier=None)
    TierProposal.objects.all().delete()
    build(tiers, 3)

    # then
    with django_assert_num_queries(len(three)):
        result = tier_rules.tier_rules_apply()
    assert (result["changed"], result["proposed"]) == (6, 6)


def test_previewing_costs_the_same_queries_for_more_accounts(tiers, django_assert_num_queries):
    build(tiers, 3)
    with CaptureQueriesContext(connection) as three:
        tier_rules.tier_rules_preview()
    build(tiers, 3)
    with django_assert_num_queries(len(three)):
        assert tier_rules.tier_rules_preview()["would_move"] == 6
