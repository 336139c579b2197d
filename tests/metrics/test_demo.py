"""The demo's scores and snapshots: every account scored on every model, and daily
snapshots far enough back for the 30-day trends and `health_change_30d`."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import demo
from accounts.models import Account, ArrChange
from metrics import features
from metrics.demo import HISTORY_DAYS, seed_scores
from metrics.models import AccountScore, AccountSnapshot, ScoreModel
from metrics.scoreboard import account_scoreboard

pytestmark = pytest.mark.django_db

ACCOUNTS = 60


def test_the_demo_phase_is_registered():
    assert seed_scores in demo.PHASES


def test_demo_scores_and_snapshots():
    """One load (it takes seconds), several promises about it."""
    today = timezone.now().date()
    counts = demo.seed(seed=5, accounts=ACCOUNTS, today=today)

    every_account_has_its_four_scores(counts)
    snapshots_cover_the_promised_history(counts, today)
    snapshots_carry_the_arr_of_each_day(today)
    today_s_snapshot_holds_the_current_scores(today)
    the_30_day_trend_and_change_have_values(today)


def every_account_has_its_four_scores(counts):
    models = set(ScoreModel.objects.filter(is_active=True).values_list("key", flat=True))
    assert models == {"fit", "intent", "engagement", "health"}
    scored = defaultdict(set)
    for account_id, key in AccountScore.objects.values_list("account_id", "model__key"):
        scored[account_id].add(key)

    assert Account.objects.count() == ACCOUNTS
    assert dict(scored) == dict.fromkeys(Account.objects.values_list("pk", flat=True), models)
    assert not AccountScore.objects.filter(score__isnull=True).exists()
    assert counts["account scores"] == ACCOUNTS * 4


def snapshots_cover_the_promised_history(counts, today):
    first_day = today - timedelta(days=HISTORY_DAYS)
    days = defaultdict(set)
    for account_id, day in AccountSnapshot.objects.values_list("account_id", "day"):
        days[account_id].add(day)

    # every account's state is known on each day from the first one (a day without a
    # row is as the day before), and nothing is written before or after the history
    assert set(days) == set(Account.objects.values_list("pk", flat=True))
    assert all(min(account_days) == first_day for account_days in days.values())
    assert max(max(account_days) for account_days in days.values()) == today
    # rebuilt from the signals and ARR history: states change within it, so nearly every
    # account has more than its first day
    assert sum(len(account_days) > 1 for account_days in days.values()) >= ACCOUNTS * 0.9
    assert counts["account snapshots"] == AccountSnapshot.objects.count()


def state_on(account_id, day):
    """The snapshot in force on `day`: the account's last one on or before it."""
    return (
        AccountSnapshot.objects.filter(account_id=account_id, day__lte=day).order_by("-day").first()
    )


def snapshots_carry_the_arr_of_each_day(today):
    # computed here from the ARR history: the last change effective on or before the day
    changes = defaultdict(list)
    for account_id, effective, arr in ArrChange.objects.values_list(
        "account_id", "effective_date", "arr"
    ):
        changes[account_id].append((effective, arr))

    def arr_on(account_id, day):
        known = [(d, arr) for d, arr in changes[account_id] if d <= day]
        return max(known)[1] if known else Decimal(0)

    # the first day of the history, the first of this month (demo ARR changes fall on
    # firsts of months), and today
    for day in {today - timedelta(days=HISTORY_DAYS), today.replace(day=1), today}:
        expected = {pk: arr_on(pk, day) for pk in Account.objects.values_list("pk", flat=True)}
        actual = {pk: state_on(pk, day).arr for pk in expected}
        assert actual == expected, day
    assert any(arr > 0 for arr in expected.values())


def today_s_snapshot_holds_the_current_scores(today):
    current = defaultdict(dict)
    for account_id, key, score in AccountScore.objects.filter(score__isnull=False).values_list(
        "account_id", "model__key", "score"
    ):
        current[account_id][key] = float(score)

    for account_id in Account.objects.values_list("pk", flat=True):
        assert state_on(account_id, today).scores == current[account_id]


def the_30_day_trend_and_change_have_values(today):
    health = dict(
        AccountScore.objects.filter(model__key="health", score__isnull=False).values_list(
            "account_id", "score"
        )
    )
    assert health, "the demo should give accounts a health score"
    rows = features.annotate(
        Account.objects.filter(pk__in=health), [("change", "health_change_30d", {})]
    )
    change = dict(rows.values_list("pk", "change"))
    assert None not in change.values()

    # the account page's trend starts 30 days back with a known score
    account_id = next(iter(health))
    board = account_scoreboard(account_id=account_id)
    [entry] = [s for s in board["scores"] if s["model"] == "health"]
    assert entry["trend"][0]["day"] == today - timedelta(days=30)
    assert (
        entry["trend"][0]["score"]
        == state_on(account_id, today - timedelta(days=30)).scores["health"]
    )
    assert entry["change_30d"] is not None
