"""Reads of the signal layer with business meaning."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Q, QuerySet

from .models import AccountSignalDaily, Signal, SignalType


def signal_list() -> QuerySet[Signal]:
    """Signals, newest first, with what a list shows: source, type, account, contact."""
    return Signal.objects.select_related("source", "type", "account", "contact").order_by(
        "-occurred_at", "-id"
    )


# Windows for the feature catalog (metrics): plain querysets, unordered, meant to be
# correlated to an account with `.filter(account=OuterRef("pk"))`.


def signals_between(
    *, type_keys: Iterable[str], ranges: Iterable[tuple[datetime | None, datetime]]
) -> QuerySet[Signal]:
    """Matched signals of these types with `start <= occurred_at < end` in any range
    (`start` None: no lower bound)."""
    within = Q()
    for start, end in ranges:
        bounds = Q(occurred_at__lt=end)
        if start is not None:
            bounds &= Q(occurred_at__gte=start)
        within = within | bounds if within else bounds
    if not within:
        return Signal.objects.none()
    return Signal.objects.filter(
        within, type__key__in=list(type_keys), account__isnull=False
    ).order_by()


def signal_days_between(
    *, type_keys: Iterable[str], first_day: date, end_day: date
) -> QuerySet[AccountSignalDaily]:
    """Daily rollups of these types for UTC days `first_day <= day < end_day`."""
    return AccountSignalDaily.objects.filter(
        type__key__in=list(type_keys), day__gte=first_day, day__lt=end_day
    ).order_by()


def signal_type_keys() -> set[str]:
    return set(SignalType.objects.values_list("key", flat=True))
