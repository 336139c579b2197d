"""The frames the built-in features read (see `frames.py`): one query per source.

Each frame narrows its source to the union of what its columns read (signal types,
days, time ranges, models), and each column reads its own part with an aggregate
`FILTER`, so a run asking for twenty signal windows still makes one pass over the
rollups.
"""

from collections import defaultdict
from datetime import date, datetime

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual

from accounts.choices import BuyingRole
from accounts.selectors import arr_change_list, contact_list, deal_list, team_member_list
from signals.selectors import signal_days_within, signals_within

from .frames import FrameColumn, GroupedFrame, LatestFrame, RowFrame, any_of

Ranges = tuple[tuple[datetime | None, datetime], ...]


def within(ranges: Ranges) -> Q:
    """`start <= occurred_at < end` in any of the ranges (`start` None: unbounded)."""
    conditions = []
    for start, end in ranges:
        bounds = Q(occurred_at__lt=end)
        if start is not None:
            bounds &= Q(occurred_at__gte=start)
        conditions.append(bounds)
    return any_of(conditions)


def merged(ranges: list[tuple[datetime | None, datetime]]) -> Ranges:
    """The same moments as fewer, disjoint ranges (an unbounded start sorts first)."""
    result: list[list] = []
    for start, end in sorted(ranges, key=lambda r: (r[0] is not None, r[0] or r[1])):
        if result and (start is None or start <= result[-1][1]):
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return tuple((start, end) for start, end in result)


# Signals ---------------------------------------------------------------------------------


class SignalDays(GroupedFrame):
    """Aggregates over the daily rollups; a column's scope is (types, first day, end day)."""

    name = "signal_days"

    def source(self, columns):
        # Each type only over its own days (a rare type's long window must not make
        # the pass read every type's rows that far back).
        days: dict[str, tuple[date, date]] = {}
        for column in columns:
            types, first, end = column.scope
            for key in types:
                low, high = days.get(key, (first, end))
                days[key] = (min(low, first), max(high, end))
        return signal_days_within(days)


def days_total(key, types, first_day: date, end_day: date, expression, output_field) -> FrameColumn:
    """SUM(expression) over the rollup rows of these types and UTC days
    `first_day <= day < end_day`; NULL for an account without such rows."""
    types = tuple(sorted(types))
    where = Q(type__key__in=list(types), day__gte=first_day, day__lt=end_day)
    return SignalDays().column(
        (key, types, first_day, end_day),
        Sum(expression, filter=where, output_field=output_field),
        output_field,
        scope=(types, first_day, end_day),
    )


class SignalRows(GroupedFrame):
    """Aggregates over the signals table; a column's scope is (types, ranges)."""

    name = "signals"

    def source(self, columns):
        # Each type only over its own ranges (see SignalDays).
        ranges_by_type = defaultdict(list)
        for column in columns:
            types, ranges = column.scope
            for key in types:
                ranges_by_type[key].extend(ranges)
        return signals_within({key: merged(ranges) for key, ranges in ranges_by_type.items()})


def signals_aggregate(key, types, ranges: Ranges, aggregate, output_field) -> FrameColumn:
    """`aggregate(where)` over the signals of these types inside the ranges, where
    `where` is the Q the aggregate filters on; NULL for an account without such signals."""
    types = tuple(sorted(types))
    ranges = tuple(ranges)
    where = Q(type__key__in=list(types)) & within(ranges)
    return SignalRows().column(
        (key, types, ranges), aggregate(where), output_field, scope=(types, ranges)
    )


class LatestSignal(LatestFrame):
    """Each account's latest signal with a value, of these types, before `end`; a column's
    scope is the start of the window it reads (None: no start)."""

    name = "latest_signal"
    ordering = (F("occurred_at").desc(), F("pk").desc())

    def __init__(self, types, end: datetime):
        super().__init__(tuple(sorted(types)), end)

    def source(self, columns):
        types, end = self.identity
        starts = [column.scope for column in columns]
        start = None if None in starts else min(starts)
        return signals_within({key: [(start, end)] for key in types}).filter(value__isnull=False)

    def value(self, start: datetime | None, output_field) -> tuple[FrameColumn, FrameColumn]:
        """(value, occurred_at) of the latest signal before `end`, read from `start` on."""
        return (
            self.column("value", F("value"), output_field, scope=start),
            self.column("occurred_at", F("occurred_at"), DateTimeField(), scope=start),
        )


def latest_value(types, end: datetime, start: datetime | None, output_field):
    """The value of the latest signal with a value of these types in `[start, end)`
    (`start` None: before `end`); NULL when there is none."""
    value, occurred_at = LatestSignal(types, end).value(start, output_field)
    if start is None:
        return value
    # The latest signal before `end` is the window's when it is inside the window.
    return Case(
        When(GreaterThanOrEqual(occurred_at, Value(start)), then=value),
        default=None,
        output_field=output_field,
    )


# Scores and snapshots ---------------------------------------------------------------------


class StoredScore(RowFrame):
    """One model's stored score and band (one row per account and model)."""

    name = "score"

    def source(self, columns):
        from ..models import AccountScore, ScoreModel

        (model_key,) = self.identity
        # By model id, not through a join on the key: the (model, account) index then
        # reads that model's rows alone, in account order.
        model_id = Subquery(ScoreModel.objects.filter(key=model_key).values("pk")[:1])
        return AccountScore.objects.filter(model_id=model_id)

    def field(self, field: str, output_field) -> FrameColumn:
        return self.column(field, F(field), output_field)


class SnapshotBefore(LatestFrame):
    """Each account's latest daily snapshot of a day before `day`."""

    name = "snapshot"
    ordering = (F("day").desc(),)

    def source(self, columns):
        from ..models import AccountSnapshot

        (day,) = self.identity
        return AccountSnapshot.objects.filter(day__lt=day)

    def field(self, key: str, expression, output_field) -> FrameColumn:
        return self.column(key, expression, output_field)


# Revenue -----------------------------------------------------------------------------------


class ArrOn(LatestFrame):
    """Each account's last ARR change effective on or before `on`."""

    name = "arr"
    ordering = (F("effective_date").desc(),)

    def source(self, columns):
        (on,) = self.identity
        return arr_change_list().filter(effective_date__lte=on)


class ArrExpansion(GroupedFrame):
    """ARR changes effective in `(start, end]`, each with the ARR before it."""

    name = "arr_expansion"

    def source(self, columns):
        start, end = self.identity
        previous = (
            arr_change_list()
            .filter(account=OuterRef("account"), effective_date__lt=OuterRef("effective_date"))
            .order_by("-effective_date")
            .values("arr")[:1]
        )
        return (
            arr_change_list()
            .filter(effective_date__gt=start, effective_date__lte=end)
            .alias(previous=Subquery(previous))
        )


class Deals(GroupedFrame):
    """Sums over the deals; a column's scope is the Q of the deals it adds up."""

    name = "deals"

    def source(self, columns):
        return deal_list().filter(any_of(column.scope for column in columns))

    def amount(self, key, deals: Q, output_field) -> FrameColumn:
        return self.column(key, Sum("amount", filter=deals), output_field, scope=deals)


# People ------------------------------------------------------------------------------------


class Committee(GroupedFrame):
    """Counts over the contacts with a known buying role; a column's scope is its Q."""

    name = "committee"

    def source(self, columns):
        return (
            contact_list()
            .exclude(buying_role=BuyingRole.UNKNOWN)
            .alias(joined=Coalesce("first_seen_at", "created_at"))
        )

    def count(self, key, contacts: Q, output_field) -> FrameColumn:
        return self.column(key, Count("pk", filter=contacts), output_field)


class TeamRoles(GroupedFrame):
    """The username holding each team role (one per role and account)."""

    name = "team"

    def source(self, columns):
        return team_member_list().filter(role__in=sorted({c.scope for c in columns}))

    def username(self, role: str, output_field) -> FrameColumn:
        return self.column(
            role, Min("user__username", filter=Q(role=role)), output_field, scope=role
        )
