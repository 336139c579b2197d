from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from abx_site.common.rowsets import insert_new, rowset
from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    ("id", "bigint"),
    ("label", "text"),
    ("day", "date"),
    ("moment", "timestamptz"),
    ("amount", "numeric"),
    ("data", "jsonb"),
]


def test_rows_are_read_by_the_database_as_values_of_their_columns():
    # given rows of every kind of column, one with nulls
    rows = [
        (1, "first", date(2026, 11, 30), datetime(2026, 11, 30, 10, 5, 1, tzinfo=UTC),
         Decimal("1.5"), '{"a": [1, 2]}'),
        (2, "second's", date(2026, 12, 1), datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
         Decimal("-0.000001"), None),
        (3, None, None, None, None, None),
    ]  # fmt: skip
    table, params = rowset("k", COLUMNS, rows)
    # compared with values as Django stores them (on SQLite: text in its own formats)
    day = connection.ops.adapt_datefield_value(date(2026, 12, 1))
    moment = connection.ops.adapt_datetimefield_value(datetime(2026, 12, 1, tzinfo=UTC))

    # when (the comparisons' parameters come first: the SELECT list precedes FROM)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.id, k.label, k.day = %s, k.moment = %s, k.amount * 2, k.data IS NULL "  # noqa: S608 - the rowset's text
            f"FROM {table} ORDER BY k.id",
            [day, moment, *params],
        )
        found = cursor.fetchall()

    # then
    def truth(value):
        return None if value is None else bool(value)

    assert [(row[0], row[1]) for row in found] == [(1, "first"), (2, "second's"), (3, None)]
    assert [truth(row[2]) for row in found] == [False, True, None]
    assert [truth(row[3]) for row in found] == [False, True, None]
    assert [None if row[4] is None else Decimal(str(row[4])) for row in found] == [
        Decimal(3),
        Decimal("-0.000002"),
        None,
    ]
    assert [bool(row[5]) for row in found] == [False, True, True]


def test_an_empty_rowset_is_an_empty_table():
    table, params = rowset("k", COLUMNS, [])

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}", params)  # noqa: S608
        assert cursor.fetchone()[0] == 0


def test_insert_new_skips_taken_keys_and_returns_what_it_inserted():
    # given one contact already stored
    account = AccountFactory()
    ContactFactory(account=account, email="known@acme.com", name="Known")
    new = [
        Contact(account=account, email="zed@acme.com", name="Zed"),
        Contact(account=account, email="known@acme.com", name="Someone else"),
        Contact(account=account, email="amy@acme.com", title="CTO"),
    ]

    # when
    inserted = insert_new(Contact, new, unique="email", returning=("email", "id"))

    # then the taken email is skipped, the stored one unchanged, the others in with defaults
    assert sorted(email for email, _ in inserted) == ["amy@acme.com", "zed@acme.com"]
    stored = {contact.email: contact for contact in Contact.objects.all()}
    assert {email: stored[email].pk for email, _ in inserted} == dict(inserted)
    assert stored["known@acme.com"].name == "Known"
    assert (stored["amy@acme.com"].title, stored["amy@acme.com"].buying_role) == ("CTO", "unknown")
    assert stored["zed@acme.com"].created_at is not None
