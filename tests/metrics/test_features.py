"""The feature catalog: every feature against hand-computed values, now and as of a past moment."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import BuyingRole, DealKind, DealStatus, PartnerInfluence, Stage, TeamRole
from accounts.models import Account, ArrChange, Deal
from metrics import features
from metrics.models import AccountScore, AccountSnapshot, ScoreModel
from tests.accounts.factories import (
    AccountFactory,
    ContactFactory,
    PartnerFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

from .helpers import send, values

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime(2026, 6, 10, tzinfo=UTC)
MID = datetime(2026, 6, 10, 15, 30, tzinfo=UTC)

DESIGN_FEATURES = {
    "tier", "stage", "industry", "country", "employee_count", "arr", "days_to_renewal",
    "has_partner", "is_target", "owner_ae", "owner_csm",
    "signal_count", "signal_sum", "signal_latest_value", "signal_distinct_contacts",
    "signal_change_pct",
    "fit_score", "intent_score", "engagement_score", "health_score", "health_band",
    "health_change_30d",
    "committee_size", "committee_coverage_pct", "committee_growth_30d",
    "open_pipeline", "won_12m", "nrr_12m", "expansion_arr_12m",
    "tickets_30d", "nps_latest",
}  # fmt: skip


def at(day, hour=0, minute=0, second=0):
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC)


# Registry and parameters ------------------------------------------------------------


def test_catalog_holds_every_feature_design_lists():
    keys = {f.key for f in features.all_features()}
    assert keys >= DESIGN_FEATURES
    for feature in features.all_features():
        assert feature.label and feature.description
        assert feature.type in features.FeatureType.values


def test_unknown_feature_is_a_clear_error():
    with pytest.raises(KeyError, match="Unknown feature 'nope'"):
        features.get("nope")
    with pytest.raises(ValidationError) as error:
        features.clean_params("nope", {})
    assert "feature" in error.value.message_dict


def test_clean_params_normalises_and_fills_defaults():
    cleaned = features.clean_params("signal_count", {"signal_types": "web.visit, email.click"})
    assert cleaned == {"signal_types": ["email.click", "web.visit"], "days": 30}
    cleaned = features.clean_params(
        "signal_change_pct", {"signal_types": ["web.visit"], "days": "7", "measure": "sum"}
    )
    assert cleaned == {"signal_types": ["web.visit"], "days": 7, "measure": "sum"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"signal_types": ["web.nope"]}, "signal_types", "Unknown signal type: web.nope."),
        ({}, "signal_types", "This parameter is required."),
        ({"signal_types": ["web.visit"], "days": 0}, "days", "from 1 to 730"),
        ({"signal_types": ["web.visit"], "days": 731}, "days", "from 1 to 730"),
        ({"signal_types": ["web.visit"], "days": "ten"}, "days", "whole number"),
        ({"signal_types": ["web.visit"], "days": 1.5}, "days", "whole number"),
        ({"signal_types": ["web.visit"], "dayz": 7}, "dayz", "takes no parameter"),
        ({"signal_types": [1, 2]}, "signal_types", "list of signal type keys"),
    ],
)
def test_clean_params_names_the_bad_parameter(params, field, message):
    with pytest.raises(ValidationError) as error:
        features.clean_params("signal_count", params)
    assert message in " ".join(error.value.message_dict[field])


def test_bad_measure_is_refused():
    with pytest.raises(ValidationError) as error:
        features.clean_params("signal_change_pct", {"signal_types": ["web.visit"], "measure": "x"})
    assert "measure" in error.value.message_dict


def test_register_a_new_feature_with_one_entry():
    from django.db.models import F

    feature = features.register(
        features.Feature(
            "name_length_test",
            "Name",
            features.FeatureType.TEXT,
            "The account's name.",
            has_history=False,
            compute=lambda *, as_of: F("name"),
        )
    )
    account = AccountFactory(name="Acme")
    assert features.get("name_length_test") is feature
    assert values(Account.objects.all(), "name_length_test") == {account.pk: "Acme"}


# Signal windows ---------------------------------------------------------------------


@pytest.fixture
def windowed():
    """Account A's web visits around 2026-06-10 (values are what they add), B has none,
    C has signals only in the current window."""
    a, b, c = AccountFactory(), AccountFactory(), AccountFactory()
    send(a, "web.visit", at(2, 23, 59, 59), value=50)  # s1: before both windows
    send(a, "web.visit", at(3), value=2, email="ann@a.example")  # s2: midnight window start
    send(a, "web.visit", at(3, 15, 29, 59), value=1000)  # s3
    send(a, "web.visit", at(3, 15, 30), value=1)  # s4: MID window start
    send(a, "web.visit", at(5, 12), value=3, email="ann@a.example")  # s5
    send(a, "web.visit", at(9, 23, 59, 59), value=4, email="bob@a.example")  # s6
    send(a, "web.visit", at(10), value=100, email="cy@a.example")  # s7: midnight end
    send(a, "web.visit", at(10, 15, 30), value=7)  # s8: MID end, excluded
    send(a, "email.click", at(6, 10))  # another type
    send(c, "web.visit", at(5), value=5)
    return a, b, c


def test_signal_windows_at_a_midnight(windowed):
    a, b, c = windowed
    qs = Account.objects.all()
    visits = {"signal_types": ["web.visit"], "days": 7}
    # [06-03 00:00, 06-10 00:00): s2, s3, s4, s5, s6
    assert values(qs, "signal_count", visits, as_of=MIDNIGHT) == {a.pk: 5, b.pk: 0, c.pk: 1}
    sums = values(qs, "signal_sum", visits, as_of=MIDNIGHT)
    assert sums == {a.pk: Decimal("1010"), b.pk: Decimal(0), c.pk: Decimal(5)}
    latest = values(qs, "signal_latest_value", visits, as_of=MIDNIGHT)
    assert latest == {a.pk: Decimal(4), b.pk: None, c.pk: Decimal(5)}
    contacts = values(qs, "signal_distinct_contacts", visits, as_of=MIDNIGHT)
    assert contacts == {a.pk: 2, b.pk: 0, c.pk: 0}
    both = {"signal_types": ["web.visit", "email.click"], "days": 7}
    assert values(qs, "signal_count", both, as_of=MIDNIGHT)[a.pk] == 6


def test_signal_windows_mid_day_use_exact_24_hour_windows(windowed):
    a, b, c = windowed
    qs = Account.objects.all()
    visits = {"signal_types": ["web.visit"], "days": 7}
    # [06-03 15:30, 06-10 15:30): s4, s5, s6, s7
    assert values(qs, "signal_count", visits, as_of=MID) == {a.pk: 4, b.pk: 0, c.pk: 1}
    assert values(qs, "signal_sum", visits, as_of=MID)[a.pk] == Decimal("108")
    assert values(qs, "signal_latest_value", visits, as_of=MID)[a.pk] == Decimal(100)
    assert values(qs, "signal_distinct_contacts", visits, as_of=MID)[a.pk] == 3
    # One day: [06-09 15:30, 06-10 15:30): s6, s7
    one_day = {"signal_types": ["web.visit"], "days": 1}
    assert values(qs, "signal_count", one_day, as_of=MID)[a.pk] == 2


def test_signal_change_pct(windowed):
    a, b, c = windowed
    qs = Account.objects.all()

    def change(measure, as_of):
        params = {"signal_types": ["web.visit"], "days": 7, "measure": measure}
        return values(qs, "signal_change_pct", params, as_of=as_of)

    # Midnight: now s2..s6 (5, sum 1010, latest 4); before: s1 (1, 50, 50).
    assert change("count", MIDNIGHT)[a.pk] == pytest.approx(400.0)
    assert change("sum", MIDNIGHT)[a.pk] == pytest.approx(1920.0)
    assert change("latest", MIDNIGHT)[a.pk] == pytest.approx(-92.0)
    # MID: now s4..s7 (4, 108, 100); before: s1..s3 (3, 1052, 1000).
    assert change("count", MID)[a.pk] == pytest.approx(100 / 3)
    assert change("sum", MID)[a.pk] == pytest.approx((108 - 1052) / 1052 * 100)
    assert change("latest", MID)[a.pk] == pytest.approx(-90.0)
    # A prior of 0 (C) or no signals at all (B) is missing.
    assert change("count", MID)[c.pk] is None
    assert change("count", MID)[b.pk] is None
    assert change("latest", MID)[b.pk] is None


def test_signal_windows_now():
    account = AccountFactory()
    now = timezone.now()
    send(account, "intent.surge", now - timedelta(hours=1), value=80)
    send(account, "intent.surge", now - timedelta(days=3), value=60)
    send(account, "intent.surge", now - timedelta(days=8), value=90)
    qs = Account.objects.filter(pk=account.pk)
    surge = {"signal_types": ["intent.surge"], "days": 7}
    assert values(qs, "signal_count", surge) == {account.pk: 2}
    assert values(qs, "signal_sum", surge) == {account.pk: Decimal(140)}
    assert values(qs, "signal_latest_value", surge) == {account.pk: Decimal(80)}
    assert values(qs, "signal_count", {"signal_types": ["intent.surge"]}) == {account.pk: 3}
    # As of two days ago only the 3-day-old one and the 8-day-old one... the latter is 6
    # days before that moment, inside the 7-day window.
    two_days_ago = now - timedelta(days=2)
    assert values(qs, "signal_count", surge, as_of=two_days_ago) == {account.pk: 2}


def test_support_and_nps():
    account, quiet = AccountFactory(), AccountFactory()
    send(account, "support.ticket_opened", MID - timedelta(days=1))
    send(account, "support.ticket_opened", MID - timedelta(days=29))
    send(account, "support.ticket_opened", MID - timedelta(days=31))
    send(account, "nps.response", datetime(2025, 1, 1, tzinfo=UTC), value=9)
    send(account, "nps.response", at(1), value=6)
    send(account, "nps.response", at(11), value=10)
    qs = Account.objects.all()
    assert values(qs, "tickets_30d", as_of=MID) == {account.pk: 2, quiet.pk: 0}
    assert values(qs, "nps_latest", as_of=MID) == {account.pk: Decimal(6), quiet.pk: None}
    assert values(qs, "nps_latest") == {account.pk: Decimal(10), quiet.pk: None}


# Scores and snapshots ---------------------------------------------------------------


@pytest.fixture
def health_model():
    model, _ = ScoreModel.objects.get_or_create(key="health", defaults={"name": "Health"})
    return model


def test_score_features_now_and_as_of(health_model):
    a, b = AccountFactory(), AccountFactory()
    AccountScore.objects.create(
        account=a, model=health_model, score=Decimal("72.50"), band="green",
        computed_at=timezone.now(),
    )  # fmt: skip
    AccountSnapshot.objects.create(
        account=a, day=date(2026, 5, 10), scores={"health": 50}, bands={"health": "red"},
        stage=Stage.ENGAGED,
    )  # fmt: skip
    AccountSnapshot.objects.create(
        account=a, day=date(2026, 6, 8), scores={"health": 60}, bands={"health": "yellow"},
        stage=Stage.ENGAGED,
    )  # fmt: skip
    # The snapshot of 06-10 describes the end of that day: unknown at 06-10 15:30.
    AccountSnapshot.objects.create(
        account=a, day=date(2026, 6, 10), scores={"health": 99}, bands={"health": "green"},
        stage=Stage.CUSTOMER,
    )  # fmt: skip
    qs = Account.objects.all()
    assert values(qs, "health_score") == {a.pk: 72.5, b.pk: None}
    assert values(qs, "health_band") == {a.pk: "green", b.pk: None}
    assert values(qs, "fit_score") == {a.pk: None, b.pk: None}
    assert values(qs, "health_score", as_of=MID) == {a.pk: 60.0, b.pk: None}
    assert values(qs, "health_band", as_of=MID) == {a.pk: "yellow", b.pk: None}
    assert values(qs, "health_score", as_of=at(11)) == {a.pk: 99.0, b.pk: None}
    # As of MID: 60 now, 50 on 05-11 15:30 (the snapshot of 05-10).
    assert values(qs, "health_change_30d", as_of=MID) == {a.pk: 10.0, b.pk: None}


def test_health_change_now(health_model):
    account = AccountFactory()
    today = timezone.now().date()
    AccountScore.objects.create(
        account=account, model=health_model, score=Decimal("72.50"), computed_at=timezone.now()
    )
    for days_ago, score in [(40, 55), (10, 70)]:
        AccountSnapshot.objects.create(
            account=account, day=today - timedelta(days=days_ago), scores={"health": score},
            stage=Stage.CUSTOMER,
        )  # fmt: skip
    assert values(Account.objects.all(), "health_change_30d") == {account.pk: 17.5}


# Attributes -------------------------------------------------------------------------


def test_attributes_now_and_as_of():
    one, two = TierFactory(rank=1, name="Strategic"), TierFactory(rank=2, name="Growth")
    partner = PartnerFactory()
    today = timezone.now().date()
    a = AccountFactory(
        tier=two, stage=Stage.CUSTOMER, industry="Fintech", country="DE", employee_count=800,
        partner=partner, renewal_date=today + timedelta(days=45),
    )  # fmt: skip
    b = AccountFactory(industry="", country="", employee_count=None)
    AccountSnapshot.objects.create(account=a, day=date(2026, 6, 8), stage=Stage.ENGAGED, tier=one)
    TeamMemberFactory(account=a, user=UserFactory(username="alice"), role=TeamRole.AE)
    TeamMemberFactory(account=a, user=UserFactory(username="carol"), role=TeamRole.CSM)
    qs = Account.objects.all()
    assert values(qs, "tier") == {a.pk: "Growth", b.pk: None}
    assert values(qs, "tier", as_of=MID) == {a.pk: "Strategic", b.pk: None}
    assert values(qs, "stage") == {a.pk: "customer", b.pk: "prospect"}
    assert values(qs, "stage", as_of=MID) == {a.pk: "engaged", b.pk: None}
    assert values(qs, "is_target") == {a.pk: True, b.pk: False}
    assert values(qs, "is_target", as_of=MID) == {a.pk: True, b.pk: None}
    assert values(qs, "industry") == {a.pk: "Fintech", b.pk: None}
    assert values(qs, "country") == {a.pk: "DE", b.pk: None}
    assert values(qs, "employee_count") == {a.pk: 800, b.pk: None}
    assert values(qs, "has_partner") == {a.pk: True, b.pk: False}
    assert values(qs, "days_to_renewal") == {a.pk: 45, b.pk: None}
    # No history: a backtest gets today's value.
    assert values(qs, "days_to_renewal", as_of=MID) == {a.pk: 45, b.pk: None}
    assert values(qs, "owner_ae") == {a.pk: "alice", b.pk: None}
    assert values(qs, "owner_csm") == {a.pk: "carol", b.pk: None}
    assert features.get("tier").choices() == [("Strategic", "Strategic"), ("Growth", "Growth")]
    assert ("alice", "alice") in features.get("owner_ae").choices()


# Committee --------------------------------------------------------------------------


def test_committee_features():
    tier = TierFactory(
        rank=1,
        required_roles=[
            BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION, BuyingRole.ECONOMIC_BUYER,
        ],
    )  # fmt: skip
    no_roles = TierFactory(rank=2, required_roles=[])
    a, untiered, empty = AccountFactory(tier=tier), AccountFactory(), AccountFactory(tier=no_roles)
    now = timezone.now()
    ContactFactory(
        account=a, buying_role=BuyingRole.DECISION_MAKER, first_seen_at=now - timedelta(days=5)
    )
    ContactFactory(
        account=a, buying_role=BuyingRole.CHAMPION, first_seen_at=now - timedelta(days=40)
    )
    ContactFactory(account=a, buying_role=BuyingRole.USER)  # joined now (created)
    ContactFactory(account=a, buying_role=BuyingRole.UNKNOWN)
    ContactFactory(account=untiered, buying_role=BuyingRole.CHAMPION)
    qs = Account.objects.all()
    assert values(qs, "committee_size") == {a.pk: 3, untiered.pk: 1, empty.pk: 0}
    coverage = values(qs, "committee_coverage_pct")
    assert coverage[a.pk] == pytest.approx(200 / 3)
    assert coverage[untiered.pk] is None
    assert coverage[empty.pk] is None
    assert values(qs, "committee_growth_30d") == {a.pk: 2, untiered.pk: 1, empty.pk: 0}


# Revenue ----------------------------------------------------------------------------


def _arr(account, day, amount):
    ArrChange.objects.create(account=account, effective_date=day, arr=Decimal(amount))


def _deal(account, amount, status, created, closed=None, kind=DealKind.NEW_BUSINESS):
    return Deal.objects.create(
        account=account, name="d", kind=kind, status=status, amount=Decimal(amount),
        created_date=created, close_date=closed, partner_influence=PartnerInfluence.NONE,
    )  # fmt: skip


def test_revenue_features_as_of():
    a, b, c = AccountFactory(), AccountFactory(), AccountFactory()
    _arr(a, date(2025, 6, 10), 1000)  # on the start boundary: not in the period
    _arr(a, date(2026, 1, 1), 1500)  # +500
    _arr(a, date(2026, 6, 10), 2000)  # +500, on the end day: in the period
    _arr(a, date(2026, 6, 11), 1800)  # after
    _arr(c, date(2026, 1, 1), 500)  # new
    _arr(c, date(2026, 3, 1), 0)  # churn
    _arr(c, date(2026, 4, 1), 800)  # reactivation, not expansion
    _deal(a, 100, DealStatus.OPEN, date(2026, 5, 1))
    _deal(a, 300, DealStatus.WON, date(2026, 4, 1), date(2026, 6, 1))
    _deal(a, 50, DealStatus.WON, date(2025, 5, 1), date(2025, 6, 10))  # boundary: out
    _deal(a, 70, DealStatus.LOST, date(2026, 5, 15), date(2026, 6, 20))  # open on 06-10
    _deal(a, 40, DealStatus.OPEN, date(2026, 6, 11))  # created later
    qs = Account.objects.all()
    assert values(qs, "arr", as_of=MID) == {a.pk: Decimal(2000), b.pk: 0, c.pk: Decimal(800)}
    assert values(qs, "nrr_12m", as_of=MID) == {a.pk: 2.0, b.pk: None, c.pk: None}
    expansion = values(qs, "expansion_arr_12m", as_of=MID)
    assert expansion == {a.pk: Decimal(1000), b.pk: 0, c.pk: 0}
    assert values(qs, "open_pipeline", as_of=MID) == {a.pk: Decimal(170), b.pk: 0, c.pk: 0}
    assert values(qs, "won_12m", as_of=MID) == {a.pk: Decimal(300), b.pk: 0, c.pk: 0}


def test_revenue_features_now():
    account = AccountFactory()
    today = timezone.now().date()
    _arr(account, today - timedelta(days=500), 1000)
    _arr(account, today - timedelta(days=100), 1600)
    _arr(account, today - timedelta(days=10), 1200)
    _deal(account, Decimal("99.99"), DealStatus.OPEN, today - timedelta(days=3))
    _deal(account, Decimal("0.02"), DealStatus.OPEN, today - timedelta(days=3))
    _deal(account, 70, DealStatus.LOST, today - timedelta(days=30), today - timedelta(days=1))
    _deal(account, 250, DealStatus.WON, today - timedelta(days=30), today)
    qs = Account.objects.all()
    assert values(qs, "arr") == {account.pk: Decimal(1200)}
    assert values(qs, "nrr_12m") == {account.pk: 1.2}
    assert values(qs, "expansion_arr_12m") == {account.pk: Decimal(600)}
    assert values(qs, "open_pipeline") == {account.pk: Decimal("100.01")}
    assert values(qs, "won_12m") == {account.pk: Decimal(250)}


# Annotation -------------------------------------------------------------------------


def _every_feature_request():
    params = {
        "signal_types": ["web.visit", "intent.surge"],
        "days": 14,
    }
    requests = []
    for feature in features.all_features():
        wanted = {p.name: params[p.name] for p in feature.params if p.name in params}
        requests.append((f"f_{feature.key}", feature.key, wanted))
    return requests


@pytest.mark.parametrize("as_of", [None, MID])
def test_annotating_every_feature_is_one_query(django_assert_num_queries, as_of):
    tier = TierFactory(rank=1)
    accounts = [AccountFactory(tier=tier) for _ in range(4)]
    for account in accounts:
        send(account, "web.visit", MID - timedelta(days=2), value=1)
        ContactFactory(account=account, buying_role=BuyingRole.CHAMPION)
    requests = [r for r in _every_feature_request() if r[1] != "name_length_test"]
    with django_assert_num_queries(1):
        rows = list(features.annotate(Account.objects.all(), requests, as_of=as_of))
    assert len(rows) == 4


def test_annotate_computes_each_distinct_pair_once():
    account = AccountFactory()
    send(account, "web.visit", MID - timedelta(hours=1))
    params = {"signal_types": ["web.visit"], "days": 7}
    qs = features.annotate(
        Account.objects.all(),
        [
            ("first", "signal_count", params),
            ("again", "signal_count", {"days": 7, "signal_types": "web.visit"}),
            ("other", "signal_count", {"signal_types": ["web.visit"], "days": 1}),
        ],
        as_of=MID,
    )
    row = qs.values("first", "again", "other").get()
    assert row == {"first": 1, "again": 1, "other": 1}


def test_annotate_refuses_bad_params_and_naive_times():
    with pytest.raises(ValidationError):
        features.annotate(Account.objects.all(), [("x", "signal_count", {"days": 3})])
    with pytest.raises(ValueError, match="aware"):
        features.annotate(
            Account.objects.all(),
            [("x", "arr", {})],
            as_of=datetime(2026, 1, 1),
        )
