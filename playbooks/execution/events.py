"""The outbox: events written as Delivery rows in the transaction of the change they tell.

A Delivery is committed with its event or not at all, so an event is never sent for a
change that rolled back, and never lost for one that committed; the delivery sweeper
sends it later (`delivery.py`). Repeats of the same effect carry the same idempotency key,
and the outbox's unique constraint keeps one row per (url, event, key).
"""

from collections.abc import Iterable

from django.utils import timezone

from ..choices_execution import DeliveryStatus
from ..models_execution import Delivery, WebhookEndpoint

__all__ = ["event_payload", "events_emit"]


def event_payload(event: str, data: dict, *, occurred_at=None) -> dict:
    """The envelope every endpoint receives: `{"type", "timestamp", "data"}` (Standard Webhooks)."""
    when = occurred_at or timezone.now()
    return {"type": event, "timestamp": when.isoformat(), "data": data}


def events_emit(event: str, items: Iterable[tuple[str, dict]], *, now=None) -> int:
    """Queue `event` for every active endpoint subscribed to it; items are (key, data).

    Runs inside the caller's transaction; one query and one insert whatever the number of items.
    """
    items = list(items)
    if not items:
        return 0
    now = now or timezone.now()
    # Endpoints are few (a CRM sync, a chat room): filter their event lists in Python,
    # which works the same on SQLite (no JSON containment lookup) and PostgreSQL.
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(active=True)
        if not endpoint.event_types or event in endpoint.event_types
    ]
    rows = [
        Delivery(
            endpoint=endpoint,
            url=endpoint.url,
            event=event,
            payload=event_payload(event, data, occurred_at=now),
            idempotency_key=key,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
        for key, data in items
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
