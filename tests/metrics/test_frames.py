"""Frames: features read other tables in one grouped query per source, joined once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q

from accounts.choices import BuyingRole
from accounts.models import Account
from metrics import features
from metrics.features.catalog import signal_count
from tests.accounts.factories import AccountFactory, ContactFactory, TierFactory

from .helpers import send

pytestmark = pytest.mark.django_db

MID = datetime(2026, 6, 10, 15, 30, tzinfo=UTC)
VISITS = ["web.visit"]


@pytest.fixture
def accounts():
    tier = TierFactory(rank=1, required_roles=[BuyingRole.CHAMPION])
    busy, quiet, other = AccountFactory(tier=tier), AccountFactory(), AccountFactory(tier=tier)
    for hours in (1, 30, 80, 200):
        send(busy, "web.visit", MID - timedelta(hours=hours), value=hours, email="a@b.example")
    send(busy, "intent.surge", MID - timedelta(days=2), value=70)
    send(other, "web.visit", MID - timedelta(days=20), value=5)
    ContactFactory(account=busy, buying_role=BuyingRole.CHAMPION)
    return busy, quiet, other


def _requests():
    """Every feature, with signal parameters where it takes them."""
    params = {"signal_types": ["web.visit", "intent.surge"], "days": 7}
    return [
        (f"f_{f.key}", f.key, {p.name: params[p.name] for p in f.params if p.name in params})
        for f in features.all_features()
        if f.key != "name_length_test"
    ]


@pytest.mark.parametrize("as_of", [None, MID])
def test_one_account_reads_the_same_values_as_the_whole_set(accounts, as_of):
    # given every feature over every account, and over one account picked by id
    requests = _requests()
    aliases = [alias for alias, _, _ in requests]
    whole = {
        row[0]: row[1:]
        for row in features.annotate(Account.objects.all(), requests, as_of=as_of).values_list(
            "pk", *aliases
        )
    }
    # then each account alone gets exactly its row of the whole set
    for account in accounts:
        alone = features.annotate(Account.objects.filter(pk=account.pk), requests, as_of=as_of)
        assert alone.values_list(*aliases).get() == whole[account.pk]


def test_features_reading_one_source_share_one_pass(accounts):
    requests = [
        ("week", "signal_count", {"signal_types": VISITS, "days": 7}),
        ("month", "signal_count", {"signal_types": VISITS, "days": 30}),
        ("surge", "signal_sum", {"signal_types": ["intent.surge"], "days": 7}),
        ("tickets", "tickets_30d", {}),
    ]
    queryset = features.annotate(Account.objects.all(), requests, as_of=MID)
    sql = str(queryset.query)
    # one frame over the rollups and one over the signals at the windows' edges
    assert sql.count('"f_signal_days" AS') == 1
    assert sql.count('"f_signals" AS') == 1
    busy, quiet, other = accounts
    rows = {row["pk"]: row for row in queryset.values("pk", "week", "month", "surge", "tickets")}
    # 1, 30 and 80 hours before MID are in the week, 200 hours is not
    assert rows[busy.pk] == {"pk": busy.pk, "week": 3, "month": 4, "surge": 70, "tickets": 0}
    assert rows[quiet.pk] == {"pk": quiet.pk, "week": 0, "month": 0, "surge": 0, "tickets": 0}
    assert rows[other.pk] == {"pk": other.pk, "week": 0, "month": 1, "surge": 0, "tickets": 0}


def test_an_annotated_set_filters_counts_and_nests_like_any_queryset(accounts):
    busy, quiet, other = accounts
    queryset = features.annotate(
        Account.objects.all(),
        [
            ("visits", "signal_count", {"signal_types": VISITS, "days": 30}),
            ("size", "committee_size", {}),
        ],
        as_of=MID,
    )
    # a filter that keeps the accounts without rows (the LEFT JOIN stays a LEFT JOIN)
    assert set(queryset.filter(Q(visits=0) | Q(size__gte=1)).values_list("pk", flat=True)) == {
        busy.pk,
        quiet.pk,
    }
    assert queryset.filter(visits__gte=1).count() == 2
    nested = Account.objects.filter(pk__in=queryset.filter(size=0).values("pk"))
    assert set(nested.values_list("pk", flat=True)) == {quiet.pk, other.pk}
    assert list(queryset.order_by("-visits", "pk").values_list("pk", flat=True)) == [
        busy.pk,
        other.pk,
        quiet.pk,
    ]


def test_annotating_twice_joins_each_frame_under_its_own_name(accounts):
    busy, quiet, other = accounts
    once = features.annotate(
        Account.objects.all(), [("a", "signal_count", {"signal_types": VISITS})], as_of=MID
    )
    twice = features.annotate(
        once, [("b", "signal_count", {"signal_types": VISITS, "days": 7})], as_of=MID
    )
    assert dict(twice.values_list("pk", "a")) == {busy.pk: 4, quiet.pk: 0, other.pk: 1}
    assert dict(twice.values_list("pk", "b")) == {busy.pk: 3, quiet.pk: 0, other.pk: 0}


def test_a_feature_expression_outside_annotate_is_a_clear_error():
    expression = signal_count(as_of=MID, signal_types=VISITS, days=7)
    with pytest.raises(ValueError, match=r"outside metrics\.features\.annotate\(\)"):
        list(Account.objects.annotate(n=expression))


def test_one_annotate_call_reads_one_moment_as_now():
    with features.same_moment() as moment:
        assert features.now() == moment
        with features.same_moment() as inner:
            assert inner == moment
    assert features.now() > moment
