"""Loading many rows fast: `COPY` on PostgreSQL, one `executemany` per chunk on SQLite.

For generated data sets and raw-load baselines, where millions of rows must go in and
the ORM's per-object work (model instances, signals, `save()`) would dominate. Rows are
plain tuples in the order of `columns`, streamed from any iterable so that memory stays
flat whatever the count. Values are Python values: aware datetimes, dates, Decimals,
None; JSON columns take the JSON text (the caller serialises once, cheaply).

Nothing here validates: callers give rows that already satisfy the model's rules.
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice

from django.core.management.color import no_style
from django.db import connection, models

CHUNK = 20_000


def bulk_load(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert `rows` (tuples of the `columns` field names) into `model`'s table.

    Returns how many rows went in. Run it inside a transaction: on SQLite one
    transaction for the whole load is what makes it fast.
    """
    fields = [model._meta.get_field(name) for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    if connection.vendor == "postgresql":
        return _copy(f"COPY {table} ({names}) FROM STDIN", rows)
    placeholders = ", ".join("?" for _ in fields)
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608 - names from the model
    datetimes = [
        index for index, field in enumerate(fields) if field.get_internal_type() == "DateTimeField"
    ]
    dates = [
        index for index, field in enumerate(fields) if field.get_internal_type() == "DateField"
    ]
    return _executemany(sql, _sqlite_rows(rows, datetimes, dates))


@contextmanager
def indexes_deferred(*models_: type[models.Model]):
    """On PostgreSQL, drop the tables' foreign keys and secondary indexes for the block
    and re-create them after it (PostgreSQL's "Populating a Database" advice).

    Checking a foreign key row by row costs a lookup per row and key at commit;
    re-adding it validates the whole table in one join, and an index built once is
    faster than one grown row by row. Primary keys and unique constraints stay, so
    duplicates are still refused. Takes the tables' exclusive lock: for loading a
    new data set, never on a live database. Elsewhere it does nothing.
    """
    if connection.vendor != "postgresql":
        yield
        return
    saved: list[str] = []
    with connection.cursor() as cursor:
        # Checks still deferred in this transaction would forbid the ALTER TABLEs: run them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in models_:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            for name, definition in cursor.fetchall():
                quoted = connection.ops.quote_name(name)
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quoted}")
                saved.append(f"ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}")
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conrelid = %s::regclass AND c.conname = i.indexname) "
                "ORDER BY i.indexname",
                [table, table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                saved.append(definition)
    yield
    with connection.cursor() as cursor:
        for statement in saved:
            cursor.execute(statement)


def reset_sequences(*models_: type[models.Model]) -> None:
    """After rows were loaded with explicit ids, the next id follows the highest one."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def next_id(model: type[models.Model]) -> int:
    """The first free id above every stored row (ids are then given explicitly)."""
    last = model.objects.aggregate(last=models.Max("pk"))["last"]
    return (last or 0) + 1


def _copy(sql: str, rows: Iterable[tuple]) -> int:
    count = 0
    connection.ensure_connection()
    with _logged(sql), connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _executemany(sql: str, rows: Iterator[tuple]) -> int:
    count = 0
    connection.ensure_connection()
    raw = connection.connection
    while chunk := list(islice(rows, CHUNK)):
        with _logged(sql):
            raw.executemany(sql, chunk)
        count += len(chunk)
    return count


@contextmanager
def _logged(sql: str):
    """What Django's cursors do, for a load that bypasses them for speed: the driver's
    errors become Django's (an `IntegrityError` a caller can catch), and the statement
    goes in the query log when one is kept (DEBUG, tests counting queries)."""
    started = time.monotonic()
    with connection.wrap_database_errors:
        yield
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def _sqlite_rows(rows: Iterable[tuple], datetimes: list[int], dates: list[int]) -> Iterator[tuple]:
    """Django stores datetimes in SQLite as naive UTC text and dates as ISO text."""
    if not datetimes and not dates:
        yield from rows
        return
    # A value repeated row after row (a load's `received_at`) is converted once.
    last, last_text = None, None
    for row in rows:
        values = list(row)
        for index in datetimes:
            value = values[index]
            if value is last:
                values[index] = last_text
            elif value is not None:
                last, last_text = value, _sqlite_datetime(value)
                values[index] = last_text
        for index in dates:
            value = values[index]
            if value is not None:
                values[index] = value.isoformat()
        yield tuple(values)


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is UTC:
        value = value.replace(tzinfo=None)
    elif value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")
