"""The purge of raw signals past ABX_SIGNAL_RETENTION_DAYS (DESIGN §9): old signals go in
short chunks, recent ones stay, rollups and scores are untouched, the review queue
follows, and the purge is scheduled daily."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from metrics import services as metric_services
from metrics.choices import Aggregate, ComponentSource, Normalisation
from metrics.models import AccountScore, ScoreBand, ScoreComponent, ScoreModel
from signals.models import AccountSignalDaily, Signal, UnmatchedIdentity
from signals.retention import (
    PURGE_SCHEDULE,
    retention_horizon,
    retention_schedule_ensure,
    signals_retention_purge,
)
from signals.services import signals_ingest
from signals.tasks import signals_retention_purge_task
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 15, 20, tzinfo=UTC)
# 730 days before NOW is 2024-12-04 15:20; the horizon is that day's midnight.
HORIZON = datetime(2024, 12, 4, tzinfo=UTC)


def item(external_id, at, *, account=None, type_key="web.visit", **extra):
    signal = {
        "source": "website",
        "type": type_key,
        "occurred_at": at.isoformat(),
        "external_id": external_id,
        **extra,
    }
    if account is not None:
        signal["account"] = account if isinstance(account, dict) else {"id": account.pk}
    return signal


def ingest(*items):
    result = signals_ingest(items=list(items))
    assert result.accepted == len(items), result.rejected


def rollups():
    return list(
        AccountSignalDaily.objects.order_by("account_id", "type_id", "day").values_list(
            "account_id", "type_id", "day", "count", "value_sum", "last_value", "distinct_contacts"
        )
    )


def test_the_horizon_is_the_utc_midnight_retention_days_back(settings):
    settings.ABX_SIGNAL_RETENTION_DAYS = 730
    assert retention_horizon(now=NOW) == HORIZON
    assert retention_horizon(now=NOW, days=1) == datetime(2026, 12, 3, tzinfo=UTC)


def test_old_signals_go_recent_ones_stay_and_the_rollups_are_untouched(settings):
    # given signals on either side of the horizon, of two types, matched and unmatched
    settings.ABX_SIGNAL_RETENTION_DAYS = 730
    now = timezone.now()
    horizon = retention_horizon()
    acme = AccountFactory()
    ingest(
        item("old-1", horizon - timedelta(days=70), account=acme),
        item("old-2", horizon - timedelta(days=70, hours=-1), account=acme),
        item("old-3", horizon - timedelta(seconds=1), account=acme, value=4),
        item("old-4", horizon - timedelta(days=3), account=acme, type_key="email.click"),
        item("edge", horizon, account=acme),
        item("new-1", now - timedelta(days=1), account=acme, type_key="email.click"),
        item("old-globex", horizon - timedelta(days=2), account={"name": "Globex"}),
        item("new-globex", now - timedelta(days=2), account={"name": "Globex"}),
        item("old-initech", horizon - timedelta(days=5), account={"name": "Initech"}),
    )
    before = rollups()
    assert len(before) == 5
    queue = dict(UnmatchedIdentity.objects.values_list("key", "signal_count"))
    assert queue == {"name:globex": 2, "name:initech": 1}

    # when purged two signals at a time
    deleted = signals_retention_purge(chunk=2)

    # then the signals before the horizon went, the others stayed
    assert deleted == 6
    assert set(Signal.objects.values_list("external_id", flat=True)) == {
        "edge",
        "new-1",
        "new-globex",
    }
    # ... every daily rollup is as it was, the purged days included
    assert rollups() == before
    # ... and the review queue counts what still waits
    assert dict(UnmatchedIdentity.objects.values_list("key", "signal_count")) == {"name:globex": 1}
    # ... and a second run finds nothing more
    assert signals_retention_purge() == 0


def test_the_purge_deletes_in_short_chunks(settings):
    settings.ABX_SIGNAL_RETENTION_DAYS = 30
    account = AccountFactory()
    old = timezone.now() - timedelta(days=40)
    ingest(*(item(f"old-{n}", old + timedelta(minutes=n), account=account) for n in range(5)))

    with CaptureQueriesContext(connection) as queries:
        assert signals_retention_purge(chunk=2) == 5

    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "signals_signal"')]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert not Signal.objects.exists()


def test_a_score_computed_before_the_purge_is_the_same_after_it(settings):
    # given a score over a year of visits, while raw signals are kept 30 days only
    settings.ABX_SIGNAL_RETENTION_DAYS = 30
    model = ScoreModel.objects.create(key="visits-year", name="Visits over a year")
    ScoreBand.objects.create(model=model, name="any", min_score=0)
    visits = ScoreComponent(
        model=model,
        name="visits",
        source=ComponentSource.SIGNALS,
        signal_types=["web.visit"],
        aggregate=Aggregate.COUNT,
        window_days=365,
        normalisation=Normalisation.LINEAR,
        lower=0,
        upper=10,
        weight=Decimal(1),
    )
    visits.full_clean()
    visits.save()
    account = AccountFactory()
    now = timezone.now()
    ingest(
        item("v-1", now - timedelta(days=200), account=account),
        item("v-2", now - timedelta(days=100), account=account),
        item("v-3", now - timedelta(days=5), account=account),
    )
    metric_services.scores_recompute(snapshot=False)
    before = AccountScore.objects.get(account=account, model=model)
    # three visits out of ten: 30 points
    assert before.score == Decimal("30.00")

    # when the two old visits are purged and the scores recomputed
    assert signals_retention_purge() == 2
    metric_services.scores_recompute(snapshot=False)

    # then the score and its breakdown are the same: they read the rollups
    after = AccountScore.objects.get(account=account, model=model)
    assert (after.score, after.band, after.breakdown) == (
        before.score,
        before.band,
        before.breakdown,
    )


def test_the_purge_is_scheduled_daily_once_and_its_task_runs(settings):
    schedule = Schedule.objects.get(name=PURGE_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "signals.tasks.signals_retention_purge_task",
        Schedule.DAILY,
        -1,
    )
    assert (schedule.next_run.hour, schedule.next_run.minute) == (3, 30)

    # set up again (every migrate does): still one schedule
    _, created = retention_schedule_ensure()
    assert not created
    assert Schedule.objects.filter(name=PURGE_SCHEDULE).count() == 1

    settings.ABX_SIGNAL_RETENTION_DAYS = 30
    ingest(item("old", timezone.now() - timedelta(days=31), account=AccountFactory()))
    assert signals_retention_purge_task() == 1


def test_a_merge_after_the_purge_adds_up_both_accounts_purged_days(settings):
    # given two accounts with visits on the same purged day, one more on another purged
    # day, and a recent one each
    settings.ABX_SIGNAL_RETENTION_DAYS = 30
    survivor, loser = AccountFactory(), AccountFactory()
    old = (timezone.now() - timedelta(days=60)).replace(hour=9)
    recent = timezone.now() - timedelta(days=1)
    ingest(
        item("s-old", old, account=survivor, value=1),
        item("s-new", recent, account=survivor, value=2),
        item("l-old-1", old + timedelta(hours=1), account=loser, value=10),
        item("l-old-2", old + timedelta(hours=2), account=loser, value=20),
        item("l-older", old - timedelta(days=1), account=loser, value=5),
        item("l-new", recent, account=loser, value=3),
    )
    assert signals_retention_purge() == 4

    # when
    from accounts.services import account_merge

    account_merge(loser=loser, survivor=survivor)

    # then the survivor's rollups hold both accounts' days, purged ones included
    days = {
        row.day: (row.count, row.value_sum)
        for row in AccountSignalDaily.objects.filter(account=survivor)
    }
    assert days == {
        old.date() - timedelta(days=1): (1, Decimal(5)),
        old.date(): (3, Decimal(31)),
        recent.astimezone(UTC).date(): (2, Decimal(5)),
    }
    assert not AccountSignalDaily.objects.filter(account=loser).exists()
