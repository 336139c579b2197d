"""Writes of the signal layer: ingestion and the rollups that follow every write.

A batch costs the same number of queries whatever its size (DESIGN §4, §10): items are
validated in Python (signals/validation.py), the (source, external_id)s already stored
are read in one query, identity resolution runs one query per step, contacts are read
and created in bulk, and one short transaction then loads the rows as tuples (COPY on
PostgreSQL, one executemany on SQLite), adds them to the daily rollups and recounts the
review-queue entries of the keys it touched with a few set-based statements, and moves
the contacts' last engagement forward.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from abx_site.common.bulk import bulk_load
from abx_site.common.gc_pause import cyclic_gc_paused
from abx_site.common.rowsets import rowset
from accounts.identity import Resolution, resolve_batch
from accounts.services import contacts_engagement_record, contacts_get_or_create_bulk

from .choices import Aggregation
from .hooks import signals_ingested_announce
from .models import Signal, SignalType, Source
from .queue import candidates_of, identities_refresh, identity_of
from .validation import ItemValidator, ValidItem

MAX_ITEMS = 5_000
KEY_SOURCE_REFUSAL = "This API key may only send signals for the source '{source}'."

# A stored row, as a tuple in this order (the load's columns, PostgreSQL types).
SIGNAL_COLUMNS = (
    ("source", "bigint"),
    ("type", "bigint"),
    ("occurred_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("account", "bigint"),
    ("contact", "bigint"),
    ("value", "numeric"),
    ("topic", "text"),
    ("attributes", "jsonb"),
    ("external_id", "text"),
    ("hints", "jsonb"),
    ("match_method", "text"),
    ("match_confidence", "numeric"),
    ("review_key", "text"),
)
SOURCE, TYPE, OCCURRED_AT, ACCOUNT, CONTACT, VALUE = 0, 1, 2, 4, 5, 6
EXTERNAL_ID, REVIEW_KEY = 9, 13
_identity = itemgetter(SOURCE, EXTERNAL_ID)
CONFIDENCE = Decimal("0.0001")


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


def signals_ingest(
    *, items: Sequence, key_source: str | None = None, refusal: str = KEY_SOURCE_REFUSAL
) -> IngestResult:
    """Validate, de-duplicate, resolve and store a batch of signal items (DESIGN §4).

    Invalid items are reported by index with field errors and never stop their valid
    neighbours. A `(source, external_id)` already stored, or seen earlier in the same
    batch, is a duplicate: the first one stands. `key_source` is the slug of the source
    an API key is bound to (or the webhook's source); items for other sources are
    refused with `refusal`. Once the batch commits, the ingest hooks hear of it
    (`signals.hooks`: playbooks evaluate soon after).
    """
    with cyclic_gc_paused():
        result = _ingest(items, key_source=key_source, refusal=refusal)
    signals_ingested_announce(result)
    return result


def _ingest(items: Sequence, *, key_source: str | None, refusal: str) -> IngestResult:
    result = IngestResult()
    now = timezone.now()
    types = {signal_type.key: signal_type for signal_type in SignalType.objects.all()}
    validate = ItemValidator(
        sources={source.slug: source for source in Source.objects.all()},
        types=types,
        now=now,
        key_source=key_source,
        refusal=refusal,
    )
    valid: list[ValidItem] = []
    for index, item in enumerate(items):
        parsed, errors = validate(item, index)
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
            if resolution.account_id is not None and item.contact and item.contact.get("email")
        ]
    )
    rows, identities, candidates = [], {}, {}
    for item, resolution in zip(fresh, resolutions, strict=True):
        review_key = ""
        if resolution.account_id is None:
            identity = identity_of(item.hints)
            if identity is not None:
                review_key = identity.key
                identities.setdefault(review_key, identity)
                if resolution.candidates:
                    candidates[review_key] = candidates_of(resolution)
        rows.append(_signal_row(item, resolution, contact_ids, now, review_key))
    gauges = {t.pk for t in types.values() if t.aggregation == Aggregation.GAUGE}
    stored = _store(rows, gauges=gauges, identities=identities, candidates=candidates)
    result.accepted = len(stored)
    result.duplicates += len(rows) - len(stored)
    result.matched = sum(1 for row in stored if row[ACCOUNT] is not None)
    result.unmatched = result.accepted - result.matched
    return result


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


def _drop_duplicates(valid: list[ValidItem]) -> list[ValidItem]:
    """Items whose (source, external_id) is new: not stored yet, not earlier in the batch."""
    if not valid:
        return []
    stored = _stored_keys({(item.source.pk, item.external_id) for item in valid})
    fresh = []
    for item in valid:
        key = (item.source.pk, item.external_id)
        if key not in stored:
            stored.add(key)
            fresh.append(item)
    return fresh


def _stored_keys(keys: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (source, external_id)s are stored: one statement, one probe of the
    unique index per key. (A join would let PostgreSQL's planner, which cannot see how
    few keys come, hash the whole signals table instead; a scalar subquery stays a probe.)
    """
    table, params = rowset("k", [("source_id", "bigint"), ("external_id", "text")], keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k.source_id, k.external_id FROM {table} WHERE ("  # noqa: S608 - no input in the text
            "SELECT s.id FROM signals_signal s "
            "WHERE s.source_id = k.source_id AND s.external_id = k.external_id"
            ") IS NOT NULL",
            params,
        )
        return set(cursor.fetchall())


def _signal_row(item: ValidItem, resolution: Resolution, contact_ids, now, review_key) -> tuple:
    contact_id = confidence = None
    if resolution.account_id is not None:
        if item.contact:
            email = item.contact.get("email")
            if email:
                contact_id = contact_ids.get(email.strip().lower())
        confidence = _confidence(resolution.confidence)
    return (
        item.source.pk,
        item.type.pk,
        item.occurred_at,
        now,
        resolution.account_id,
        contact_id,
        item.value,
        item.topic,
        json.dumps(item.attributes) if item.attributes else "{}",
        item.external_id,
        json.dumps(item.hints) if item.hints else "{}",
        resolution.method,
        confidence,
        review_key,
    )


_confidences: dict[float, Decimal] = {}


def _confidence(value: float) -> Decimal:
    """A match confidence as stored (4 decimals); the few distinct ones are converted once."""
    found = _confidences.get(value)
    if found is None:
        found = Decimal(str(value)).quantize(CONFIDENCE)
        if len(_confidences) < 10_000:
            _confidences[value] = found
    return found


def _store(rows: list[tuple], *, gauges: set[int], identities=None, candidates=None) -> list[tuple]:
    """Insert the rows and bring what follows from them in step, in one short transaction:
    the daily rollups and review queue entries they touch, and their contacts' last
    engagement. Returns the rows this call stored (another writer may have stored some
    of the same (source, external_id)s first).

    Rows go in in (source, external_id) order, so that two writers sending overlapping
    batches wait on each other's unique keys in the same order and never deadlock; the
    rollups and queue entries are then locked in key order too.
    """
    rows.sort(key=_identity)
    with transaction.atomic():
        stored = _insert(rows)
        _rollups_add(stored, gauges=gauges)
        identities_refresh(
            keys={row[REVIEW_KEY] for row in stored if row[ACCOUNT] is None},
            identities=identities,
            candidates=candidates,
        )
        _record_engagement(stored)
    return stored


def _insert(rows: list[tuple]) -> list[tuple]:
    """Load the rows the fast way; if another writer stored some of their
    (source, external_id)s since they were looked up, insert the others instead."""
    try:
        with transaction.atomic():
            bulk_load(Signal, [name for name, _ in SIGNAL_COLUMNS], rows)
        return rows
    except IntegrityError:
        pass
    columns = ", ".join(Signal._meta.get_field(name).column for name, _ in SIGNAL_COLUMNS)
    typed = [(Signal._meta.get_field(name).column, kind) for name, kind in SIGNAL_COLUMNS]
    table, params = rowset("k", typed, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO signals_signal ({columns}) "  # noqa: S608 - names from the model
            f"SELECT {columns} FROM {table} WHERE true ORDER BY source_id, external_id "
            "ON CONFLICT (source_id, external_id) DO NOTHING RETURNING source_id, external_id",
            params,
        )
        ours = set(cursor.fetchall())
    return [row for row in rows if _identity(row) in ours]


def _record_engagement(rows: Iterable[tuple]) -> None:
    """Contacts' `last_engaged_at` follows their newest signal."""
    seen: dict[int, datetime] = {}
    for row in rows:
        contact_id = row[CONTACT]
        if contact_id is not None:
            moment = row[OCCURRED_AT]
            if contact_id not in seen or seen[contact_id] < moment:
                seen[contact_id] = moment
    if seen:
        contacts_engagement_record(seen=seen)


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# Rollups ------------------------------------------------------------------------------

ROLLUP_KEYS = (
    ("account_id", "bigint"),
    ("type_id", "bigint"),
    ("day", "date"),
    ("day_start", "timestamptz"),
    ("day_end", "timestamptz"),
)
# The signals of a key: one range of the (account, occurred_at) index.
_OF_KEY = (
    "{s}.account_id = k.account_id AND {s}.type_id = k.type_id "
    "AND {s}.occurred_at >= k.day_start AND {s}.occurred_at < k.day_end"
)
# Creates the missing rows and locks them all, in key order, before the signals are read
# (PostgreSQL; SQLite's single writer already excludes the others). `WHERE false` locks
# an existing row without writing a new version of it.
_ROLLUPS_LOCK = """
INSERT INTO signals_accountsignaldaily
    (account_id, type_id, day, count, value_sum, distinct_contacts)
SELECT k.account_id, k.type_id, k.day, 0, 0, 0 FROM {keys}
ORDER BY k.account_id, k.type_id, k.day
ON CONFLICT (account_id, type_id, day) DO UPDATE SET count = excluded.count WHERE false
"""
_ROLLUPS_RECOMPUTE = f"""
INSERT INTO signals_accountsignaldaily
    (account_id, type_id, day, count, value_sum, last_value, distinct_contacts)
SELECT k.account_id, k.type_id, k.day, COUNT(*), {{total}},
    CASE WHEN t.aggregation = '{Aggregation.GAUGE.value}' THEN (
        SELECT g.value FROM signals_signal g
        WHERE {_OF_KEY.format(s="g")} AND g.value IS NOT NULL
        ORDER BY g.occurred_at DESC, g.id DESC LIMIT 1
    ) END,
    COUNT(DISTINCT s.contact_id)
FROM {{keys}}
JOIN signals_signaltype t ON t.id = k.type_id
JOIN signals_signal s ON {_OF_KEY.format(s="s")}
WHERE true
GROUP BY k.account_id, k.type_id, k.day, k.day_start, k.day_end, t.aggregation
ON CONFLICT (account_id, type_id, day) DO UPDATE SET count = excluded.count,
    value_sum = excluded.value_sum, last_value = excluded.last_value,
    distinct_contacts = excluded.distinct_contacts
"""  # noqa: S608 - no input in the text: keys are bound parameters
_ROLLUPS_PRUNE = f"""
DELETE FROM signals_accountsignaldaily WHERE id IN (
    SELECT d.id FROM {{keys}}
    JOIN signals_accountsignaldaily d
        ON d.account_id = k.account_id AND d.type_id = k.type_id AND d.day = k.day
    WHERE NOT EXISTS (SELECT 1 FROM signals_signal s WHERE {_OF_KEY.format(s="s")})
)
"""  # noqa: S608 - no input in the text: keys are bound parameters
# SQLite sums the value column in floating point: rounded to the column's 6 decimals.
_TOTAL = {
    "postgresql": "COALESCE(SUM(s.value), 0)",
    "sqlite": "ROUND(COALESCE(SUM(s.value), 0), 6)",
}


def rollups_refresh(*, keys: Iterable[tuple[int, int, date]]) -> int:
    """Recompute the daily rollups of these (account, type, day) keys from the signals.

    A few statements whatever the number of keys: each key reads its day's range of the
    (account, occurred_at) index. Correct under concurrent writers: on PostgreSQL the
    rollup rows are created if missing and locked in key order before the signals are
    read, so a second writer recomputes after the first has committed and sees its
    signals. Rows left without signals are removed. Returns how many rollup rows now
    exist for the keys.
    """
    keys = sorted(set(keys))
    if not keys:
        return 0
    one_day = timedelta(days=1)
    table, params = rowset(
        "k",
        ROLLUP_KEYS,
        [(a, t, d, _day_start(d), _day_start(d + one_day)) for a, t, d in keys],
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_ROLLUPS_LOCK.format(keys=table), params)
        total = _TOTAL.get(connection.vendor, _TOTAL["postgresql"])
        cursor.execute(_ROLLUPS_RECOMPUTE.format(keys=table, total=total), params)
        written = cursor.rowcount
        if written < len(keys):
            cursor.execute(_ROLLUPS_PRUNE.format(keys=table), params)
    return written


ROLLUP_DELTAS = (
    ("account_id", "bigint"),
    ("type_id", "bigint"),
    ("day", "date"),
    ("n", "integer"),
    ("total", "numeric"),
    ("last_value", "numeric"),
    ("contacts", "integer"),
)
# New signals added to their days, in key order (so two writers lock rows in the same
# order and never deadlock): a missing row is created with what the batch brought, as
# a rollup is kept for every day with signals and none other had any; an existing row
# has its count and sum incremented atomically, which no concurrent writer can undo.
# The returned counts tell which rows existed: theirs are larger than the batch's.
_ROLLUPS_ADD = """
INSERT INTO signals_accountsignaldaily
    (account_id, type_id, day, count, value_sum, last_value, distinct_contacts)
SELECT k.account_id, k.type_id, k.day, k.n, k.total, k.last_value, k.contacts FROM {keys}
WHERE true ORDER BY k.account_id, k.type_id, k.day
ON CONFLICT (account_id, type_id, day) DO UPDATE SET
    count = signals_accountsignaldaily.count + excluded.count,
    value_sum = {value_sum}
RETURNING account_id, type_id, day, count
"""
_VALUE_SUM = {
    "postgresql": "signals_accountsignaldaily.value_sum + excluded.value_sum",
    "sqlite": "ROUND(signals_accountsignaldaily.value_sum + excluded.value_sum, 6)",
}
ROLLUP_RECOUNTS = (*ROLLUP_KEYS, ("gauge", "integer"))
# What does not add up is read again from the signals of an existing row's key, where
# the batch changed it: the distinct contacts of a day that got signals from people,
# and a gauge's latest value. A statement after the increments, so every row is locked
# by then and the signals read include those of any writer that held one before.
_ROLLUPS_RECOUNT = f"""
INSERT INTO signals_accountsignaldaily
    (account_id, type_id, day, count, value_sum, last_value, distinct_contacts)
SELECT k.account_id, k.type_id, k.day, 0, 0,
    CASE WHEN k.gauge = 1 THEN (
        SELECT g.value FROM signals_signal g
        WHERE {_OF_KEY.format(s="g")} AND g.value IS NOT NULL
        ORDER BY g.occurred_at DESC, g.id DESC LIMIT 1
    ) END,
    (SELECT COUNT(DISTINCT c.contact_id) FROM signals_signal c WHERE {_OF_KEY.format(s="c")})
FROM {{keys}}
WHERE true
ON CONFLICT (account_id, type_id, day) DO UPDATE SET
    last_value = excluded.last_value, distinct_contacts = excluded.distinct_contacts
"""  # noqa: S608 - no input in the text: keys are bound parameters


@dataclass(slots=True)
class _Delta:
    """What a batch brings to one (account, type, day)."""

    n: int = 0
    total: Decimal = Decimal(0)
    contacts: set = field(default_factory=set)
    latest: tuple | None = None  # (occurred_at, position, value) of the last valued signal


def _rollups_add(rows: Sequence[tuple], *, gauges: set[int]) -> int:
    """Add newly stored signals (rows as `_store` stored them, in insertion order) to
    their daily rollups.

    One statement creates the rows of new keys with what the batch brought and
    increments the count and sum of existing ones; for the existing keys where the batch
    brought a contact or a gauge value, a second reads the day's distinct contacts and
    latest value again from the signals. Returns how many rollup rows were touched.
    """
    deltas: dict[tuple[int, int, date], _Delta] = {}
    for position, row in enumerate(rows):
        account_id = row[ACCOUNT]
        if account_id is None:
            continue
        moment = row[OCCURRED_AT]
        key = (account_id, row[TYPE], _utc_day(moment))
        delta = deltas.get(key)
        if delta is None:
            delta = deltas[key] = _Delta()
        delta.n += 1
        value = row[VALUE]
        if value is not None:
            delta.total += value
            # Ties on the moment go to the later insert (the higher id), as when read back.
            if delta.latest is None or delta.latest[:2] <= (moment, position):
                delta.latest = (moment, position, value)
        if row[CONTACT] is not None:
            delta.contacts.add(row[CONTACT])
    if not deltas:
        return 0
    keys = sorted(deltas)
    values = []
    for key in keys:
        delta = deltas[key]
        gauge = key[1] in gauges and delta.latest is not None
        values.append(
            (*key, delta.n, delta.total, delta.latest[2] if gauge else None, len(delta.contacts))
        )
    table, params = rowset("k", ROLLUP_DELTAS, values)
    value_sum = _VALUE_SUM.get(connection.vendor, _VALUE_SUM["postgresql"])
    with connection.cursor() as cursor:
        cursor.execute(_ROLLUPS_ADD.format(keys=table, value_sum=value_sum), params)
        existed = [
            (account_id, type_id, _as_date(day))
            for account_id, type_id, day, count in cursor.fetchall()
            if count != deltas[(account_id, type_id, _as_date(day))].n
        ]
        recounts = []
        for key in sorted(existed):
            gauge = key[1] in gauges
            if gauge or deltas[key].contacts:
                day = key[2]
                bounds = (_day_start(day), _day_start(day + timedelta(days=1)))
                recounts.append((*key, *bounds, int(gauge)))
        if recounts:
            table, params = rowset("k", ROLLUP_RECOUNTS, recounts)
            cursor.execute(_ROLLUPS_RECOUNT.format(keys=table), params)
    return len(keys)


def _as_date(value) -> date:
    """A DateField as a raw cursor returns it (SQLite: ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
