"""Sending the outbox: signed, timed out, retried with backoff, dead-lettered, SSRF-guarded.

Each delivery is sent with the Standard Webhooks headers: `webhook-id` (the delivery id:
a retry of the same delivery has the same id, so a receiver drops repeats),
`webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
`id.timestamp.body` with the endpoint's secret).

Server-side request forgery: the host is resolved, every address it resolves to must be
public (not private, loopback, link-local — which holds the cloud metadata address
169.254.169.254 —, multicast, reserved or unspecified) unless it is inside
`ABX_WEBHOOK_ALLOWED_NETWORKS`, and the connection goes to the address that was checked
(the original host still goes in the Host header and in TLS SNI), so a DNS answer that
changes between the check and the connection cannot redirect the request. Redirects are
not followed.

A delivery is leased before it is sent (its next attempt moved past the timeout) in a
short transaction, sent outside any transaction, and its outcome recorded in another: a
worker killed while sending leaves a lease that expires, and the delivery is sent again.
The lease also logs and counts the attempt, so an attempt whose sender died is in the log
(without an answer) like any other, and a delivery that keeps killing its senders is
dead-lettered after `MAX_ATTEMPTS` like one that keeps failing.
"""

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from signals.webhooks import sign

from ..choices_execution import DeliveryStatus
from ..models_execution import Delivery, DeliveryAttempt

__all__ = [
    "MAX_ATTEMPTS",
    "UnsafeAddress",
    "check_url",
    "delivery_requeue",
    "delivery_send",
    "delivery_sweep",
]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)
TIMEOUT_SECONDS = 10
SWEEP_LIMIT = 200
USER_AGENT = "ABX-Ops-Webhooks/1"
# What an attempt's log row says until its outcome is recorded: it stays so if the sender dies.
INTERRUPTED = "No answer recorded: the sender stopped before the outcome was known."
# Addresses no DNS answer should make us call, allowed or not (cloud metadata services).
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UnsafeAddress(Exception):
    """The URL's host is, or resolves to, an address we do not call."""


def allowed_networks() -> list:
    return [
        ipaddress.ip_network(item.strip(), strict=False)
        for item in getattr(settings, "ABX_WEBHOOK_ALLOWED_NETWORKS", [])
        if item.strip()
    ]


def _refused(address) -> str | None:
    if address in METADATA:
        return "a cloud metadata address"
    if any(address in network for network in allowed_networks()):
        return None
    for attribute, label in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_unspecified", "an unspecified address"),
    ):
        if getattr(address, attribute):
            return label
    mapped = getattr(address, "ipv4_mapped", None)
    return _refused(mapped) if mapped else None


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, checked ip) of a URL we may call; raises UnsafeAddress."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("Only http(s) URLs with a host are called.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeAddress(f"The host {parts.hostname} does not resolve: {exc}.") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        # Every answer must be safe: a host with one public and one private address could
        # otherwise be steered to the private one.
        why = _refused(address)
        if why:
            raise UnsafeAddress(f"{parts.hostname} resolves to {address}, {why}: refused.")
    return parts.scheme, parts.hostname, port, str(addresses[0])


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, host, port, *, ip, **kwargs):
        super().__init__(host, port, **kwargs)
        self._ip = ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, verifying the certificate for the original host (SNI)."""

    def __init__(self, host, port, *, ip, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    scheme, host, port, ip = check_url(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
    conn = cls(host, port, ip=ip, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(64 * 1024)  # drain a little; the body is not used
        return response.status
    finally:
        conn.close()


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _lease(delivery_id: int, now: datetime, timeout: float) -> tuple[Delivery, int | None] | None:
    """Take a due delivery for one attempt: (the delivery, the logged attempt's id), or
    (the delivery, None) when it has no attempt left; None when it is not due or taken."""
    with transaction.atomic():
        rows = Delivery.objects.select_related("endpoint")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        delivery = rows.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).first()
        if delivery is None:
            return None
        if delivery.attempts >= MAX_ATTEMPTS:
            # Only attempts whose sender died get here: the others dead-letter on record.
            delivery.status = DeliveryStatus.DEAD
            delivery.last_error = INTERRUPTED
            delivery.save(update_fields=["status", "last_error"])
            return delivery, None
        # The lease: no other sweep takes it until the attempt has had time to finish.
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=timeout * 3 + 30)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery, attempted_at=timezone.now(), error=INTERRUPTED
        )
        return delivery, attempt.pk


def delivery_send(*, delivery_id: int, now: datetime | None = None, timeout=None) -> str:
    """Send one due delivery; returns its status afterwards ("busy" if not due or taken)."""
    now = now or timezone.now()
    timeout = timeout or TIMEOUT_SECONDS
    leased = _lease(delivery_id, now, timeout)
    if leased is None:
        return "busy"
    delivery, attempt_id = leased
    if attempt_id is None:
        return delivery.status
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    webhook_id = f"msg_{delivery.pk}"
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "Idempotency-Key": delivery.idempotency_key,
    }
    if delivery.endpoint is not None and delivery.endpoint.secret:
        headers["webhook-signature"] = sign(
            secret=delivery.endpoint.secret,
            webhook_id=webhook_id,
            timestamp=timestamp,
            body=body,
        )
    started = time.monotonic()
    status_code, error = None, ""
    try:
        status_code = _post(delivery.url, body, headers, timeout)
        if not 200 <= status_code < 300:
            error = f"The receiver answered {status_code}."
    except UnsafeAddress as exc:
        error = str(exc)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = int((time.monotonic() - started) * 1000)
    return _record(
        delivery.pk, attempt_id, now=timezone.now(), code=status_code, error=error, ms=duration
    )


def _record(delivery_id: int, attempt_id: int, *, now, code, error, ms) -> str:
    """The attempt's outcome, on its log row and on the delivery (already counted)."""
    with transaction.atomic():
        delivery = Delivery.objects.get(pk=delivery_id)
        DeliveryAttempt.objects.filter(pk=attempt_id).update(
            status_code=code, error=error[:500], duration_ms=ms
        )
        delivery.last_error = error[:500]
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.DEAD
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save(update_fields=["last_error", "status", "delivered_at", "next_attempt_at"])
        return delivery.status


def delivery_sweep(*, now: datetime | None = None, limit: int = SWEEP_LIMIT, timeout=None):
    """Send due deliveries (up to `limit`); returns the count per outcome."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in ids:
        outcome = delivery_send(delivery_id=pk, now=now, timeout=timeout)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def delivery_requeue(*, delivery_ids, now: datetime | None = None) -> int:
    """Send again (dead-lettered or not yet delivered ones): a fresh set of attempts."""
    now = now or timezone.now()
    return (
        Delivery.objects.filter(pk__in=list(delivery_ids))
        .exclude(status=DeliveryStatus.DELIVERED)
        .update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, last_error="")
    )
