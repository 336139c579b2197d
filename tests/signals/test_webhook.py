import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from signals.models import Signal, Source, WebhookReceipt
from signals.webhooks import webhook_receipts_purge
from tests.accounts.factories import AccountDomainFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/signals/webhook/{}/"
RAW_KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(RAW_KEY).decode()


@pytest.fixture
def website():
    source = Source.objects.get(slug="website")
    source.webhook_secret = SECRET
    source.save()
    return source


def item(external_id, **fields):
    return {
        "type": "web.visit",
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "external_id": external_id,
        **fields,
    }


def signature(body: bytes, webhook_id: str, timestamp: int, key: bytes = RAW_KEY) -> str:
    """Computed here from the standard, independently of the code under test."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def send(client, payload, *, webhook_id="msg_1", timestamp=None, sig=None, slug="website"):
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sig if sig is not None else signature(body, webhook_id, timestamp),
    }
    return client.post(URL.format(slug), body, content_type="application/json", headers=headers)


def test_a_signed_batch_is_ingested_without_an_api_key(client, website):
    AccountDomainFactory(domain="acme.com")
    payload = {
        "signals": [
            item("a", account={"domain": "acme.com"}),
            item("b", type="nope"),
            item("c", source="website"),
        ]
    }

    response = send(client, payload)

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "matched": 1,
        "unmatched": 1,
        "rejected": [{"index": 1, "errors": {"type": ["Unknown type 'nope'."]}}],
        "replayed": False,
    }
    assert set(Signal.objects.values_list("source__slug", "external_id")) == {
        ("website", "a"),
        ("website", "c"),
    }
    assert WebhookReceipt.objects.get().webhook_id == "msg_1"


def test_one_item_or_a_bare_list_is_taken_too(client, website):
    assert send(client, item("one"), webhook_id="m1").json()["accepted"] == 1
    assert send(client, [item("two"), item("three")], webhook_id="m2").json()["accepted"] == 2
    assert Signal.objects.count() == 3


def test_an_item_naming_another_source_is_rejected_by_index(client, website):
    response = send(client, [item("a"), item("b", source="crm")])

    assert response.json()["rejected"] == [
        {
            "index": 1,
            "errors": {"source": ["This webhook takes signals for the source 'website' only."]},
        }
    ]
    assert list(Signal.objects.values_list("external_id", flat=True)) == ["a"]


def test_a_replayed_webhook_id_answers_200_and_stores_nothing_again(client, website):
    send(client, [item("a")], webhook_id="msg_7")
    # the sender retries with the same id, a new timestamp and a changed payload
    response = send(client, [item("a"), item("b")], webhook_id="msg_7", timestamp=int(time.time()))

    assert response.status_code == 200
    assert response.json()["replayed"] is True
    assert response.json()["accepted"] == 0
    assert list(Signal.objects.values_list("external_id", flat=True)) == ["a"]
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"sig": "v1,AAAA"},
        {"sig": "v2," + "A" * 44},
        {"sig": ""},
        {"timestamp": int(time.time()) - 301},
        {"timestamp": int(time.time()) + 301},
    ],
    ids=["bad digest", "unknown version", "no signature", "too old", "from the future"],
)
def test_a_bad_signature_or_stale_timestamp_gets_401_and_stores_nothing(client, website, headers):
    timestamp = headers.get("timestamp")
    if timestamp is not None:
        # correctly signed, but outside the five-minute window
        body = json.dumps([item("a")]).encode()
        headers = {"sig": signature(body, "msg_1", timestamp), "timestamp": timestamp}

    response = send(client, [item("a")], **headers)

    assert response.status_code == 401
    assert response.json()["errors"] == {}
    assert response.json()["message"]
    assert not Signal.objects.exists()
    assert not WebhookReceipt.objects.exists()


def test_a_signature_over_another_body_is_refused(client, website):
    timestamp = int(time.time())
    other = signature(json.dumps([item("other")]).encode(), "msg_1", timestamp)

    response = send(client, [item("a")], timestamp=timestamp, sig=other)

    assert response.status_code == 401
    assert not Signal.objects.exists()


def test_one_valid_signature_among_several_is_enough(client, website):
    # while a secret rotates, the sender signs with the old and the new one
    body = json.dumps([item("a")]).encode()
    timestamp = int(time.time())
    old = signature(body, "msg_1", timestamp, key=b"an old key that no longer counts")
    new = signature(body, "msg_1", timestamp)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{old} {new}",
    }

    response = client.post(
        URL.format("website"), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 200
    assert Signal.objects.count() == 1


def test_a_secret_without_the_prefix_signs_with_its_own_bytes(client, website):
    website.webhook_secret = "plain-secret"
    website.save()
    body = json.dumps([item("a")]).encode()
    timestamp = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(body, "msg_1", timestamp, key=b"plain-secret"),
    }

    response = client.post(
        URL.format("website"), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 200


def test_an_unknown_or_inactive_source_is_not_found(client, website):
    assert send(client, [item("a")], slug="nope").status_code == 404
    website.active = False
    website.save()
    assert send(client, [item("a")]).status_code == 404
    assert not Signal.objects.exists()


def test_a_signed_body_that_is_not_json_is_refused(client, website):
    body = b"{not json"
    timestamp = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(body, "msg_1", timestamp),
    }

    response = client.post(
        URL.format("website"), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]
    assert not WebhookReceipt.objects.exists()


def test_old_receipts_are_purged(website):
    now = timezone.now()
    WebhookReceipt.objects.create(
        source=website, webhook_id="old", received_at=now - timedelta(days=8)
    )
    WebhookReceipt.objects.create(
        source=website, webhook_id="new", received_at=now - timedelta(days=1)
    )

    assert webhook_receipts_purge(now=now) == 1
    assert list(WebhookReceipt.objects.values_list("webhook_id", flat=True)) == ["new"]


def test_the_schema_shows_the_webhook_without_api_key_auth(client, superuser):
    client.force_login(superuser)

    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/signals/webhook/{source}/"]["post"]
    assert "security" not in operation
    assert {p["name"] for p in operation["parameters"]} >= {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }


def test_the_purge_is_scheduled_daily_and_its_task_runs(website):
    from django_q.models import Schedule

    from signals.tasks import webhook_receipts_purge_task

    schedule = Schedule.objects.get(name="abx-webhook-receipt-purge")
    assert (schedule.func, schedule.schedule_type) == (
        "signals.tasks.webhook_receipts_purge_task",
        Schedule.DAILY,
    )
    WebhookReceipt.objects.create(
        source=website, webhook_id="old", received_at=timezone.now() - timedelta(days=30)
    )
    assert webhook_receipts_purge_task() == 1
