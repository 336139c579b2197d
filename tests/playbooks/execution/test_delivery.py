import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from playbooks.choices_execution import DeliveryStatus
from playbooks.execution import delivery as outbox
from playbooks.execution.events import events_emit
from playbooks.models import Delivery
from signals.webhooks import verify

from .factories import WebhookEndpointFactory
from .receiver import receiver

pytestmark = pytest.mark.django_db

TIMEOUT = 0.5


def queued(url, event="task.created", key="task-1"):
    endpoint = WebhookEndpointFactory(url=url, event_types=[event])
    events_emit(event, [(key, {"task": 1})])
    return endpoint, Delivery.objects.get(endpoint=endpoint)


def test_a_delivery_is_signed_with_standard_webhooks_headers():
    with receiver() as hook:
        endpoint, delivery = queued(hook.url)
        assert outbox.delivery_sweep(timeout=TIMEOUT) == {"delivered": 1}
    [message] = hook.received
    headers = message["headers"]
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert headers["Idempotency-Key"] == "task-1"
    verify(
        secret=endpoint.secret,
        webhook_id=headers["webhook-id"],
        timestamp=headers["webhook-timestamp"],
        signatures=headers["webhook-signature"],
        body=message["body"],
    )
    assert json.loads(message["body"])["data"] == {"task": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    [attempt] = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.error) == (200, "")


def test_a_receiver_that_fails_then_stalls_then_recovers_gets_it_with_backoff():
    with receiver() as hook:
        hook.behaviours = ["fail", "slow"]
        _, delivery = queued(hook.url)
        now = timezone.now()
        assert outbox.delivery_sweep(now=now, timeout=TIMEOUT) == {"pending": 1}
        delivery.refresh_from_db()
        # Backoff: 30 s after the first failure, 60 s after the second.
        assert delivery.next_attempt_at - timezone.now() <= timedelta(seconds=30)
        assert outbox.delivery_sweep(now=now + timedelta(seconds=5), timeout=TIMEOUT) == {}
        later = now + timedelta(seconds=31)
        assert outbox.delivery_sweep(now=later, timeout=TIMEOUT) == {"pending": 1}
        assert outbox.delivery_sweep(now=later + timedelta(seconds=61), timeout=TIMEOUT) == {
            "delivered": 1
        }
    delivery.refresh_from_db()
    attempts = list(delivery.attempt_log.values_list("status_code", flat=True))
    assert attempts == [500, None, 200]
    assert "timed out" in delivery.attempt_log.all()[1].error.lower()
    ids = {m["headers"]["webhook-id"] for m in hook.received}
    assert ids == {f"msg_{delivery.pk}"}  # every retry is the same message


def test_a_receiver_that_is_down_loses_nothing():
    # given: a port nobody listens on
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    _, delivery = queued(f"http://127.0.0.1:{port}/hook")
    when = timezone.now()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.delivery_sweep(now=when, timeout=TIMEOUT)
        when += outbox.BACKOFF_MAX
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempt_log.count() == outbox.MAX_ATTEMPTS
    # when: the receiver is back and someone requeues from the admin
    with receiver() as hook:
        Delivery.objects.filter(pk=delivery.pk).update(url=hook.url)
        assert outbox.delivery_requeue(delivery_ids=[delivery.pk]) == 1
        assert outbox.delivery_sweep(timeout=TIMEOUT) == {"delivered": 1}
    assert len(hook.received) == 1


def test_a_delivery_whose_senders_keep_dying_is_dead_lettered_without_another_try():
    # The lease counts and logs each attempt, so a sender killed before it records the
    # outcome leaves the attempt counted (tests/reliability/test_killed_delivery.py).
    with receiver() as hook:
        _, delivery = queued(hook.url)
        Delivery.objects.filter(pk=delivery.pk).update(attempts=outbox.MAX_ATTEMPTS)
        assert outbox.delivery_sweep(timeout=TIMEOUT) == {"dead": 1}
    assert hook.received == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error == outbox.INTERRUPTED


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused(url):
    with pytest.raises(outbox.UnsafeAddress, match="refused"):
        outbox.check_url(url)
    _, delivery = queued(url)
    outbox.delivery_sweep(timeout=TIMEOUT)
    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None
    assert "refused" in attempt.error


def test_loopback_is_refused_unless_allowed(settings):
    settings.ABX_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(outbox.UnsafeAddress, match="loopback"):
        outbox.check_url("http://127.0.0.1:8000/")
    settings.ABX_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert outbox.check_url("http://localhost:8000/x")[3] in {"127.0.0.1", "::1"}


def test_the_metadata_address_is_refused_even_inside_an_allowed_network(settings):
    settings.ABX_WEBHOOK_ALLOWED_NETWORKS = ["169.254.0.0/16"]
    with pytest.raises(outbox.UnsafeAddress, match="metadata"):
        outbox.check_url("http://169.254.169.254/")


def test_the_connection_goes_to_the_checked_address_with_the_original_host():
    with receiver() as hook:
        port = hook.server.server_address[1]
        queued(f"http://localhost:{port}/hook")
        assert outbox.delivery_sweep(timeout=TIMEOUT) == {"delivered": 1}
    assert hook.received[0]["headers"]["Host"] == f"localhost:{port}"


def test_inactive_and_unsubscribed_endpoints_get_nothing():
    WebhookEndpointFactory(event_types=["task.created"], active=False)
    WebhookEndpointFactory(event_types=["activation.started"])
    everything = WebhookEndpointFactory(event_types=[])
    assert events_emit("task.created", [("k", {})]) == 1
    assert Delivery.objects.get().endpoint == everything
    # the same event and key again: the outbox keeps one
    events_emit("task.created", [("k", {})])
    assert Delivery.objects.count() == 1
