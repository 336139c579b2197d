"""The signal timeline on the account page, registered into the account graph's pages,
and the signals' part of the account timeline API (`accounts.timeline`)."""

import base64
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from accounts import timeline as account_timeline
from accounts.web import registry

from .models import AccountSignalDaily, Signal
from .selectors import signal_list

PAGE_SIZE = 20
WEEKS = 12
CURSOR_PARAM = "signals_cursor"


def encode_cursor(signal) -> str:
    raw = f"{signal.occurred_at.isoformat()}|{signal.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    """`(occurred_at, id)` of the last signal shown, or None for a cursor that does not
    parse (a mangled link shows the latest signals rather than an error)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.rsplit("|", 1)
        occurred_at = datetime.fromisoformat(when)
        if occurred_at.tzinfo is None:
            return None
        return occurred_at, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def timeline_page(*, account, cursor: str = ""):
    """The account's signals, newest first, PAGE_SIZE at a time after `cursor`: one
    query on the (account, occurred_at) index, however many signals the account has."""
    signals = signal_list().filter(account=account)
    after = decode_cursor(cursor) if cursor else None
    if after:
        occurred_at, pk = after
        signals = signals.filter(
            Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, pk__lt=pk)
        )
    rows = list(signals[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (encode_cursor(rows[-1]) if more else None)


def weekly_counts(*, account, today=None):
    """Signals per week over the last WEEKS weeks (the last one ends today), from the
    daily rollup: one GROUP BY over at most WEEKS x 7 days x types rows."""
    today = today or timezone.now().date()
    first = today - timedelta(days=7 * WEEKS - 1)
    by_day = dict(
        AccountSignalDaily.objects.filter(account=account, day__gte=first, day__lte=today)
        .values_list("day")
        .annotate(n=Sum("count"))
        .order_by()
    )
    weeks = []
    for w in range(WEEKS):
        start = first + timedelta(days=7 * w)
        total = sum(by_day.get(start + timedelta(days=d), 0) for d in range(7))
        weeks.append((start.strftime("%d %b"), int(total)))
    return weeks


def _timeline(account, request):
    cursor = request.GET.get(CURSOR_PARAM, "")
    rows, next_cursor = timeline_page(account=account, cursor=cursor)
    context = {
        "signals": rows,
        "next_cursor": next_cursor,
        "cursor_param": CURSOR_PARAM,
        "paged": bool(cursor),
    }
    if not request.htmx:
        # The weekly chart is not part of an htmx "more" fragment: skip its query there.
        context["weeks"] = weekly_counts(account=account)
        context["weeks_total"] = sum(n for _, n in context["weeks"])
    return context


def _signal_summary(signal) -> str:
    details = [signal.topic]
    if signal.value is not None:
        details.append(f"{signal.value.normalize():f} {signal.type.unit}".strip())
    if signal.contact_id:
        details.append(signal.contact.email)
    shown = ", ".join(detail for detail in details if detail)
    return f"{signal.type.key}: {shown}" if shown else signal.type.key


def signal_entries(*, account_id: int, cursor, limit: int) -> list:
    """The account's signals for its timeline: one query on the (account, occurred_at) index."""
    signals = Signal.objects.filter(account_id=account_id).select_related(
        "source", "type", "contact"
    )
    rows = account_timeline.after(signals, cursor, kind=SIGNAL, time_field="occurred_at")
    return [
        account_timeline.Entry(
            time=signal.occurred_at,
            kind=SIGNAL,
            id=signal.pk,
            action=signal.type.key,
            summary=_signal_summary(signal),
            data={
                "type": signal.type.key,
                "source": signal.source.slug,
                "value": None if signal.value is None else str(signal.value),
                "topic": signal.topic,
                "contact": signal.contact.email if signal.contact_id else None,
                "external_id": signal.external_id,
                "match_method": signal.match_method,
            },
        )
        for signal in rows[:limit]
    ]


SIGNAL = "signal"


def register():
    registry.register_account_panel(
        "signals",
        order=30,
        title="Signals",
        template="signals/panels/timeline.html",
        context=_timeline,
    )
    account_timeline.register_timeline_source(
        SIGNAL,
        entries=signal_entries,
        description="A signal, when it occurred; `action` is its type (web.visit, "
        "intent.surge...), `data` its source, value, topic and contact.",
    )
