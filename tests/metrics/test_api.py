"""The scoreboard API: scopes, figures, filters, bad input and constant query counts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from abx_site.common.scopes import Scope
from accounts.choices import AccountEventKind, BuyingRole, Stage, TeamRole
from accounts.models import AccountEvent, ArrChange
from metrics import services
from metrics.models import AccountSnapshot
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/accounts/{id}/scoreboard/",
    "/api/v1/scoreboards/",
    "/api/v1/scoreboards/rollup/?group_by=tier",
    "/api/v1/metrics/cohorts/",
    "/api/v1/metrics/funnel/",
]


@pytest.fixture
def client(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SCOREBOARDS_READ)}")
    return api_client


def build(count, tier=None, *, ae=None):
    """`count` customer accounts with ARR 1,000 a year ago and 1,200 now, scored."""
    tier = tier or TierFactory(rank=1, name="Strategic")
    today = timezone.now().date()
    accounts = []
    for index in range(count):
        account = AccountFactory(tier=tier, stage=Stage.CUSTOMER)
        AccountDomainFactory(account=account)
        ArrChange.objects.create(
            account=account, effective_date=today - timedelta(days=400), arr=Decimal(1000)
        )
        ArrChange.objects.create(
            account=account, effective_date=today - timedelta(days=100), arr=Decimal(1200)
        )
        ContactFactory(account=account, buying_role=BuyingRole.CHAMPION)
        TeamMemberFactory(account=account, user=ae or UserFactory(), role=TeamRole.AE)
        AccountEvent.objects.create(
            account=account,
            kind=AccountEventKind.STAGE_CHANGED,
            new_value="customer",
            occurred_at=timezone.now() - timedelta(days=10 + index),
        )
        accounts.append(account)
    services.scores_recompute()
    return accounts


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoints_need_the_scoreboards_scope(api_client, api_key_for, endpoint):
    account = AccountFactory()
    url = endpoint.format(id=account.pk)
    assert api_client.get(url).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    response = api_client.get(url)
    assert response.status_code == 403
    assert "scoreboards:read" in response.json()["message"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SCOREBOARDS_READ)}")
    assert api_client.get(url).status_code == 200


def test_staff_session_reads_scoreboards(api_client, staff_user):
    account = AccountFactory()
    api_client.force_login(staff_user)
    assert api_client.get(f"/api/v1/accounts/{account.pk}/scoreboard/").status_code == 200


# One account ------------------------------------------------------------------------


def test_account_scoreboard(client):
    tier = TierFactory(rank=1, required_roles=[BuyingRole.CHAMPION, BuyingRole.DECISION_MAKER])
    [account] = build(1, tier)
    child = AccountFactory(parent=account)
    ArrChange.objects.create(
        account=child, effective_date=timezone.now().date() - timedelta(days=500), arr=500
    )
    health = account.scores.get(model__key="health")
    AccountSnapshot.objects.create(
        account=account,
        day=timezone.now().date() - timedelta(days=40),
        scores={"health": float(health.score) - 10},
        stage=Stage.CUSTOMER,
    )
    body = client.get(f"/api/v1/accounts/{account.pk}/scoreboard/").json()
    assert body["account"]["tier"] == tier.name
    assert body["account"]["owners"]["ae"] is not None
    revenue = body["revenue"]
    # ARR 1,000 a year ago, 1,200 now: NRR = GRR... GRR = min(1200, 1000) / 1000 = 1.
    assert (revenue["arr"], revenue["arr_at_start"]) == ("1200.00", "1000.00")
    assert (revenue["nrr"], revenue["grr"]) == ("1.2000", "1.0000")
    assert revenue["movements"]["expansion"] == "200.00"
    assert set(body) >= {"account", "revenue", "scores", "committee"}
    scores = {s["model"]: s for s in body["scores"]}
    assert set(scores) == {"fit", "intent", "engagement", "health"}
    assert scores["fit"]["band"] in {"green", "yellow", "red"}
    assert scores["fit"]["breakdown"]["components"][0]["component"] == "Company size"
    assert len(scores["health"]["trend"]) == 31
    assert scores["health"]["change_30d"] == 10.0
    assert body["committee"] == {
        "size": 1,
        "roles_covered": ["champion"],
        "roles_required": ["champion", "decision_maker"],
        "roles_missing": ["decision_maker"],
        "growth_30d": 1,
    }
    tree = client.get(f"/api/v1/accounts/{account.pk}/scoreboard/?with_children=true").json()
    assert tree["revenue"]["arr"] == "1700.00"
    assert tree["revenue"]["nrr"] == "1.1333"  # 1,700 / 1,500


def test_account_scoreboard_errors(client):
    response = client.get("/api/v1/accounts/999999/scoreboard/")
    assert response.status_code == 404
    account = AccountFactory()
    response = client.get(f"/api/v1/accounts/{account.pk}/scoreboard/?with_children=maybe")
    assert response.status_code == 400
    assert "with_children" in response.json()["errors"]


def test_account_scoreboard_query_count(client, django_assert_max_num_queries):
    [account] = build(1)
    for days in (5, 15, 45):
        AccountSnapshot.objects.create(
            account=account, day=timezone.now().date() - timedelta(days=days), stage="customer"
        )
    # DESIGN §10: an account scoreboard runs at most 10 queries (plus the key lookup).
    with django_assert_max_num_queries(12):
        assert client.get(f"/api/v1/accounts/{account.pk}/scoreboard/").status_code == 200


# Lists and rollups ------------------------------------------------------------------


def test_scoreboard_list_filters(client):
    alice = UserFactory(username="alice")
    strategic = TierFactory(rank=1, name="Strategic")
    growth = TierFactory(rank=2, name="Growth")
    mine = build(2, strategic, ae=alice)
    prospect = AccountFactory(stage=Stage.PROSPECT)
    theirs = build(1, growth)  # scores every account
    body = client.get("/api/v1/scoreboards/").json()
    assert body["count"] == 4
    row = next(r for r in body["results"] if r["id"] == mine[0].pk)
    assert row["arr"] == "1200.00" and row["tier"] == "Strategic" and row["owner"] == "alice"
    assert set(row["scores"]) == {"fit", "intent", "engagement", "health"}

    def ids(query):
        return {r["id"] for r in client.get(f"/api/v1/scoreboards/?{query}").json()["results"]}

    assert ids("tier=Strategic") == {a.pk for a in mine}
    assert ids("stage=prospect") == {prospect.pk}
    assert ids("owner=alice") == {a.pk for a in mine}
    band = mine[0].scores.get(model__key="fit").band
    everyone = [*mine, *theirs, prospect]
    expected = {a.pk for a in everyone if a.scores.get(model__key="fit").band == band}
    assert ids(f"band={band}&band_model=fit") == expected
    response = client.get("/api/v1/scoreboards/?stage=lost")
    assert response.status_code == 400 and "stage" in response.json()["errors"]


def test_scoreboard_list_query_count_does_not_grow(client, django_assert_num_queries):
    build(3)
    client.get("/api/v1/scoreboards/")  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as first:
        assert len(client.get("/api/v1/scoreboards/").json()["results"]) == 3
    build(3, TierFactory(rank=2))
    with django_assert_num_queries(len(first)):
        assert len(client.get("/api/v1/scoreboards/").json()["results"]) == 6


def test_rollup_by_tier(client):
    strategic = TierFactory(rank=1, name="Strategic")
    build(2, strategic)
    AccountFactory()  # no tier, no ARR
    body = client.get("/api/v1/scoreboards/rollup/?group_by=tier").json()
    assert body["sums_to_total"] is True
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["Strategic"]["accounts"] == 2
    assert groups["Strategic"]["arr"] == "2400.00"
    assert groups["Strategic"]["nrr"] == "1.2000"
    assert groups[None]["accounts"] == 1 and groups[None]["nrr"] is None
    assert body["total"]["accounts"] == 3 and body["total"]["arr"] == "2400.00"
    fit = groups["Strategic"]["scores"]["fit"]
    assert sum(fit["bands"].values()) == 2 and fit["average"] is not None


@pytest.mark.parametrize("group_by", ["tier", "stage", "owner", "industry", "partner"])
def test_rollup_query_count_does_not_grow(client, django_assert_num_queries, group_by):
    build(3)
    url = f"/api/v1/scoreboards/rollup/?group_by={group_by}"
    client.get(url)  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    build(3, TierFactory(rank=2))
    with django_assert_num_queries(len(first)):
        body = client.get(url).json()
    assert body["total"]["accounts"] == 6


def test_rollup_refuses_an_unknown_grouping(client):
    response = client.get("/api/v1/scoreboards/rollup/?group_by=colour")
    assert response.status_code == 400
    assert "group_by" in response.json()["errors"]
    assert client.get("/api/v1/scoreboards/rollup/").status_code == 400


# Cohorts and funnel -----------------------------------------------------------------


def test_cohorts(client, django_assert_num_queries):
    account = AccountFactory()
    ArrChange.objects.create(account=account, effective_date=date(2025, 1, 10), arr=12000)
    ArrChange.objects.create(account=account, effective_date=date(2025, 4, 1), arr=24000)
    with django_assert_num_queries(4):  # key, its last use, account ids, ARR changes
        body = client.get("/api/v1/metrics/cohorts/?as_of=2025-06-30").json()
    assert body[0]["cohort"] == "2025-Q1"
    assert body[0]["months"][-1]["ltv"] == "9000.00"
    assert body[0]["months"][-1]["nrr"] == "2.0000"
    assert client.get("/api/v1/metrics/cohorts/?as_of=June").status_code == 400


def customers_entered(body) -> dict:
    return {
        tier["tier"]: next(s["entered"] for s in tier["stages"] if s["stage"] == "customer")
        for tier in body["tiers"]
    }


def test_funnel(client, django_assert_num_queries):
    build(3)
    client.get("/api/v1/metrics/funnel/")  # the key's first use is recorded once
    with django_assert_num_queries(2):  # key, stage-change events
        body = client.get("/api/v1/metrics/funnel/").json()
    assert customers_entered(body) == {"Strategic": 3}

    build(3, TierFactory(rank=2, name="Growth"))
    with django_assert_num_queries(2):
        body = client.get("/api/v1/metrics/funnel/").json()
    assert customers_entered(body) == {"Growth": 3, "Strategic": 3}

    response = client.get("/api/v1/metrics/funnel/?start=2026-01-02&end=2026-01-01")
    assert response.status_code == 400 and "start" in response.json()["errors"]
