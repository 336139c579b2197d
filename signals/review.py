"""Decisions on the review queue, and re-resolving the signals that waited (DESIGN §3).

A reviewer's decision becomes a permanent rule of identity resolution, so later
signals with the same identity match directly and never queue again:

- assign to an account: a domain gets an `AccountDomain`, an external identifier an
  `AccountIdentifier`, a company name an `AccountAlias`, an IP address a one-address
  `IpRange`;
- create an account: the account (with the domain as its primary domain, or the name),
  then the same rule;
- ignore: the entry stays, marked ignored: the ignore list. Its signals stay stored and
  unmatched, and it is no longer shown as waiting.

After an assign or a create, a background task re-resolves the waiting signals in
chunks, each in its own short transaction (ingest is never blocked for long on SQLite's
single writer): they go through `resolve_batch` again, so they get the account, method
and confidence the new rule gives, new contacts are created as at ingest, and the
touched rollups are refreshed.
"""

from datetime import UTC

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from accounts.identity import resolve_batch
from accounts.models import Account
from accounts.services import (
    account_alias_add,
    account_create,
    account_domain_add,
    account_identifier_add,
    contacts_engagement_record,
    contacts_get_or_create_bulk,
    ip_range_add,
)

from .choices import IdentityKind, ReviewStatus
from .models import Signal, UnmatchedIdentity
from .queue import identities_refresh
from .services import resolution_hints, rollups_refresh

RERESOLVE_CHUNK = 1_000


def review_assign(*, identity: UnmatchedIdentity, account: Account, actor=None) -> None:
    """Give the identity to `account` as a permanent rule, then re-resolve its signals."""
    if account.merged_into_id is not None:
        raise ValidationError({"account": "This account was merged; choose the one it became."})
    with transaction.atomic():
        _rule_add(identity, account)
        _decide(identity, ReviewStatus.ASSIGNED, account=account, actor=actor)
        _reresolve_later(identity)


def review_create_account(*, identity: UnmatchedIdentity, name: str = "", actor=None) -> Account:
    """Create an account from the identity (named `name`, else after it), with the rule."""
    name = (name or identity.label).strip()
    if not name:
        raise ValidationError({"name": "Give the new account a name."})
    with transaction.atomic():
        domain = identity.value if identity.kind == IdentityKind.DOMAIN else ""
        account = account_create(name=name, domain=domain, actor=actor)
        if not domain:
            _rule_add(identity, account)
        _decide(identity, ReviewStatus.ASSIGNED, account=account, actor=actor)
        _reresolve_later(identity)
    return account


def review_ignore(*, identities: QuerySet[UnmatchedIdentity], actor=None) -> int:
    """Put the identities on the ignore list; returns how many were ignored."""
    return identities.update(
        status=ReviewStatus.IGNORED,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_at=timezone.now(),
    )


def review_reopen(*, identities: QuerySet[UnmatchedIdentity]) -> int:
    """Take ignored identities off the ignore list: they wait for review again."""
    return identities.filter(status=ReviewStatus.IGNORED).update(
        status=ReviewStatus.OPEN, decided_by=None, decided_at=None
    )


def _rule_add(identity: UnmatchedIdentity, account: Account) -> None:
    kind, value = identity.kind, identity.value
    if kind == IdentityKind.DOMAIN:
        account_domain_add(account=account, domain=value)
    elif kind == IdentityKind.IDENTIFIER:
        system, _, external_id = value.partition(":")
        account_identifier_add(account=account, system=system, external_id=external_id)
    elif kind == IdentityKind.NAME:
        account_alias_add(account=account, name=identity.label)
    elif kind == IdentityKind.IP:
        ip_range_add(account=account, network=value, provider="review queue")


def _decide(identity, status, *, account, actor) -> None:
    identity.status = status
    identity.account = account
    identity.decided_by = actor if actor is not None and actor.is_authenticated else None
    identity.decided_at = timezone.now()
    identity.save(update_fields=["status", "account", "decided_by", "decided_at"])


def _reresolve_later(identity: UnmatchedIdentity) -> None:
    # With the ORM broker the queued task commits (or rolls back) with the decision.
    async_task("signals.tasks.review_reresolve_task", identity.pk, group="review")


def signals_reresolve(*, review_key: str) -> int:
    """Resolve again the unmatched signals waiting under `review_key`; returns how many
    now have an account.

    Chunks of `RERESOLVE_CHUNK` signals by id, each resolved with one batch and written
    in its own transaction with the rollups it touches. Signals that still match no
    account stay waiting.
    """
    matched = 0
    last_id = 0
    waiting = Signal.objects.filter(account__isnull=True, review_key=review_key)
    while True:
        chunk = list(
            waiting.filter(pk__gt=last_id)
            .order_by("pk")
            .only("id", "type_id", "occurred_at", "hints")[:RERESOLVE_CHUNK]
        )
        if not chunk:
            break
        last_id = chunk[-1].pk
        resolutions = resolve_batch([resolution_hints(signal.hints) for signal in chunk])
        pairs = [
            (signal, resolution)
            for signal, resolution in zip(chunk, resolutions, strict=True)
            if resolution.matched
        ]
        if not pairs:
            continue
        with transaction.atomic():
            contact_ids = contacts_get_or_create_bulk(
                people=[
                    {
                        **signal.hints["contact"],
                        "account_id": resolution.account_id,
                        "seen_at": signal.occurred_at,
                    }
                    for signal, resolution in pairs
                    if isinstance(signal.hints.get("contact"), dict)
                    and signal.hints["contact"].get("email")
                ]
            )
            for signal, resolution in pairs:
                email = ((signal.hints.get("contact") or {}).get("email") or "").strip().lower()
                signal.account_id = resolution.account_id
                signal.contact_id = contact_ids.get(email)
                signal.match_method = resolution.method
                signal.match_confidence = round(resolution.confidence, 4)
            Signal.objects.bulk_update(
                [signal for signal, _ in pairs],
                ["account", "contact", "match_method", "match_confidence"],
                batch_size=RERESOLVE_CHUNK,
            )
            rollups_refresh(
                keys={
                    (signal.account_id, signal.type_id, signal.occurred_at.astimezone(UTC).date())
                    for signal, _ in pairs
                }
            )
        contacts_engagement_record(
            seen={
                signal.contact_id: signal.occurred_at
                for signal, _ in sorted(pairs, key=lambda pair: pair[0].occurred_at)
                if signal.contact_id is not None
            }
        )
        matched += len(pairs)
    identities_refresh(keys=[review_key])
    return matched
