"""Reads of the signal layer with business meaning."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from django.db.models import Q, QuerySet, Subquery

from .models import AccountSignalDaily, Signal, SignalType


def signal_list() -> QuerySet[Signal]:
    """Signals, newest first, with what a list shows: source, type, account, contact."""
    return Signal.objects.select_related("source", "type", "account", "contact").order_by(
        "-occurred_at", "-id"
    )


def accounts_with_signals_received(*, since: datetime) -> QuerySet:
    """Ids of the accounts that received a signal at or after `since` (a subquery)."""
    return (
        Signal.objects.filter(received_at__gte=since, account__isnull=False)
        .order_by()
        .values("account_id")
    )


# Windows for the feature catalog (metrics): plain querysets, unordered, which the
# catalog groups by account.


def signals_within(
    ranges_by_type: Mapping[str, Iterable[tuple[datetime | None, datetime]]],
) -> QuerySet[Signal]:
    """Matched signals of each type key inside that type's own ranges (`start <=
    occurred_at < end`, `start` None: no lower bound).

    Each (type, range) is one condition on the type id and the time alone, so the
    (type, occurred_at) index reads exactly those rows, one range scan per pair; a
    filter on the type's key (a join) or on several types' ranges at once would make
    PostgreSQL read every signal of the type and sort the window out afterwards.
    """
    within = Q(pk__in=[])
    for key, ranges in ranges_by_type.items():
        for start, end in ranges:
            bounds = Q(type_id=_type_id(key), occurred_at__lt=end)
            if start is not None:
                bounds &= Q(occurred_at__gte=start)
            within |= bounds
    return Signal.objects.filter(within, account__isnull=False).order_by()


def signal_days_within(
    days_by_type: Mapping[str, tuple[date, date]],
) -> QuerySet[AccountSignalDaily]:
    """Daily rollups of each type key for that type's own UTC days `first <= day < end`
    (one index range per type, as in `signals_within`)."""
    within = Q(pk__in=[])
    for key, (first_day, end_day) in days_by_type.items():
        within |= Q(type_id=_type_id(key), day__gte=first_day, day__lt=end_day)
    return AccountSignalDaily.objects.filter(within).order_by()


def _type_id(key: str) -> Subquery:
    # Evaluated once per query (PostgreSQL: an InitPlan), so the index sees a constant.
    return Subquery(SignalType.objects.filter(key=key).values("pk")[:1])


def signal_type_keys() -> set[str]:
    return set(SignalType.objects.values_list("key", flat=True))
