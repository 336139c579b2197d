"""Writes of the signal layer: ingestion and the rollups that follow every write."""

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from ipaddress import ip_address

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.choices import IdentifierSystem
from accounts.identity import resolve_batch
from accounts.services import contacts_engagement_record, contacts_get_or_create_bulk

from .choices import Aggregation
from .models import AccountSignalDaily, Signal, SignalType, Source
from .queue import candidates_of, identities_refresh, identity_of

MAX_ITEMS = 5_000
MAX_ATTRIBUTES_BYTES = 8 * 1024
MAX_ATTRIBUTES_DEPTH = 5
MAX_FUTURE = timedelta(days=1)
MAX_PAST = timedelta(days=5 * 365 + 1)
# |value| below 10^14 fits the value column (20 digits, 6 after the point).
MAX_VALUE = Decimal(10) ** 14
INSERT_BATCH = 1_000

ITEM_KEYS = {
    "source",
    "type",
    "occurred_at",
    "external_id",
    "value",
    "topic",
    "account",
    "contact",
    "ip",
    "attributes",
}
REQUIRED_KEYS = ("source", "type", "occurred_at", "external_id")
ACCOUNT_KEYS = {"id", "domain", "url", "name", "country", "identifier"}
IDENTIFIER_KEYS = {"system", "id"}
CONTACT_KEYS = {"email", "name", "title"}


@dataclass
class IngestResult:
    """What happened to a batch: accepted + duplicates + rejected = items, and
    matched + unmatched = accepted."""

    accepted: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "rejected": self.rejected,
        }


@dataclass
class _Valid:
    """A validated item on its way to the signals table."""

    index: int
    source: Source
    type: SignalType
    occurred_at: datetime
    external_id: str
    value: Decimal | None
    topic: str
    attributes: dict
    hints: dict
    contact: dict | None


KEY_SOURCE_REFUSAL = "This API key may only send signals for the source '{source}'."


def signals_ingest(
    *, items: Sequence, key_source: str | None = None, refusal: str = KEY_SOURCE_REFUSAL
) -> IngestResult:
    """Validate, de-duplicate, resolve and store a batch of signal items (DESIGN §4).

    Invalid items are reported by index with field errors and never stop their valid
    neighbours. A `(source, external_id)` already stored, or seen earlier in the same
    batch, is a duplicate: the first one stands. `key_source` is the slug of the source
    an API key is bound to (or the webhook's source); items for other sources are
    refused with `refusal`.
    """
    result = IngestResult()
    now = timezone.now()
    sources = {source.slug: source for source in Source.objects.all()}
    types = {signal_type.key: signal_type for signal_type in SignalType.objects.all()}
    valid: list[_Valid] = []
    for index, item in enumerate(items):
        errors: dict[str, list[str]] = {}
        parsed = _validate(item, index, errors, sources, types, now, key_source, refusal)
        if errors:
            result.rejected.append({"index": index, "errors": errors})
        else:
            valid.append(parsed)

    fresh = _drop_duplicates(valid)
    result.duplicates = len(valid) - len(fresh)
    if not fresh:
        return result

    resolutions = resolve_batch([resolution_hints(item.hints) for item in fresh])
    contact_ids = contacts_get_or_create_bulk(
        people=[
            {**item.contact, "account_id": resolution.account_id, "seen_at": item.occurred_at}
            for item, resolution in zip(fresh, resolutions, strict=True)
            if resolution.matched and item.contact and item.contact.get("email")
        ]
    )
    rows, identities, candidates = [], {}, {}
    for item, resolution in zip(fresh, resolutions, strict=True):
        row = _signal_row(item, resolution, contact_ids, now)
        if not resolution.matched:
            identity = identity_of(item.hints)
            if identity is not None:
                row.review_key = identity.key
                identities.setdefault(identity.key, identity)
                if resolution.candidates:
                    candidates[identity.key] = candidates_of(resolution)
        rows.append(row)
    stored = _store(rows, now, identities=identities, candidates=candidates)
    _record_engagement(stored)
    result.accepted = len(stored)
    result.duplicates += len(rows) - len(stored)
    result.matched = sum(1 for row in stored if row.account_id is not None)
    result.unmatched = result.accepted - result.matched
    return result


# Validation ---------------------------------------------------------------------------


def _validate(item, index, errors, sources, types, now, key_source, refusal) -> _Valid | None:
    def error(name, message):
        errors.setdefault(name, []).append(message)

    if not isinstance(item, Mapping):
        error("non_field_errors", "Each signal is a JSON object.")
        return None
    for key in sorted(set(item) - ITEM_KEYS):
        error(key, "Unknown field; extra data goes in 'attributes'.")
    for key in REQUIRED_KEYS:
        if item.get(key) in (None, ""):
            error(key, "This field is required.")

    source = _lookup(item.get("source"), sources, "source", error)
    if source is not None:
        if not source.active:
            error("source", f"The source '{source.slug}' is inactive.")
        if key_source and source.slug != key_source:
            error("source", refusal.format(source=key_source))
    signal_type = _lookup(item.get("type"), types, "type", error)
    occurred_at = _occurred_at(item.get("occurred_at"), now, error)
    external_id = item.get("external_id")
    if external_id not in (None, ""):
        if not isinstance(external_id, str):
            error("external_id", "Give the id as a string.")
        elif len(external_id) > 255:
            error("external_id", "At most 255 characters.")
    value = _value(item.get("value"), error)
    topic = item.get("topic")
    if topic is None:
        topic = ""
    elif not isinstance(topic, str):
        error("topic", "Give the topic as a string.")
    elif len(topic) > 200:
        error("topic", "At most 200 characters.")
    attributes = _attributes(item.get("attributes"), error)
    hints, contact = _hints(item, error)
    if errors:
        return None
    return _Valid(
        index=index,
        source=source,
        type=signal_type,
        occurred_at=occurred_at,
        external_id=external_id,
        value=value,
        topic=topic,
        attributes=attributes,
        hints=hints,
        contact=contact,
    )


def _lookup(value, known: dict, name: str, error):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        error(name, f"Give the {name} as a string.")
        return None
    if value not in known:
        error(name, f"Unknown {name} '{value[:100]}'.")
        return None
    return known[value]


def _occurred_at(value, now, error) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        error("occurred_at", "Give an ISO 8601 time, e.g. 2026-11-30T10:00:00Z.")
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        error("occurred_at", "Not an ISO 8601 time, e.g. 2026-11-30T10:00:00Z.")
        return None
    if timezone.is_naive(moment):
        error("occurred_at", "Give a time zone, e.g. 2026-11-30T10:00:00Z.")
        return None
    if moment > now + MAX_FUTURE:
        error("occurred_at", "More than a day in the future.")
    elif moment < now - MAX_PAST:
        error("occurred_at", "More than five years ago.")
    return moment


def _value(value, error) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        error("value", "Give a number.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        error("value", "Give a finite number.")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        error("value", "Give a number.")
        return None
    if not number.is_finite():
        error("value", "Give a finite number.")
        return None
    if abs(number) >= MAX_VALUE:
        error("value", "Too large: at most 14 digits before the decimal point.")
        return None
    return number.quantize(Decimal("0.000001"))


def _attributes(value, error) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        error("attributes", "Give an object.")
        return {}
    if _depth(value) > MAX_ATTRIBUTES_DEPTH:
        error("attributes", f"Nested deeper than {MAX_ATTRIBUTES_DEPTH} levels.")
        return {}
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        error("attributes", f"Over {MAX_ATTRIBUTES_BYTES // 1024} KB once serialised.")
        return {}
    return value


def _depth(value, level: int = 1) -> int:
    """An object or list is one level; the values inside it add theirs."""
    if level > MAX_ATTRIBUTES_DEPTH + 1:
        return level
    children = value.values() if isinstance(value, dict) else value
    deepest = level
    for child in children:
        if isinstance(child, dict | list):
            deepest = max(deepest, _depth(child, level + 1))
    return deepest


def _hints(item, error) -> tuple[dict, dict | None]:
    """The identity hints as stored on the signal and given to resolution."""
    hints: dict = {}
    account = item.get("account")
    if account is not None:
        if not isinstance(account, dict):
            error("account", "Give an object.")
        else:
            _check_object(account, ACCOUNT_KEYS, "account", error)
            _check_account(account, error)
            hints["account"] = account
    contact = item.get("contact")
    if contact is not None:
        if not isinstance(contact, dict):
            error("contact", "Give an object.")
            contact = None
        else:
            _check_object(contact, CONTACT_KEYS, "contact", error)
            email = contact.get("email")
            if email is not None:
                try:
                    if not isinstance(email, str):
                        raise ValidationError("")
                    validate_email(email.strip())
                except ValidationError:
                    error("contact.email", "Not a valid email address.")
            hints["contact"] = contact
    ip = item.get("ip")
    if ip is not None:
        try:
            ip_address(ip if isinstance(ip, str) else "")
            hints["ip"] = ip
        except ValueError:
            error("ip", "Not an IPv4 or IPv6 address.")
    return hints, contact


def _check_object(value: dict, allowed: set[str], name: str, error) -> None:
    for key in sorted(set(value) - allowed):
        error(f"{name}.{key}", "Unknown field.")
    for key in sorted(allowed & set(value)):
        if key in ("id", "identifier"):
            continue
        field_value = value[key]
        if field_value is not None and not isinstance(field_value, str):
            error(f"{name}.{key}", "Give a string.")
        elif isinstance(field_value, str) and len(field_value) > 255:
            error(f"{name}.{key}", "At most 255 characters.")


def _check_account(account: dict, error) -> None:
    account_id = account.get("id")
    if account_id is not None and (isinstance(account_id, bool) or not isinstance(account_id, int)):
        error("account.id", "Give the account id as an integer.")
    identifier = account.get("identifier")
    if identifier is None:
        return
    if not isinstance(identifier, dict):
        error("account.identifier", "Give an object with 'system' and 'id'.")
        return
    for key in sorted(set(identifier) - IDENTIFIER_KEYS):
        error(f"account.identifier.{key}", "Unknown field.")
    if identifier.get("system") not in IdentifierSystem.values:
        error(
            "account.identifier.system",
            f"Give one of: {', '.join(IdentifierSystem.values)}.",
        )
    if not isinstance(identifier.get("id"), str) or not identifier["id"].strip():
        error("account.identifier.id", "Give the id in that system as a string.")


def resolution_hints(hints: dict) -> dict:
    """The stored hints of a signal, as `resolve_batch` takes them."""
    account = hints.get("account") or {}
    return {
        "account_id": account.get("id"),
        "identifier": account.get("identifier"),
        "domain": account.get("domain") or account.get("url"),
        "name": account.get("name"),
        "country": account.get("country"),
        "email": (hints.get("contact") or {}).get("email"),
        "ip": hints.get("ip"),
    }


# Storing ------------------------------------------------------------------------------


def _drop_duplicates(valid: list[_Valid]) -> list[_Valid]:
    """Items whose (source, external_id) is new: not stored yet, not earlier in the batch."""
    if not valid:
        return []
    stored = set(
        Signal.objects.filter(
            source_id__in={item.source.pk for item in valid},
            external_id__in={item.external_id for item in valid},
        ).values_list("source_id", "external_id")
    )
    fresh = []
    for item in valid:
        key = (item.source.pk, item.external_id)
        if key not in stored:
            stored.add(key)
            fresh.append(item)
    return fresh


def _signal_row(item: _Valid, resolution, contact_ids: dict, now) -> Signal:
    email = ((item.contact or {}).get("email") or "").strip().lower()
    return Signal(
        source=item.source,
        type=item.type,
        occurred_at=item.occurred_at,
        received_at=now,
        account_id=resolution.account_id,
        contact_id=contact_ids.get(email) if resolution.matched else None,
        value=item.value,
        topic=item.topic,
        attributes=item.attributes,
        external_id=item.external_id,
        hints=item.hints,
        match_method=resolution.method,
        match_confidence=(
            Decimal(str(resolution.confidence)).quantize(Decimal("0.0001"))
            if resolution.matched
            else None
        ),
    )


def _store(rows: list[Signal], received_at, *, identities=None, candidates=None) -> list[Signal]:
    """Insert the rows and refresh the rollups and review queue entries they touch, in
    one short transaction.

    Rows are inserted in (source, external_id) order, so that two writers sending
    overlapping batches wait on each other's unique keys in the same order and never
    deadlock; a row another writer stored first is skipped. Returns the rows this call
    stored.
    """
    rows.sort(key=lambda row: (row.source_id, row.external_id))
    with transaction.atomic():
        Signal.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
        ours = set(
            Signal.objects.filter(
                received_at=received_at,
                source_id__in={row.source_id for row in rows},
                external_id__in={row.external_id for row in rows},
            ).values_list("source_id", "external_id")
        )
        stored = [row for row in rows if (row.source_id, row.external_id) in ours]
        rollups_refresh(
            keys={
                (row.account_id, row.type_id, _utc_day(row.occurred_at))
                for row in stored
                if row.account_id is not None
            }
        )
        identities_refresh(
            keys={row.review_key for row in stored if row.account_id is None},
            identities=identities,
            candidates=candidates,
        )
    return stored


def _record_engagement(rows: Iterable[Signal]) -> None:
    """Contacts' `last_engaged_at` follows their newest signal."""
    seen: dict[int, datetime] = {}
    for row in rows:
        if row.contact_id is not None:
            seen[row.contact_id] = max(row.occurred_at, seen.get(row.contact_id, row.occurred_at))
    if seen:
        contacts_engagement_record(seen=seen)


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# Rollups ------------------------------------------------------------------------------


def rollups_refresh(*, keys: Iterable[tuple[int, int, date]]) -> int:
    """Recompute the daily rollups of these (account, type, day) keys from the signals.

    Correct under concurrent writers: the rollup rows are created if missing and locked
    in key order before the signals are read, so a second writer recomputes after the
    first has finished and sees its signals. Rows left without signals are removed.
    Returns how many rollup rows now exist for the keys.
    """
    keys = sorted(set(keys))
    if not keys:
        return 0
    with transaction.atomic():
        AccountSignalDaily.objects.bulk_create(
            [AccountSignalDaily(account_id=a, type_id=t, day=d) for a, t, d in keys],
            batch_size=INSERT_BATCH,
            ignore_conflicts=True,
        )
        accounts = {a for a, _, _ in keys}
        type_ids = {t for _, t, _ in keys}
        first, last = min(d for _, _, d in keys), max(d for _, _, d in keys)
        wanted = set(keys)
        rows = {
            (row.account_id, row.type_id, row.day): row
            for row in AccountSignalDaily.objects.select_for_update()
            .filter(account_id__in=accounts, type_id__in=type_ids, day__range=(first, last))
            .order_by("account_id", "type_id", "day")
            if (row.account_id, row.type_id, row.day) in wanted
        }
        signals = Signal.objects.filter(
            account_id__in=accounts,
            type_id__in=type_ids,
            occurred_at__gte=_day_start(first),
            occurred_at__lt=_day_start(last + timedelta(days=1)),
        )
        totals = {
            (entry["account_id"], entry["type_id"], entry["day"]): entry
            for entry in signals.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
            .values("account_id", "type_id", "day")
            .annotate(
                n=Count("pk"),
                total=Sum("value"),
                contacts=Count("contact_id", distinct=True),
            )
            .order_by()
        }
        latest = _latest_gauge_values(signals, type_ids)
        changed, empty = [], []
        for key, row in rows.items():
            entry = totals.get(key)
            if entry is None:
                empty.append(row.pk)
                continue
            row.count = entry["n"]
            row.value_sum = Decimal(entry["total"] or 0)
            row.distinct_contacts = entry["contacts"]
            row.last_value = latest.get(key)
            changed.append(row)
        # An upsert on the (already locked) rows: one statement per batch, where an
        # UPDATE ... CASE per row and field grows with the batch size squared.
        AccountSignalDaily.objects.bulk_create(
            changed,
            batch_size=INSERT_BATCH,
            update_conflicts=True,
            unique_fields=["account", "type", "day"],
            update_fields=["count", "value_sum", "last_value", "distinct_contacts"],
        )
        if empty:
            AccountSignalDaily.objects.filter(pk__in=empty).delete()
    return len(changed)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _latest_gauge_values(signals, type_ids) -> dict[tuple[int, int, date], Decimal]:
    """The last value of each day for gauge types (a level, where the latest counts)."""
    gauges = set(
        SignalType.objects.filter(pk__in=type_ids, aggregation=Aggregation.GAUGE).values_list(
            "pk", flat=True
        )
    )
    if not gauges:
        return {}
    latest = {}
    for account_id, type_id, occurred_at, value in (
        signals.filter(type_id__in=gauges, value__isnull=False)
        .order_by("occurred_at", "pk")
        .values_list("account_id", "type_id", "occurred_at", "value")
    ):
        latest[(account_id, type_id, _utc_day(occurred_at))] = value
    return latest
