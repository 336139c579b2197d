from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.services import account_merge, account_merge_preview
from signals.models import AccountSignalDaily, Signal
from signals.services import signals_ingest
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

DAY1 = (
    (timezone.now() - timedelta(days=3))
    .astimezone(UTC)
    .replace(hour=9, minute=0, second=0, microsecond=0)
)
DAY2 = DAY1 + timedelta(days=1)


def item(external_id, account, at, value):
    return {
        "source": "website",
        "type": "web.visit",
        "occurred_at": at.isoformat(),
        "external_id": external_id,
        "value": value,
        "account": {"id": account.pk},
    }


def days(account):
    return {
        row.day: (row.count, row.value_sum)
        for row in AccountSignalDaily.objects.filter(account=account)
    }


def test_a_merge_moves_the_signals_and_rebuilds_both_rollups():
    # given: the loser has 1 + 2 on day 1 and 5 on day 2; the survivor 4 on day 1
    survivor, loser = AccountFactory(), AccountFactory()
    signals_ingest(
        items=[
            item("a", loser, DAY1, 1),
            item("b", loser, DAY1, 2),
            item("c", loser, DAY2, 5),
            item("d", survivor, DAY1, 4),
        ]
    )
    assert account_merge_preview(loser=loser, survivor=survivor) == {"signals": 3}

    # when
    moved = account_merge(loser=loser, survivor=survivor)

    # then, by hand: day 1 = 3 signals summing 7, day 2 = 1 of 5; nothing left on the loser
    assert moved["signals"] == 3
    assert set(Signal.objects.values_list("account_id", flat=True)) == {survivor.pk}
    assert days(survivor) == {DAY1.date(): (3, Decimal(7)), DAY2.date(): (1, Decimal(5))}
    assert days(loser) == {}


def test_a_signal_naming_the_merged_account_lands_on_the_survivor():
    survivor, loser = AccountFactory(), AccountFactory()
    account_merge(loser=loser, survivor=survivor)

    result = signals_ingest(items=[item("late", loser, DAY2, 1)])

    assert result.matched == 1
    assert Signal.objects.get().account == survivor
