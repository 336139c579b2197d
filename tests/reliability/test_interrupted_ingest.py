"""An ingest batch interrupted half-way: nothing is acknowledged that is not stored, and
the batch sent again is stored whole, each signal once, with rollups that add up.

A real web server (gunicorn, production settings) takes a 5,000-item `POST
/api/v1/signals/`. A session of the test's holds a lock on the daily rollups table, so the
request, having inserted the signals, waits inside its transaction to refresh their
rollups; the server's whole process tree is then SIGKILLed, as a crashed machine would
be. The client gets no answer. A new server gets the same batch again, as a client that
got no 2xx must send it.
"""

import threading

import pytest
from django.db import connection

from abx_site.common.models import ApiKey
from signals.models import AccountSignalDaily, Signal

from . import data
from .processes import backends, pg_connect, sleep_until, wait_until_gone, web_server

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="The crash is staged inside the request's transaction with PostgreSQL locks.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BATCH = 5000
INGEST = "/api/v1/signals/"


def test_a_batch_cut_off_by_a_crash_is_stored_once_when_sent_again():
    # given 40 accounts, a key that may ingest, and a batch of 5,000 signals for them
    domains = data.accounts_with_domains(40, prefix="cutoff")
    _, key = ApiKey.objects.create_key(name="crm-sync", scopes=["signals:write"])
    batch = data.items(BATCH, prefix="cutoff", domains=list(domains))
    ids = [item["external_id"] for item in batch]

    blocker, observer = pg_connect(autocommit=False), pg_connect()
    outcome = {}

    def send(server):
        try:
            outcome["answer"] = server.request("POST", INGEST, body={"signals": batch}, key=key)
        except OSError as exc:  # the server died with the request: no answer at all
            outcome["error"] = exc

    try:
        blocker.execute(f"LOCK TABLE {AccountSignalDaily._meta.db_table} IN EXCLUSIVE MODE")
        with web_server() as first:
            client = threading.Thread(target=send, args=(first,))
            client.start()
            sleep_until(
                lambda: backends(observer, first.name, waiting=True),
                timeout=60,
                message="the request never reached the rollups",
            )
            # when the server dies with the request inside its transaction
            first.crash()
            client.join(timeout=30)
        blocker.rollback()
        wait_until_gone(observer, first.name)
    finally:
        blocker.close()
        observer.close()

    # then the client was told nothing, so nothing was acknowledged
    assert "answer" not in outcome, outcome.get("answer")
    assert isinstance(outcome["error"], OSError)
    kept_after_crash = Signal.objects.filter(external_id__in=ids).count()

    with web_server() as second:
        # when the client sends the same batch again
        status, answer = second.request("POST", INGEST, body={"signals": batch}, key=key)
        # and once more, as if that answer had been lost too
        status_again, again = second.request("POST", INGEST, body={"signals": batch}, key=key)

    # then every item is accounted for, and each signal is stored once
    assert status == 200, answer
    assert answer["rejected"] == []
    assert answer["accepted"] + answer["duplicates"] == BATCH
    assert answer["accepted"] == BATCH - kept_after_crash
    assert answer["matched"] == answer["accepted"]
    stored = Signal.objects.filter(external_id__in=ids)
    assert stored.count() == BATCH
    assert stored.values("source_id", "external_id").distinct().count() == BATCH
    # a batch acknowledged once and sent again stores nothing twice
    assert status_again == 200, again
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, BATCH, [])
    assert Signal.objects.filter(external_id__in=ids).count() == BATCH

    # and the rollups hold what the items add up to, and what the signals table recounts
    accounts = set(domains.values())
    expected = data.rollups_by_hand(batch, domains)
    assert sum(count for count, _ in expected.values()) == BATCH
    assert data.rollups_stored(accounts) == expected
    assert data.rollups_recounted(accounts) == expected
    print(
        f"\ningest cut off by SIGKILL: {BATCH} items; stored at the crash: {kept_after_crash}; "
        f"sent again: accepted {answer['accepted']}, duplicates {answer['duplicates']}; "
        f"sent a third time: duplicates {again['duplicates']}"
    )
