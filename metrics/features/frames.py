"""Frames: how features are computed for a whole set of accounts at once.

A *frame* is one query over a source table (the signal rollups, the signals, the
stored scores, the snapshots, ...) that gives one row per account with every column
the requested features read from that source: all the signal-window counts of a run
as conditional aggregates in one pass over the rollups, every score model pivoted out
of the stored scores, the last snapshot before a day, and so on.

A feature's expression reads a frame through `Frame.column(...)`, a placeholder. The
one door, `annotate()` in `registry.py`, hands all the expressions it built to
`attach()`, which gathers the columns per frame (equal frames and equal columns once),
builds each frame as a common table expression (limited to the annotated accounts when
they are picked by id), LEFT JOINs it to the accounts and binds the placeholders to its
columns. Features stay
ORM expressions over the account row: filters, ordering and CASEs over them work as
before, and the database does one pass per source instead of one subquery per account
and feature (which PostgreSQL runs as a SubPlan per row).

A frame gives NULL for an account it has no row for (a LEFT JOIN): features wrap their
columns in `Coalesce` where "none" means 0.
"""

from collections.abc import Iterable, Iterator

from django.db import connections
from django.db.models import Expression, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.where import WhereNode
from django_cte import CTE, with_cte


class FrameColumn(Expression):
    """One column of a frame, inside a feature's expression (a placeholder).

    `key` identifies the column within its frame (equal keys are computed once);
    `value` is what the frame computes: an aggregate over the source rows for a
    `GroupedFrame`, a field of the kept row for a `LatestFrame`; `scope` is whatever the
    frame needs to know to narrow its source to the rows the column reads.
    """

    def __init__(self, frame, key, value, output_field, scope=None):
        super().__init__(output_field=output_field)
        self.frame = frame
        self.key = key
        self.value = value
        self.scope = scope
        self.bound = None

    def __repr__(self):
        return f"<FrameColumn {self.frame!r} {self.key!r}>"

    # Identity is the object: a placeholder is bound once, to its own annotate() call.
    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def resolve_expression(self, *args, **kwargs):
        if self.bound is None:
            raise ValueError(
                f"{self!r} is read outside metrics.features.annotate(): frame columns are "
                "joined by annotate()."
            )
        return self.bound.resolve_expression(*args, **kwargs)

    def as_sql(self, compiler, connection):  # pragma: no cover - resolved away first
        raise ValueError(f"{self!r} was not resolved.")


class Frame:
    """A source of feature columns, one row per account. Frames with the same class and
    `identity` are one query (so two features reading the rollups share one pass)."""

    name = "frame"

    def __init__(self, *identity):
        self.identity = identity

    def __eq__(self, other):
        return type(self) is type(other) and self.identity == other.identity

    def __hash__(self):
        return hash((type(self), self.identity))

    def __repr__(self):
        return f"<{type(self).__name__} {self.identity!r}>"

    def column(self, key, value, output_field, *, scope=None) -> FrameColumn:
        return FrameColumn(self, (type(self), self.identity, key), value, output_field, scope)

    def source(self, columns: list[FrameColumn]) -> QuerySet:
        """The rows of the source that `columns` (every request, repeats included) read;
        the source model has an `account` foreign key."""
        raise NotImplementedError

    def rows(
        self,
        accounts: QuerySet | None,
        named: dict[str, FrameColumn],
        columns: list[FrameColumn],
    ) -> QuerySet:
        """The frame's query: `account_id` and one value per name in `named`, over the
        rows of `accounts` (None: of every account)."""
        raise NotImplementedError


class GroupedFrame(Frame):
    """Columns are aggregates over the source rows of each account (GROUP BY account)."""

    def rows(self, accounts, named, columns):
        values = {name: column.value for name, column in named.items()}
        source = _among(self.source(columns), accounts)
        return source.order_by().values("account_id").annotate(**values)


class RowFrame(Frame):
    """Columns are fields of each account's one source row (the source holds at most one
    per account, e.g. one model's stored score)."""

    def rows(self, accounts, named, columns):
        values = {name: column.value for name, column in named.items()}
        return _among(self.source(columns), accounts).order_by().values("account_id", **values)


class LatestFrame(Frame):
    """Columns are fields of each account's first source row in `ordering` (the latest
    snapshot before a day, the latest signal with a value, ...)."""

    ordering: tuple = ()

    def rows(self, accounts, named, columns):
        values = {name: column.value for name, column in named.items()}
        ranked = (
            _among(self.source(columns), accounts)
            .order_by()
            .annotate(
                frame_rank=Window(
                    RowNumber(), partition_by=F("account_id"), order_by=list(self.ordering)
                )
            )
        )
        return ranked.filter(frame_rank=1).values("account_id", **values)


def _among(source: QuerySet, accounts: QuerySet | None) -> QuerySet:
    return source if accounts is None else source.filter(account__in=accounts)


def frame_columns(expressions: Iterable) -> Iterator[FrameColumn]:
    """Every frame column inside the expressions (Q objects and lookups included)."""
    for expression in expressions:
        if not hasattr(expression, "flatten"):
            continue
        for node in expression.flatten():
            if isinstance(node, FrameColumn):
                yield node


def attach(queryset: QuerySet, expressions: Iterable) -> QuerySet:
    """Join to `queryset` the frames the expressions read and bind their columns.

    Each frame is joined with a LEFT JOIN on the account id. When `queryset` picks its
    accounts by id (an explain, a chunk of ids) each frame reads only those accounts'
    rows, through the sources' account indexes; over a wider set (every live account,
    a tier) it reads the rows of the whole window and the join keeps the set's: told to
    keep a long list of ids, SQLite walks the source account by account, many times
    slower than one pass over the window.
    """
    by_frame: dict[Frame, dict[tuple, list[FrameColumn]]] = {}
    for column in frame_columns(expressions):
        by_frame.setdefault(column.frame, {}).setdefault(column.key, []).append(column)
    if not by_frame:
        return queryset
    accounts = queryset.order_by().values("pk") if _picks_by_id(queryset) else None
    # SQLite neither indexes nor keeps a CTE it inlines into a join, and would redo a
    # grouped frame for every account row: materialised, it is computed once and joined
    # through an automatic index. PostgreSQL plans an inlined frame as a hash join.
    materialized = connections[queryset.db].vendor == "sqlite"
    taken = {cte.name for cte in getattr(queryset.query, "_with_ctes", ())}
    ctes = []
    for frame, columns in by_frame.items():
        name = _free_name(f"f_{frame.name}", taken)
        named = {f"c{i}": same[0] for i, same in enumerate(columns.values())}
        every = [column for same in columns.values() for column in same]
        cte = CTE(frame.rows(accounts, named, every), name=name, materialized=materialized)
        queryset = cte.join(queryset, pk=cte.col.account_id, _join_type=LOUTER)
        for (column_name, _), same in zip(named.items(), columns.values(), strict=True):
            for column in same:
                column.bound = getattr(cte.col, column_name)
        ctes.append(cte)
    return with_cte(*ctes, select=queryset)


def _picks_by_id(queryset: QuerySet) -> bool:
    """Whether a filter of `queryset` names account ids (pk =, IN, a range of pks)."""
    pk = queryset.model._meta.pk
    nodes = [queryset.query.where]
    while nodes:
        node = nodes.pop()
        if isinstance(node, WhereNode):
            nodes.extend(node.children)
        elif getattr(getattr(node, "lhs", None), "target", None) == pk:
            return True
    return False


def _free_name(base: str, taken: set[str]) -> str:
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    taken.add(name)
    return name


def any_of(conditions: Iterable[Q]) -> Q:
    """The OR of the conditions (which matches nothing when there are none)."""
    result = Q(pk__in=[])
    for condition in conditions:
        result |= condition
    return result
