"""Signed webhooks into the signal layer (Standard Webhooks, https://www.standardwebhooks.com/).

A sender signs `{webhook-id}.{webhook-timestamp}.{raw body}` with HMAC-SHA256 under the
source's secret and sends `webhook-signature: v1,<base64 digest>` (several signatures,
space-separated, while a secret is being rotated). The receiver:

- refuses (401, storing nothing) a missing or bad signature, and a timestamp more than
  `TOLERANCE` away from its clock: an old signed message cannot be replayed later;
- answers 200 and stores nothing again for a `webhook-id` it already took in: senders
  retry the same message until they get a 2xx, re-signed with a new timestamp;
- otherwise ingests the items exactly as `POST /api/v1/signals/` does, for that source.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Source, WebhookReceipt
from .services import IngestResult, signals_ingest

TOLERANCE = timedelta(minutes=5)
WEBHOOK_RECEIPT_DAYS = 7
SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard prefix of a secret, not a secret
WEBHOOK_REFUSAL = "This webhook takes signals for the source '{source}' only."


class SignatureError(Exception):
    """The webhook's headers do not prove it came from the source (answered with 401)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a source secret: `whsec_` + base64 (the standard form), or, for a
    secret set by hand without the prefix, its UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode("utf-8")


def sign(*, secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The `v1,<base64>` signature of a message: what a sender puts in `webhook-signature`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    *,
    secret: str,
    webhook_id: str | None,
    timestamp: str | None,
    signatures: str | None,
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Raise `SignatureError` unless one of `signatures` signs this message, recently."""
    if not webhook_id or not timestamp or not signatures:
        raise SignatureError(
            "Send the webhook-id, webhook-timestamp and webhook-signature headers."
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a number of seconds.") from None
    now = now or timezone.now()
    if abs(now.timestamp() - sent_at) > TOLERANCE.total_seconds():
        raise SignatureError(
            "webhook-timestamp is more than 5 minutes away from the server's clock."
        )
    expected = sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    expected_digest = expected.split(",", 1)[1].encode("ascii")
    matched = False
    for candidate in signatures.split():
        version, _, digest = candidate.partition(",")
        # Compare every candidate in constant time, and do not stop at the first match:
        # the time taken says nothing about which one (or how much of it) was right.
        if version == "v1" and hmac.compare_digest(digest.encode("utf-8"), expected_digest):
            matched = True
    if not matched:
        raise SignatureError("No valid signature in webhook-signature.")


@dataclass
class WebhookResult:
    """What a webhook delivery did: the ingest counts, or nothing when it was a replay."""

    ingest: IngestResult
    replayed: bool = False

    def as_dict(self) -> dict:
        return {**self.ingest.as_dict(), "replayed": self.replayed}


def signals_webhook_receive(*, source: Source, webhook_id: str, items: Sequence) -> WebhookResult:
    """Ingest a verified webhook's items for `source`, once per `webhook_id`.

    The receipt and the signals commit together: a delivery that fails midway leaves no
    receipt, so the sender's retry is taken in; a delivery that succeeded leaves one, so
    a retry stores nothing. Two deliveries of one id at the same moment meet at the
    receipt's unique key, and the second is a replay.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookReceipt.objects.create(
                    source=source, webhook_id=webhook_id, items=len(items)
                )
        except IntegrityError:
            return WebhookResult(ingest=IngestResult(), replayed=True)
        items = [_with_source(item, source.slug) for item in items]
        result = signals_ingest(items=items, key_source=source.slug, refusal=WEBHOOK_REFUSAL)
    return WebhookResult(ingest=result)


def _with_source(item, slug: str):
    """An item sent to a source's webhook may leave out `source`: the URL names it."""
    if isinstance(item, dict) and "source" not in item:
        return {"source": slug, **item}
    return item


def webhook_receipts_purge(*, now: datetime | None = None) -> int:
    """Forget receipts older than any sender still retries; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=WEBHOOK_RECEIPT_DAYS)
    deleted, _ = WebhookReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
