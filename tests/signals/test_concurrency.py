import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Account, Contact
from signals.models import AccountSignalDaily, Signal
from signals.services import signals_ingest
from tests.accounts.factories import AccountDomainFactory


def in_threads(*calls):
    """Run each call in its own thread (its own connection, committing for real), all
    released at once; returns their results, or raises the first failure."""
    start = threading.Barrier(len(calls))
    results, failures = [None] * len(calls), []

    def run(position, call):
        try:
            start.wait()
            results[position] = call()
        except Exception as exc:  # re-raised below, in the test's thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


@pytest.mark.postgres
@pytest.mark.django_db
def test_two_writers_with_overlapping_batches_lose_and_duplicate_nothing():
    # The writers commit in their own connections; the test's transaction reads what
    # they committed (READ COMMITTED) and the data is removed at the end. A transactional
    # test would flush the seeded sources and types instead.
    if connection.vendor != "postgresql":
        pytest.skip("Real concurrent writers need PostgreSQL; SQLite serialises them.")
    # given two batches that share a hundred items, all on one account and day
    [domain] = in_threads(lambda: AccountDomainFactory(domain="concurrent-acme.com"))
    day = timezone.now().date() - timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()

    def batch(ids):
        # Every other signal names one of 40 people, new to the account: both writers
        # create some of the same contacts at once.
        return [
            {
                "source": "website",
                "type": "web.visit",
                "occurred_at": moment,
                "external_id": f"concurrent-{n}",
                "value": 1,
                "account": {"domain": "concurrent-acme.com"},
                **({"contact": {"email": f"person{n % 40}@concurrent-acme.com"}} if n % 2 else {}),
            }
            for n in ids
        ]

    try:
        # when both send at once
        results = in_threads(
            lambda: signals_ingest(items=batch(range(0, 300))),
            lambda: signals_ingest(items=batch(range(200, 500))),
        )

        # then every signal is stored once and the rollup counts each of them
        assert sum(r.accepted for r in results) == 500
        assert sum(r.duplicates for r in results) == 100
        assert Signal.objects.filter(account_id=domain.account_id).count() == 500
        rollup = AccountSignalDaily.objects.get(account_id=domain.account_id, day=day)
        assert (rollup.count, rollup.value_sum) == (500, Decimal(500))
        # and each person is one contact, counted once in the day's distinct contacts
        # (odd n % 40 gives 20 people)
        assert Contact.objects.filter(account_id=domain.account_id).count() == 20
        assert rollup.distinct_contacts == 20
    finally:
        in_threads(lambda: Account.objects.filter(pk=domain.account_id).delete())
