"""A worker killed while it sends a webhook: the delivery is sent again, under the same
`webhook-id`, once its lease has run out; the outbox holds it once and logs its attempts.

A real `qcluster` takes the queued delivery sweep and posts to a real receiver on the
loopback that takes the request in and never answers; the worker's whole process tree is
SIGKILLed while it waits. The delivery was leased (its next attempt moved past the
sending timeout) in a transaction of its own before the request left, and nothing
recorded its outcome. A new `qcluster` gets the sweep again (`ABX_Q_RETRY`), leaves the
leased delivery alone, and sends it with the sweep after the lease (the sweep is given
that moment as `now` rather than the test waiting a minute of wall clock).

The sending happens outside any transaction, so this holds on SQLite as on PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q import models as q
from django_q.tasks import async_task

from playbooks.choices_execution import DeliveryStatus
from playbooks.execution.events import events_emit
from playbooks.models import Delivery, DeliveryAttempt
from signals.webhooks import verify
from tests.playbooks.execution.factories import WebhookEndpointFactory
from tests.playbooks.execution.receiver import receiver

from .processes import finished, qcluster, sleep_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SWEEP = "playbooks.execution.tasks.delivery_sweep_task"


def test_a_delivery_whose_sender_was_killed_is_sent_again_under_the_same_webhook_id():
    with receiver() as hook:
        # given an endpoint on a receiver that will stall on the first request, and one
        # event in the outbox
        endpoint = WebhookEndpointFactory(url=hook.url, event_types=["account.stage_changed"])
        with transaction.atomic():
            events_emit("account.stage_changed", [("account-7-stage-3", {"account": 7})])
        [delivery] = Delivery.objects.all()
        hook.behaviours = ["stall"]
        sweep = async_task(SWEEP, sync=False)

        # when the worker is killed while the receiver holds its request
        with qcluster() as first:
            sleep_until(lambda: hook.received, timeout=60, message="nothing reached the receiver")
            first.crash()
        killed_at = timezone.now()

        # then nothing recorded an outcome, and the delivery is leased past the send timeout
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.next_attempt_at > killed_at
        assert delivery.delivered_at is None
        lease_ends = delivery.next_attempt_at

        with qcluster() as second:
            # when a new worker gets the sweep again: the lease holds, nothing is resent
            assert finished(sweep).result == {}
            assert len(hook.received) == 1
            # when the sweep after the lease runs
            later = async_task(
                "playbooks.execution.delivery.delivery_sweep",
                now=lease_ends + timedelta(seconds=1),
                sync=False,
            )
            assert finished(later).result == {DeliveryStatus.DELIVERED: 1}
            assert second.alive()

    # then the receiver has the message twice, with one webhook-id, each correctly signed
    assert [r["behaviour"] for r in hook.received] == ["stall", "ok"]
    ids = {r["headers"]["webhook-id"] for r in hook.received}
    assert ids == {f"msg_{delivery.pk}"}
    assert len({r["body"] for r in hook.received}) == 1
    for request in hook.received:
        verify(
            secret=endpoint.secret,
            webhook_id=request["headers"]["webhook-id"],
            timestamp=request["headers"]["webhook-timestamp"],
            signatures=request["headers"]["webhook-signature"],
            body=request["body"],
        )
    # and the outbox holds one delivery for the event, delivered, with its attempts logged:
    # the interrupted one without an answer, then the one the receiver answered
    [stored] = Delivery.objects.filter(event="account.stage_changed")
    assert stored.pk == delivery.pk
    assert stored.status == DeliveryStatus.DELIVERED
    log = list(DeliveryAttempt.objects.filter(delivery=stored).order_by("attempted_at", "id"))
    assert [attempt.status_code for attempt in log] == [None, 200]
    assert "no answer" in log[0].error.lower()
    assert stored.attempts == 2
    assert not q.OrmQ.objects.exists()
