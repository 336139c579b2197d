"""Preview agrees with evaluation; explain says why; a backtest and effectiveness on a
small history whose figures are computed by hand."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from playbooks import analysis, services
from playbooks.models import Activation
from playbooks.stats import newcombe, wilson
from tests.accounts.factories import (
    AccountFactory,
    ArrChangeFactory,
    DealFactory,
    TeamMemberFactory,
    UserFactory,
)

from .factories import ActivationFactory, PlaybookVersionFactory
from .helpers import playbook_data, published

pytestmark = pytest.mark.django_db


def test_preview_counts_what_the_next_evaluation_then_does():
    big = [AccountFactory(employee_count=n) for n in (500, 400, 300, 200)]
    AccountFactory(employee_count=10)
    playbook = published(capacity=2, holdout_percent=25)

    preview = analysis.playbook_preview(playbook=playbook)
    run = services.evaluation_run()

    assert preview["matching"] == 4
    assert preview["would_enter"] == run.entered
    assert preview["would_hold_out"] == run.held_out
    assert sum(preview["would_skip"].values()) == run.skipped
    assert preview["would_enter"] + preview["would_hold_out"] + run.skipped == 4
    by_account = {row["id"]: row["would"] for row in preview["accounts"]}
    for activation in Activation.objects.all():
        expected = {"active": "enter", "holdout": "holdout"}.get(activation.status)
        assert by_account[activation.account_id] == (expected or f"skip: {activation.reason}")
    assert {row["id"] for row in preview["accounts"]} == {a.pk for a in big}
    assert preview["accounts"][0]["evidence"]["conditions"][0]["actual"] in (500, 400, 300, 200)


def test_explain_gives_each_condition_its_value_and_verdict():
    account = AccountFactory(employee_count=50, industry="Software")
    data = playbook_data()
    data["triggers"].append(
        {
            "name": "Software",
            "conditions": [
                {"feature": "industry", "operator": "eq", "value": "Software"},
                {"feature": "employee_count", "operator": "lt", "value": 100},
            ],
        }
    )
    playbook = services.playbook_save(data=data)

    explained = analysis.playbook_explain(playbook=playbook, account_id=account.pk)

    assert explained["matches"] is True and explained["matched_trigger"] == 1
    first, second = explained["triggers"]
    assert first["passed"] is False
    assert first["conditions"][0] | {"params": {}} == {
        "feature": "employee_count",
        "params": {},
        "operator": "gte",
        "value": 100,
        "actual": 50,
        "passed": False,
    }
    assert second["passed"] is True
    assert [c["passed"] for c in second["conditions"]] == [True, True]


def test_explain_of_an_unknown_account_says_so():
    playbook = services.playbook_save(data=playbook_data())
    with pytest.raises(Exception, match="No live account with id 999999"):
        analysis.playbook_explain(playbook=playbook, account_id=999_999)


def test_backtest_on_a_small_history_computed_by_hand():
    # given a playbook "ARR >= 100k" with a create_task step for the AE, and deals won
    # within 28 days as the outcome, replayed for 3 weeks starting 70 days ago
    today = timezone.now().date()
    t0 = today - timedelta(days=70)
    a, b, c, d = (AccountFactory(name=n) for n in "ABCD")
    ArrChangeFactory(account=a, effective_date=t0 - timedelta(days=30), arr=Decimal(150_000))
    ArrChangeFactory(account=b, effective_date=t0 + timedelta(days=3), arr=Decimal(120_000))
    ArrChangeFactory(account=c, effective_date=t0 - timedelta(days=1), arr=Decimal(200_000))
    TeamMemberFactory(account=b, role="ae", user=UserFactory(username="alice"))
    for account, offset in ((b, 20), (d, 5), (a, 10)):
        DealFactory(
            account=account,
            status="won",
            created_date=t0 - timedelta(days=60),
            close_date=t0 + timedelta(days=offset),
        )
    data = playbook_data(outcome={"kind": "deal_won", "window_days": 28})
    data["triggers"][0]["conditions"] = [{"feature": "arr", "operator": "gte", "value": 100_000}]
    playbook = services.playbook_save(data=data)

    result = analysis.playbook_backtest(
        playbook=playbook, start=t0, end=t0 + timedelta(days=14), today=today
    )

    # A matched before the range (already in); C enters in week 1, B in week 2
    assert [w["entered"] for w in result["weeks"]] == [1, 1, 0]
    assert [w["matching"] for w in result["weeks"]] == [2, 3, 3]
    assert result["entries"] == 2
    assert result["tasks_per_owner"] == [
        {"owner": "(no ae)", "tasks": 1},
        {"owner": "alice", "tasks": 1},
    ]
    # entrants: C (week 1, no win) and B (week 2, won on day 20, within (7, 35]) -> 1/2
    # non-entrants: week 1 B (won day 20, in (0, 28]) and D (won day 5): 2 of 2;
    # weeks 2 and 3: D only, its win is before both windows -> 0 of 2. Total 2/4.
    low, high = wilson(1, 2)
    assert result["entrants"] == {
        "outcomes": 1,
        "total": 2,
        "rate": 0.5,
        "low": pytest.approx(low),
        "high": pytest.approx(high),
    }
    assert result["non_entrants"]["outcomes"] == 2 and result["non_entrants"]["total"] == 4
    assert result["compared_weeks"] == 3
    assert result["features_without_history"] == []


def test_backtest_ranges_are_checked():
    playbook = services.playbook_save(data=playbook_data())
    today = timezone.now().date()
    with pytest.raises(Exception, match="ends before it starts"):
        analysis.playbook_backtest(playbook=playbook, start=today, end=today - timedelta(days=1))
    with pytest.raises(Exception, match="on or before today"):
        analysis.playbook_backtest(playbook=playbook, start=today, end=today + timedelta(days=7))


def test_effectiveness_compares_treated_with_holdout_by_hand():
    # given 4 treated and 4 held-out activations started 60 days ago, 30-day deal outcome
    playbook = published(outcome={"kind": "deal_won", "window_days": 30})
    version = PlaybookVersionFactory(playbook=playbook, number=9)
    started = timezone.now() - timedelta(days=60)
    start_day = started.astimezone(UTC).date()
    won = {("treated", 0): 10, ("treated", 1): 29, ("treated", 2): 40, ("holdout", 0): 15}
    for group in ("treated", "holdout"):
        for n in range(4):
            account = AccountFactory()
            ActivationFactory(
                playbook=playbook,
                version=version,
                account=account,
                status="exited",
                ended_at=timezone.now(),
                is_holdout=group == "holdout",
                started_at=started,
            )
            if (group, n) in won:
                DealFactory(
                    account=account,
                    status="won",
                    created_date=start_day,
                    close_date=start_day + timedelta(days=won[(group, n)]),
                )
    # and one that started today: its window is still open
    ActivationFactory(playbook=playbook, version=version, started_at=timezone.now())

    result = analysis.playbook_effectiveness(playbook=playbook)

    # treated: wins on day 10 and 29 count, day 40 is outside the window -> 2/4; holdout 1/4
    assert (result["treated"]["outcomes"], result["treated"]["total"]) == (2, 4)
    assert (result["holdout"]["outcomes"], result["holdout"]["total"]) == (1, 4)
    _, low, high = newcombe(2, 4, 1, 4)
    assert result["lift"] == {
        "difference": pytest.approx(0.25),
        "low": pytest.approx(low),
        "high": pytest.approx(high),
    }
    assert result["pending"] == 1


def test_a_long_backtest_runs_as_a_job_and_a_short_one_at_once(django_capture_on_commit_callbacks):
    playbook = services.playbook_save(data=playbook_data())
    AccountFactory(employee_count=500)
    today = timezone.now().date()

    short = analysis.backtest_request(
        playbook=playbook, start=today - timedelta(days=14), end=today
    )
    assert short.status == "done" and len(short.result["weeks"]) == 3

    # the test settings run queued tasks inline, once the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        long = analysis.backtest_request(
            playbook=playbook, start=today - timedelta(days=70), end=today
        )
    long.refresh_from_db()
    assert long.status == "done" and len(long.result["weeks"]) == 11
