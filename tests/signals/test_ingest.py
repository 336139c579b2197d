from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import BuyingRole
from accounts.models import Contact
from signals.models import AccountSignalDaily, Signal, SignalType, Source
from signals.services import _store, signals_ingest
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactFactory,
    PersonaRuleFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def item(external_id="evt-1", /, **fields):
    base = {
        "source": "website",
        "type": "web.visit",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        "external_id": external_id,
    }
    return {**base, **fields}


def test_a_full_item_is_stored_with_its_identity():
    # given
    domain = AccountDomainFactory(domain="acme.com")
    rule = PersonaRuleFactory(title_pattern=r"\bvp\b", buying_role=BuyingRole.ECONOMIC_BUYER)

    # when
    result = signals_ingest(
        items=[
            item(
                source="product",
                type="product.active_users",
                occurred_at=NOW.isoformat(),
                value=42,
                topic="reports",
                account={"domain": "www.acme.com", "name": "Acme Inc"},
                contact={"email": "Jane@Acme.com", "name": "Jane Roe", "title": "VP Sales"},
                ip="203.0.113.5",
                attributes={"page": "/pricing"},
            )
        ]
    )

    # then
    assert result.as_dict() == {
        "accepted": 1,
        "duplicates": 0,
        "matched": 1,
        "unmatched": 0,
        "rejected": [],
    }
    signal = Signal.objects.select_related("source", "type", "contact").get()
    assert (signal.source.slug, signal.type.key) == ("product", "product.active_users")
    assert signal.account_id == domain.account_id
    # the email's domain comes before the account's domain in the default step order
    assert (signal.match_method, signal.match_confidence) == ("email_domain", Decimal("1.0000"))
    assert signal.value == Decimal(42)
    assert (signal.topic, signal.attributes) == ("reports", {"page": "/pricing"})
    assert signal.hints["contact"]["email"] == "Jane@Acme.com"
    assert signal.hints["ip"] == "203.0.113.5"
    contact = signal.contact
    assert (contact.email, contact.account_id, contact.name) == (
        "jane@acme.com",
        domain.account_id,
        "Jane Roe",
    )
    assert contact.buying_role == rule.buying_role


def test_an_unmatched_signal_is_kept_without_creating_a_contact():
    result = signals_ingest(items=[item(contact={"email": "who@unknown-co.com"})])

    assert (result.accepted, result.matched, result.unmatched) == (1, 0, 1)
    signal = Signal.objects.get()
    assert (signal.account_id, signal.contact_id, signal.match_method) == (None, None, "unmatched")
    assert signal.match_confidence is None
    assert not Contact.objects.exists()


def test_a_known_contact_is_linked_not_duplicated():
    known = ContactFactory(email="jane@acme.com")

    signals_ingest(items=[item(contact={"email": "jane@acme.com"})])

    signal = Signal.objects.get()
    assert (signal.account_id, signal.contact_id) == (known.account_id, known.pk)
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"source": "nope"}, "source"),
        ({"type": "web.vist"}, "type"),
        ({"colour": "red"}, "colour"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": 17}, "external_id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": (NOW + timedelta(days=2)).isoformat()}, "occurred_at"),
        ({"occurred_at": (NOW - timedelta(days=6 * 365)).isoformat()}, "occurred_at"),
        ({"value": float("inf")}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": "lots"}, "value"),
        ({"value": True}, "value"),
        ({"value": 10**15}, "value"),
        ({"attributes": {"blob": "x" * 9000}}, "attributes"),
        ({"attributes": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}, "attributes"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"topic": 5}, "topic"),
        ({"ip": "999.1.1.1"}, "ip"),
        ({"contact": {"email": "not-an-email"}}, "contact.email"),
        ({"contact": {"email": "a@b.com", "phone": "1"}}, "contact.phone"),
        ({"account": {"id": "17"}}, "account.id"),
        ({"account": {"identifier": {"system": "erp", "id": "1"}}}, "account.identifier.system"),
        ({"account": {"domian": "acme.com"}}, "account.domian"),
        ({"account": "acme.com"}, "account"),
        # Text that cannot be stored: a NUL character, a lone surrogate (not Unicode).
        ({"topic": "Ac\x00me"}, "topic"),
        ({"external_id": "evt-\ud800"}, "external_id"),
        ({"attributes": {"page": {"title": "Ac\x00me"}}}, "attributes"),
        ({"attributes": {"k\udfff": 1}}, "attributes"),
        ({"account": {"name": "Ac\x00me"}}, "account.name"),
        ({"contact": {"email": "a@acme.com", "title": "VP \ud800"}}, "contact.title"),
        ({"account": {"identifier": {"system": "crm", "id": "1\x00"}}}, "account.identifier.id"),
    ],
)
def test_a_bad_item_is_rejected_by_index_and_its_neighbours_are_stored(bad, field):
    result = signals_ingest(items=[item("ok-1"), item("bad", **bad), item("ok-2")])

    assert result.accepted == 2
    assert [r["index"] for r in result.rejected] == [1]
    assert field in result.rejected[0]["errors"]
    assert set(Signal.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}


def test_missing_required_fields_are_each_named():
    result = signals_ingest(items=[{}, "not an object"])

    assert result.accepted == 0
    assert set(result.rejected[0]["errors"]) == {"source", "type", "occurred_at", "external_id"}
    assert result.rejected[1] == {
        "index": 1,
        "errors": {"non_field_errors": ["Each signal is a JSON object."]},
    }


def test_attributes_nested_five_levels_deep_are_accepted():
    result = signals_ingest(items=[item(attributes={"a": {"b": {"c": {"d": {"e": 1}}}}})])

    assert result.accepted == 1


def test_re_sending_a_batch_stores_nothing_twice_and_the_first_one_stands():
    batch = [item("a", value=1), item("b", value=2)]
    first = signals_ingest(items=batch)

    again = signals_ingest(items=[item("a", value=99), item("b"), item("c")])

    assert (first.accepted, first.duplicates) == (2, 0)
    assert (again.accepted, again.duplicates) == (1, 2)
    assert Signal.objects.count() == 3
    assert Signal.objects.get(external_id="a").value == Decimal(1)


def test_a_duplicate_inside_one_batch_counts_once_and_the_first_wins():
    result = signals_ingest(items=[item("x", value=1), item("x", value=2), item("x", value=3)])

    assert (result.accepted, result.duplicates) == (1, 2)
    assert Signal.objects.get().value == Decimal(1)


def test_the_same_external_id_from_another_source_is_not_a_duplicate():
    result = signals_ingest(items=[item("x"), item("x", source="crm")])

    assert (result.accepted, result.duplicates) == (2, 0)


def test_a_source_bound_key_may_only_ingest_for_its_source():
    result = signals_ingest(
        items=[item("a", source="website"), item("b", source="crm")], key_source="website"
    )

    assert result.accepted == 1
    assert result.rejected == [
        {
            "index": 1,
            "errors": {"source": ["This API key may only send signals for the source 'website'."]},
        }
    ]


def test_counts_add_up():
    AccountDomainFactory(domain="acme.com")
    items = [
        item("m", account={"domain": "acme.com"}),
        item("u", account={"domain": "elsewhere.org"}),
        item("bad", type="nope"),
        item("m"),
    ]

    result = signals_ingest(items=items)

    assert result.as_dict() | {"rejected": len(result.rejected)} == {
        "accepted": 2,
        "duplicates": 1,
        "matched": 1,
        "unmatched": 1,
        "rejected": 1,
    }


def at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def test_rollups_hold_hand_computed_numbers():
    # given an account with two contacts, visits on two days and a gauge sent out of order
    account = AccountFactory()
    AccountDomainFactory(account=account, domain="acme.com")
    today = NOW.date() - timedelta(days=1)
    before = today - timedelta(days=1)
    who = {"domain": "acme.com"}
    a, b = {"email": "a@acme.com"}, {"email": "b@acme.com"}
    batch = [
        item("v1", account=who, value="1.5", occurred_at=at(today, 9), contact=a),
        item("v2", account=who, value=2.25, occurred_at=at(today, 23), contact=b),
        item("v3", account=who, occurred_at=at(today, 0), contact=a),
        item("v4", account=who, value=4, occurred_at=at(before, 12)),
        item("g2", type="product.active_users", source="product", account=who, value=30,
             occurred_at=at(today, 18)),
        item("g1", type="product.active_users", source="product", account=who, value=10,
             occurred_at=at(today, 8)),
    ]  # fmt: skip

    # when
    signals_ingest(items=batch)

    # then
    rows = {
        (row.type.key, row.day): (row.count, row.value_sum, row.last_value, row.distinct_contacts)
        for row in AccountSignalDaily.objects.filter(account=account).select_related("type")
    }
    assert rows == {
        ("web.visit", today): (3, Decimal("3.75"), None, 2),
        ("web.visit", before): (1, Decimal("4"), None, 0),
        ("product.active_users", today): (2, Decimal("40"), Decimal("30"), 0),
    }

    # and a later batch is added to what is there, an earlier gauge value does not win
    signals_ingest(
        items=[
            item("v5", account=who, value=1, occurred_at=at(today, 10)),
            item("g0", type="product.active_users", source="product", account=who, value=5,
                 occurred_at=at(today, 1)),
        ]
    )  # fmt: skip
    visits = AccountSignalDaily.objects.get(account=account, type__key="web.visit", day=today)
    gauge = AccountSignalDaily.objects.get(
        account=account, type__key="product.active_users", day=today
    )
    assert (visits.count, visits.value_sum) == (4, Decimal("4.75"))
    assert (gauge.count, gauge.last_value) == (3, Decimal("30"))


def test_distinct_contacts_of_a_day_count_each_person_once_across_batches():
    # given a day with visits from a and b
    account = AccountFactory()
    AccountDomainFactory(account=account, domain="acme.com")
    day = NOW.date() - timedelta(days=1)
    who = {"domain": "acme.com"}
    a, b, c = {"email": "a@acme.com"}, {"email": "b@acme.com"}, {"email": "c@acme.com"}
    signals_ingest(
        items=[
            item("1", account=who, occurred_at=at(day, 8), contact=a),
            item("2", account=who, occurred_at=at(day, 9), contact=b),
        ]
    )

    def visits():
        return AccountSignalDaily.objects.get(account=account, type__key="web.visit", day=day)

    # when a later batch brings a again, and one without anybody
    signals_ingest(
        items=[
            item("3", account=who, occurred_at=at(day, 10), contact=a),
            item("4", account=who, occurred_at=at(day, 11)),
        ]
    )
    # then a counts once, and a visit without a person changes nothing
    assert (visits().count, visits().distinct_contacts) == (4, 2)

    # when c comes the same day
    signals_ingest(items=[item("5", account=who, occurred_at=at(day, 12), contact=c)])
    # then
    assert (visits().count, visits().distinct_contacts) == (5, 3)


def test_rows_another_writer_stored_first_are_skipped_and_not_counted():
    # A second writer storing the same (source, external_id) between this batch's look-up
    # and its insert cannot be staged on SQLite's single writer (test_concurrency.py does
    # it on PostgreSQL): here the batch's rows reach the store with one already taken.
    # given
    account = AccountFactory()
    AccountDomainFactory(account=account, domain="acme.com")
    day = NOW.date() - timedelta(days=1)
    earlier = at(day - timedelta(days=1), 12)
    signals_ingest(
        items=[item("taken", account={"domain": "acme.com"}, value=5, occurred_at=earlier)]
    )
    website, visit = Source.objects.get(slug="website"), SignalType.objects.get(key="web.visit")
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

    def row(external_id, value):
        return (website.pk, visit.pk, moment, NOW, account.pk, None, Decimal(value), "", "{}",
                external_id, "{}", "domain", Decimal(1), "")  # fmt: skip

    # when
    stored = _store([row("new", 1), row("taken", 7)], gauges=set())

    # then the taken one keeps its first payload, and only the new one reaches the rollups
    assert [r[9] for r in stored] == ["new"]
    assert Signal.objects.get(external_id="taken").value == Decimal(5)
    rollup = AccountSignalDaily.objects.get(account=account, day=day)
    assert (rollup.count, rollup.value_sum) == (1, Decimal(1))


def test_rollups_match_the_signals_table_after_mixed_batches():
    accounts = [AccountFactory() for _ in range(3)]
    for n, account in enumerate(accounts):
        AccountDomainFactory(account=account, domain=f"co{n}.com")
    day = NOW.date() - timedelta(days=2)
    batch = [
        item(f"e{n}", account={"domain": f"co{n % 3}.com"}, value=n, occurred_at=at(day, n % 24))
        for n in range(30)
    ]
    signals_ingest(items=batch[:20])
    signals_ingest(items=batch[10:])

    for account in accounts:
        signals = Signal.objects.filter(account=account)
        row = AccountSignalDaily.objects.get(account=account)
        assert row.count == signals.count() == 10
        assert row.value_sum == sum(s.value for s in signals)


def test_unmatched_signals_have_no_rollup():
    signals_ingest(items=[item(account={"domain": "nobody.org"})])

    assert not AccountSignalDaily.objects.exists()


def _batch(size):
    """`size` items: every other one matches an account by domain and brings a new contact."""
    items = []
    for n in range(size):
        if n % 2:
            items.append(item(f"unknown{n}", account={"name": f"Nobody {n}"}))
            continue
        account = AccountFactory()
        AccountDomainFactory(account=account, domain=f"firm{n}.com")
        items.append(
            item(
                f"q{n}",
                value=n,
                account={"domain": f"firm{n}.com", "name": f"Firm {n}"},
                contact={"email": f"person{n}@firm{n}.com", "title": "VP Marketing"},
                ip=f"10.{n // 256}.{n % 256}.1",
            )
        )
    return items


@pytest.mark.parametrize("size", [5, 300])
def test_a_batch_costs_the_same_queries_whatever_its_size(size, django_assert_num_queries):
    items = _batch(size)
    PersonaRuleFactory()
    matched = (size + 1) // 2

    # The same number at any size: the signals go in with one COPY or executemany, the
    # rollups, the review queue and the contacts' engagement each with a few statements
    # over the whole batch (the rollups one more where people or gauge values come to
    # days that already had signals; here every day is new). PostgreSQL adds one: it
    # locks the contacts in id order before moving their last engagement, so that two
    # writers never deadlock.
    expected = 25 if connection.vendor == "postgresql" else 24
    with django_assert_num_queries(expected):
        result = signals_ingest(items=items)

    assert (result.accepted, result.matched) == (size, matched)
    assert Contact.objects.count() == matched
