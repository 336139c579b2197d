"""The outbox: events written as Delivery rows in the transaction of the change they tell.

A Delivery is committed with its event or not at all, so an event is never sent for a
change that rolled back, and never lost for one that committed; the delivery sweeper
sends it later (`delivery.py`). Repeats of the same effect carry the same idempotency key,
and the outbox's unique constraint keeps one row per (url, event, key).
"""

from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone

from accounts.choices import AccountEventKind

from ..choices_execution import DeliveryStatus, WebhookEvent
from ..models_execution import Delivery, WebhookEndpoint

__all__ = ["account_events_emit", "band_changes_emit", "event_payload", "events_emit"]

# The account's own changes that integrations hear about (a CRM keeps its copy in step).
ACCOUNT_EVENTS = {
    AccountEventKind.STAGE_CHANGED: WebhookEvent.STAGE_CHANGED,
    AccountEventKind.TIER_CHANGED: WebhookEvent.TIER_CHANGED,
}


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


def account_events_emit(events) -> int:
    """The account services' hook (`accounts.hooks`): stage and tier changes to the outbox.

    Every change made through the account services comes here, whoever made it (the
    admin, the API, a CSV import, a `set_stage` or `set_tier` step), in the transaction
    that records it. The key is the account event's id: one message per change. Events
    recorded together (tier rules change many accounts at once) are queued together: one
    `events_emit` per event type and moment, whatever the number of accounts.
    """
    batches: dict[tuple, list[tuple[str, dict]]] = defaultdict(list)
    for event in events:
        webhook = ACCOUNT_EVENTS.get(event.kind)
        if webhook is None:
            continue
        data = {
            "account": event.account_id,
            "old": event.old_value,
            "new": event.new_value,
            "by": event.actor.get_username() if event.actor_id else event.actor_label,
        }
        batches[(webhook, event.occurred_at)].append((f"account-event-{event.pk}", data))
    return sum(events_emit(webhook, items, now=when) for (webhook, when), items in batches.items())


def band_changes_emit(changes) -> int:
    """The scores' hook (`metrics.hooks`): a score that moved into another band, to the
    outbox, in the transaction that stores it: a recompute retried after a failure finds
    the new band already stored (and sends nothing again) or nothing stored (and nothing
    sent). The key names the account, the model and the moment, for receivers to drop a
    repeat. A chunk's changes are queued with one `events_emit`."""
    items = [
        (
            f"score-band-{change.account_id}-{change.model}-{change.computed_at.timestamp():.6f}",
            {
                "account": change.account_id,
                "model": change.model,
                "old": change.old,
                "new": change.new,
                "score": None if change.score is None else str(change.score),
            },
        )
        for change in changes
    ]
    return events_emit(WebhookEvent.SCORE_BAND_CHANGED, items, now=changes[0].computed_at)
