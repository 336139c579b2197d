from collections import defaultdict
from datetime import UTC
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Max

from accounts.models import Contact
from signals.choices import ReviewStatus
from signals.models import AccountSignalDaily, Signal, SignalType, UnmatchedIdentity

pytestmark = pytest.mark.django_db


def test_demo_signals():
    """One load (it takes seconds), several promises about it."""
    call_command("seed_demo", "--accounts", "60", "--seed", "3", stdout=None)
    every_type_over_180_days()
    rollups_equal_what_the_signals_add_up_to()
    unmatched_signals_wait_in_the_review_queue()
    contacts_were_last_engaged_no_earlier_than_their_newest_signal()


def every_type_over_180_days():
    assert set(Signal.objects.values_list("type__key", flat=True).distinct()) == set(
        SignalType.objects.values_list("key", flat=True)
    )
    first, last = (
        Signal.objects.order_by(field).values_list("occurred_at", flat=True).first()
        for field in ("occurred_at", "-occurred_at")
    )
    assert 150 <= (last - first).days < 181


def rollups_equal_what_the_signals_add_up_to():
    # computed here from the signals table, in Python
    expected = defaultdict(lambda: [0, Decimal(0)])
    for account_id, type_id, occurred_at, value in Signal.objects.filter(
        account__isnull=False
    ).values_list("account_id", "type_id", "occurred_at", "value"):
        key = (account_id, type_id, occurred_at.astimezone(UTC).date())
        expected[key][0] += 1
        expected[key][1] += value or 0

    actual = {
        (row.account_id, row.type_id, row.day): [row.count, row.value_sum]
        for row in AccountSignalDaily.objects.all()
    }

    assert actual == dict(expected)


def unmatched_signals_wait_in_the_review_queue():
    waiting = Signal.objects.filter(account__isnull=True).exclude(review_key="")
    entries = UnmatchedIdentity.objects.filter(status=ReviewStatus.OPEN)

    assert entries.count() >= 5
    assert sum(entries.values_list("signal_count", flat=True)) == waiting.count()
    assert {"domain", "name"} <= set(entries.values_list("kind", flat=True))


def contacts_were_last_engaged_no_earlier_than_their_newest_signal():
    newest = dict(
        Signal.objects.filter(contact__isnull=False)
        .values("contact_id")
        .annotate(at=Max("occurred_at"))
        .values_list("contact_id", "at")
    )
    engaged = dict(Contact.objects.filter(pk__in=newest).values_list("pk", "last_engaged_at"))

    assert newest
    assert all(engaged[pk] >= at for pk, at in newest.items())
