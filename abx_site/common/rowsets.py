"""Many rows as one table in a SQL statement, bound as a constant number of parameters.

Set-based writes (rollups, the review queue, engagement) join a batch's keys against
the database in one statement, whatever the batch's size: the rows go as one JSON
array, read with `json_array_elements` on PostgreSQL and `json_each` on SQLite. An
`IN (%s, %s, ...)` list would instead cost a parameter per value, hit SQLite's
parameter limit and give PostgreSQL's planner a new statement each time; arrays of
values would cost the driver a quoted literal per value, one JSON text costs one.

Column types are PostgreSQL's names (`bigint`, `integer`, `text`, `date`,
`timestamptz`, `numeric`, `jsonb`); on SQLite they decide how a value is written the way
Django stores it there (datetimes as naive UTC text, dates and decimals as text). A
`jsonb` column takes the JSON text (or None).
"""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from django.db import connection, models
from django.db.models.expressions import RawSQL


def rowset(alias: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]):
    """`(sql, params)`: a FROM-clause item named `alias` with `columns` (name, type),
    holding `rows` (tuples in the order of `columns`)."""
    names = [name for name, _ in columns]
    if connection.vendor == "postgresql":
        fields = ", ".join(
            f"(e.value ->> {position})::{kind} AS {name}"
            for position, (name, kind) in enumerate(columns)
        )
        sql = f"(SELECT {fields} FROM json_array_elements(%s::json) AS e) AS {alias}"  # noqa: S608 - names from the caller
        return sql, [json.dumps(list(map(list, rows)), default=_json_default)]
    converters = [_remembered(_SQLITE[kind]) if kind in _SQLITE else None for _, kind in columns]
    if any(converters):
        rows = (
            [
                value if f is None or value is None else f(value)
                for f, value in zip(converters, row, strict=True)
            ]
            for row in rows
        )
    else:
        rows = (list(row) for row in rows)
    fields = ", ".join(
        f"json_extract(value, '$[{position}]') AS {name}" for position, name in enumerate(names)
    )
    sql = f"(SELECT {fields} FROM json_each(%s)) AS {alias}"  # noqa: S608 - names from the caller
    return sql, [json.dumps(list(rows))]


def values_in(values: Iterable, kind: str) -> RawSQL:
    """A subquery of `values` for `field__in=`: one parameter however many values, where
    an `IN (%s, %s, ...)` list costs one each (and PostgreSQL a new statement to plan)."""
    values = list(values)
    if connection.vendor == "postgresql":
        sql = f"SELECT (e.value #>> '{{}}')::{kind} FROM json_array_elements(%s::json) AS e"  # noqa: S608 - a type name from the caller
    else:
        sql = "SELECT value FROM json_each(%s)"
    # The text holds a type name from the caller; the values are a parameter.
    return RawSQL(sql, [json.dumps(values, default=_json_default)])  # noqa: S611


def _json_default(value):
    """Dates, datetimes (with their offset) and decimals as PostgreSQL reads them."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def sqlite_datetime(value: datetime) -> str:
    """How Django stores an aware datetime in SQLite: naive UTC, ISO with a space."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ")


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _remembered(convert):
    """A converter that converts each distinct value once (keys repeat their days)."""
    seen: dict = {}

    def converted(value):
        text = seen.get(value)
        if text is None:
            text = seen[value] = convert(value)
        return text

    return converted


_SQLITE = {"timestamptz": sqlite_datetime, "date": _sqlite_date, "numeric": str}


def insert_new(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    unique: str,
    returning: Sequence[str],
) -> list[tuple]:
    """Insert unsaved `objs` in one statement, in the order of their `unique` field, and
    skip those whose value another row already holds; returns the `returning` columns of
    the rows inserted.

    Where `bulk_create` splits a batch by SQLite's parameter limit and cannot say which
    rows it skipped, this costs one statement for any number of rows. Field defaults and
    `auto_now` values are filled as a save would; nothing is validated.
    """
    if not objs:
        return []
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    rows = [
        tuple(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)
        for obj in objs
    ]
    # The values are already as the database takes them: SQLite needs no conversion.
    postgresql = connection.vendor == "postgresql"
    columns = [
        (field.column, field.cast_db_type(connection) if postgresql else "prepared")
        for field in fields
    ]
    table, params = rowset("k", columns, rows)
    names = ", ".join(connection.ops.quote_name(column) for column, _ in columns)
    key = connection.ops.quote_name(model._meta.get_field(unique).column)
    out = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in returning)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "  # noqa: S608 - names from the model
            f"SELECT {names} FROM {table} WHERE true ORDER BY k.{key} "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {out}",
            params,
        )
        return cursor.fetchall()
