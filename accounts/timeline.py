"""The account timeline (DESIGN §7): everything that happened to an account, in one stream.

Newest first, across apps: the account's own events (stage, tier, owner and parent
changes, merges) and deals opened and closed, from this app; signals, from `signals`;
activations started, held out, skipped and ended, step runs done, failed, skipped,
deferred or cancelled (with their reason), and tasks created and closed, from
`playbooks`. This app never imports the higher ones: each registers its *sources* in its
`AppConfig.ready()` with `register_timeline_source`.

A source is one kind of entry read from one table: given the account, the cursor and a
limit, it returns at most that many entries after the cursor, newest first, in **one
query** (`after()` builds the filter and the order). A page asks every source for
`limit + 1` entries, merges them by `(time, kind, id)` descending and keeps `limit`; the
last one kept is the next cursor when more remain. So a page costs one query per source
whatever its size, and the order is total: entries at the same moment are ordered by
kind, then id, so a cursor never skips or repeats one, even when many share a timestamp.

Moments stored as dates (a deal's created and close dates) stand at midnight UTC.
"""

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet

from .choices import DealStatus
from .models import AccountEvent, Deal

__all__ = [
    "Cursor",
    "Entry",
    "TimelineSource",
    "after",
    "cursor_decode",
    "cursor_encode",
    "register_timeline_source",
    "timeline_kinds",
    "timeline_page",
]


@dataclass(frozen=True)
class Entry:
    """One thing that happened: `action` says what (a stage change, `done`, `won`), `reason`
    why when there is one (a skip's, an exit's), `data` the details of its kind."""

    time: datetime
    kind: str
    id: int
    action: str
    summary: str
    reason: str = ""
    data: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[datetime, str, int]:
        return (self.time, self.kind, self.id)


@dataclass(frozen=True)
class Cursor:
    """The last entry of a page: the next page starts strictly after it."""

    time: datetime
    kind: str
    id: int


@dataclass(frozen=True)
class TimelineSource:
    """A kind of entry. `entries(account_id=, cursor=, limit=)` returns at most `limit`
    entries after `cursor` (None: from the newest), newest first, in one query."""

    kind: str
    entries: Callable[..., list[Entry]]
    description: str


_sources: dict[str, TimelineSource] = {}


def register_timeline_source(kind: str, *, entries, description: str) -> TimelineSource:
    # Registering a kind again replaces it, so a reloaded ready() does not double it.
    _sources[kind] = TimelineSource(kind, entries, description)
    return _sources[kind]


def timeline_kinds() -> dict[str, str]:
    """Every kind of entry, with what it is, in kind order."""
    return {kind: _sources[kind].description for kind in sorted(_sources)}


def after(queryset: QuerySet, cursor: Cursor | None, *, kind: str, time_field: str) -> QuerySet:
    """`queryset` newest first by `time_field` (then id), strictly after `cursor` in the
    timeline's `(time, kind, id)` order, for a source of `kind`.

    `time_field` is a datetime field or annotation, or a date field (its entries stand
    at midnight UTC).
    """
    ordered = queryset.order_by(f"-{time_field}", "-pk")
    if cursor is None:
        return ordered
    moment = cursor.time
    if _is_date_field(queryset, time_field):
        moment = moment.astimezone(UTC)
        if moment.time() != time():
            # Between two midnights: every day up to the cursor's own came before it.
            return ordered.filter(**{f"{time_field}__lte": moment.date()})
        moment = moment.date()
    earlier = Q(**{f"{time_field}__lt": moment})
    same = Q(**{time_field: moment})
    if kind < cursor.kind:
        keep = earlier | same
    elif kind == cursor.kind:
        keep = earlier | (same & Q(pk__lt=cursor.id))
    else:
        keep = earlier
    return ordered.filter(keep)


def _is_date_field(queryset: QuerySet, name: str) -> bool:
    try:
        model_field = queryset.model._meta.get_field(name)
    except FieldDoesNotExist:  # an annotation
        return False
    return model_field.get_internal_type() == "DateField"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def timeline_page(
    *, account_id: int, cursor: Cursor | None = None, limit: int = 50, kinds: Iterable[str] = ()
) -> tuple[list[Entry], Cursor | None]:
    """A page of the account's timeline after `cursor` (of the given kinds; none: all),
    and the cursor of the next page (None at the end). One query per source."""
    wanted = set(kinds)
    found: list[Entry] = []
    for source in _sources.values():
        if wanted and source.kind not in wanted:
            continue
        found.extend(source.entries(account_id=account_id, cursor=cursor, limit=limit + 1))
    found.sort(key=lambda entry: entry.key, reverse=True)
    page = found[:limit]
    more = len(found) > limit
    last = page[-1] if page else None
    return page, (Cursor(last.time, last.kind, last.id) if more and last else None)


def cursor_encode(cursor: Cursor) -> str:
    raw = f"{cursor.time.isoformat()}|{cursor.kind}|{cursor.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(value: str) -> Cursor:
    """The cursor a page gave out; ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        moment, kind, pk = raw.split("|")
        when = datetime.fromisoformat(moment)
        cursor = Cursor(when, kind, int(pk))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValueError("This cursor is not one the timeline gave out.") from None
    if when.tzinfo is None or not kind:
        raise ValueError("This cursor is not one the timeline gave out.")
    return cursor


# The account graph's own entries ------------------------------------------------------

ACCOUNT_EVENT = "account_event"
DEAL = "deal"
DEAL_CLOSED = "deal_closed"


def _event_summary(event: AccountEvent) -> str:
    label = event.get_kind_display()
    if event.old_value and event.new_value:
        return f"{label}: {event.old_value} → {event.new_value}"
    if event.new_value or event.old_value:
        return f"{label}: {event.new_value or event.old_value}"
    return label


def account_event_entries(*, account_id: int, cursor: Cursor | None, limit: int) -> list[Entry]:
    rows = after(
        AccountEvent.objects.filter(account_id=account_id).select_related("actor"),
        cursor,
        kind=ACCOUNT_EVENT,
        time_field="occurred_at",
    )[:limit]
    return [
        Entry(
            time=event.occurred_at,
            kind=ACCOUNT_EVENT,
            id=event.pk,
            action=event.kind,
            summary=_event_summary(event),
            data={
                "old": event.old_value,
                "new": event.new_value,
                "by": event.actor.get_username() if event.actor_id else event.actor_label,
                "details": event.data,
            },
        )
        for event in rows
    ]


def _deal_data(deal: Deal) -> dict:
    return {
        "name": deal.name,
        "kind": deal.kind,
        "stage": deal.stage,
        "status": deal.status,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "created_date": deal.created_date.isoformat(),
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
    }


def deal_entries(*, account_id: int, cursor: Cursor | None, limit: int) -> list[Entry]:
    rows = after(
        Deal.objects.filter(account_id=account_id),
        cursor,
        kind=DEAL,
        time_field="created_date",
    )[:limit]
    return [
        Entry(
            time=midnight(deal.created_date),
            kind=DEAL,
            id=deal.pk,
            action="opened",
            summary=f"Deal '{deal.name}' opened: {deal.amount} {deal.currency}",
            data=_deal_data(deal),
        )
        for deal in rows
    ]


def deal_closed_entries(*, account_id: int, cursor: Cursor | None, limit: int) -> list[Entry]:
    rows = after(
        Deal.objects.filter(
            account_id=account_id,
            status__in=[DealStatus.WON, DealStatus.LOST],
            close_date__isnull=False,
        ),
        cursor,
        kind=DEAL_CLOSED,
        time_field="close_date",
    )[:limit]
    return [
        Entry(
            time=midnight(deal.close_date),
            kind=DEAL_CLOSED,
            id=deal.pk,
            action=deal.status,
            summary=f"Deal '{deal.name}' {deal.status}: {deal.amount} {deal.currency}",
            data=_deal_data(deal),
        )
        for deal in rows
    ]


register_timeline_source(
    ACCOUNT_EVENT,
    entries=account_event_entries,
    description="A change in the account's own history: `action` is the event "
    "(created, stage_changed, tier_changed, owner_changed, parent_changed, merged, "
    "contact_erased); `data` has old, new, by and details.",
)
register_timeline_source(
    DEAL,
    entries=deal_entries,
    description="A deal opened, on its created date (midnight UTC); `data` is the deal.",
)
register_timeline_source(
    DEAL_CLOSED,
    entries=deal_closed_entries,
    description="A deal won or lost (`action`), on its close date (midnight UTC).",
)
