"""What measurement adds to the pages: scores with band, trend and breakdown, the
health trend, score bands by tier, the health column and filter of the account list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Stage
from metrics.models import AccountScore, AccountSnapshot, ScoreBand, ScoreModel
from metrics.panels import band_matrix, snapshot_series
from tests.accounts.factories import AccountFactory, TierFactory

pytestmark = pytest.mark.django_db


def model(key):
    score_model, _ = ScoreModel.objects.update_or_create(key=key, defaults={"name": key.title()})
    ScoreBand.objects.filter(model=score_model).delete()
    for band, minimum in [("green", 70), ("yellow", 40), ("red", 0)]:
        ScoreBand.objects.create(model=score_model, name=band, min_score=minimum)
    return score_model


def score(account, score_model, value, band, breakdown=None):
    return AccountScore.objects.create(
        account=account,
        model=score_model,
        score=None if value is None else Decimal(value),
        band=band,
        breakdown=breakdown or {},
        computed_at=timezone.now(),
    )


def snapshot(account, days_ago, **scores):
    return AccountSnapshot.objects.create(
        account=account,
        day=timezone.localdate() - timedelta(days=days_ago),
        scores=scores,
        stage=Stage.CUSTOMER,
    )


def test_snapshot_series_fills_days_without_a_snapshot_with_the_day_before():
    account = AccountFactory()
    snapshot(account, 40, health=50)
    snapshot(account, 3, health=62)
    today = timezone.localdate()

    series = snapshot_series(account=account, start=today - timedelta(days=5), end=today)

    assert [series[today - timedelta(days=d)].get("health") for d in (5, 4, 3, 2, 0)] == [
        50,
        50,
        62,
        62,
        62,
    ]


def test_account_page_shows_scores_with_band_trend_and_breakdown(staff_client):
    account = AccountFactory(name="Acme")
    health, fit = model("health"), model("fit")
    breakdown = {
        "components": [
            {
                "component": "Product usage trend",
                "source": "signal_change_pct",
                "raw": -12.5,
                "points": 40.0,
                "weight": 2.0,
                "effective_weight": 0.5,
                "contribution": 20.0,
                "missing": False,
            },
            {
                "component": "NPS",
                "source": "nps_latest",
                "raw": None,
                "points": None,
                "weight": 1.0,
                "effective_weight": 0,
                "contribution": None,
                "missing": True,
            },
        ],
        "note": "No value for NPS: left out, the other weights renormalised.",
    }
    score(account, health, "64", "yellow", breakdown)
    score(account, fit, "81", "green")
    snapshot(account, 29, health=70, fit=81)
    snapshot(account, 10, health=64, fit=81)

    html = staff_client.get(reverse("pages:account-detail", args=[account.pk])).content.decode()

    # Fit reads before health; each score names its band in words.
    assert html.index('data-model="fit"') < html.index('data-model="health"')
    assert "Yellow</span>" in html and "Green</span>" in html
    # 64 now against 70 thirty days ago.
    assert "▼ -6.0 in 30 days" in html
    assert 'aria-label="Health, last 30 days: from 70 to 64' in html
    assert "Product usage trend" in html and "-12.5" in html and "(50%)" in html
    assert "no value" in html and "No value for NPS" in html
    assert "Health score at each month end, last 12 months" in html


def test_account_without_scores_says_so(staff_client):
    account = AccountFactory()
    html = staff_client.get(reverse("pages:account-detail", args=[account.pk])).content.decode()
    assert "No scores yet" in html


def test_scores_panel_queries_do_not_grow_with_history(staff_client, django_assert_num_queries):
    account = AccountFactory()
    health = model("health")
    score(account, health, "50", "yellow")
    snapshot(account, 400, health=10)
    url = reverse("pages:account-detail", args=[account.pk])
    with CaptureQueriesContext(connection) as before:
        staff_client.get(url)
    for day in range(1, 300):
        snapshot(account, day, health=day % 100)
    with django_assert_num_queries(len(before.captured_queries)):
        staff_client.get(url)


def test_scoreboard_counts_bands_by_tier(staff_client):
    gold = TierFactory(rank=1, name="Gold")
    health = model("health")
    for value, band in [("80", "green"), ("75", "green"), ("20", "red")]:
        score(AccountFactory(tier=gold), health, value, band)
    score(AccountFactory(), health, "50", "yellow")
    merged = AccountFactory(tier=gold, merged_into=AccountFactory())
    score(merged, health, "90", "green")

    (health_rows,) = [m for m in band_matrix() if m["name"] == "Health"]

    rows = {row["tier"]: row for row in health_rows["rows"]}
    assert rows["Gold"]["total"] == 3
    assert rows["Gold"]["segments"] == [
        ("Green", 2, "green"),
        ("Yellow", 0, "yellow"),
        ("Red", 1, "red"),
    ]
    assert rows["No tier"]["total"] == 1
    html = staff_client.get(reverse("pages:scoreboard")).content.decode()
    assert "Score bands by tier" in html and "Health bands, Gold: Green 2 (67%)" in html


def test_account_list_health_column_sort_and_filter(staff_client):
    health = model("health")
    score(AccountFactory(name="Healthy"), health, "88", "green")
    score(AccountFactory(name="At risk"), health, "22", "red")
    AccountFactory(name="Unscored")
    url = reverse("pages:account-list")

    response = staff_client.get(url, {"sort": "-health"})

    names = [a.name for a in response.context["accounts"]]
    assert names[:2] == ["Healthy", "At risk"]
    html = response.content.decode()
    assert "Green · 88" in html and "Red · 22" in html
    red = staff_client.get(url, {"health_band": "red"})
    assert [a.name for a in red.context["accounts"]] == ["At risk"]


@pytest.mark.parametrize("rows", [3, 12])
def test_list_with_health_stays_constant(staff_client, django_assert_num_queries, rows):
    health = model("health")
    for i in range(rows):
        score(AccountFactory(), health, str(10 * i), "red")
    # session, user, tiers, owners, health bands, count, rows, team prefetch, and what
    # other apps add to the list (a fixed number, see test_account_list).
    with CaptureQueriesContext(connection) as first:
        staff_client.get(reverse("pages:account-list"), {"sort": "health"})
    score(AccountFactory(), health, "99", "green")
    with django_assert_num_queries(len(first.captured_queries)):
        staff_client.get(reverse("pages:account-list"), {"sort": "health"})


def test_scoreboard_rollup_by_tier_with_revenue_figures(staff_client):
    from tests.accounts.factories import ArrChangeFactory

    gold, silver = TierFactory(rank=1, name="Gold"), TierFactory(rank=2, name="Silver")
    today = timezone.localdate()
    old = AccountFactory(tier=gold)
    ArrChangeFactory(account=old, effective_date=today - timedelta(days=500), arr=Decimal(100000))
    ArrChangeFactory(account=old, effective_date=today - timedelta(days=60), arr=Decimal(120000))
    new = AccountFactory(tier=gold)
    ArrChangeFactory(account=new, effective_date=today - timedelta(days=90), arr=Decimal(50000))
    AccountFactory(tier=silver)

    response = staff_client.get(reverse("pages:scoreboard"))

    (rollup,) = [s for s in response.context["sections"] if s["section"].key == "rollup"]
    html = rollup["html"]
    # Gold: ARR 170,000; NRR over accounts with ARR a year ago: 120,000 / 100,000.
    gold_row = html[html.index(">Gold<") : html.index(">Silver<")]
    assert "$170,000" in gold_row and "120.0%" in gold_row and "100.0%" in gold_row
    assert html.index(">Gold<") < html.index(">Silver<") < html.index(">All accounts<")
    by_stage = staff_client.get(reverse("pages:scoreboard"), {"group_by": "stage"})
    assert 'aria-current="true">Stage</a>' in by_stage.content.decode()
    fallback = staff_client.get(reverse("pages:scoreboard"), {"group_by": "nonsense"})
    assert 'aria-current="true">Tier</a>' in fallback.content.decode()


def test_scoreboard_cohorts_follow_the_design_example(staff_client):
    from datetime import date

    from tests.accounts.factories import ArrChangeFactory

    account = AccountFactory(stage=Stage.CUSTOMER)
    ArrChangeFactory(account=account, effective_date=date(2025, 1, 10), arr=Decimal(12000))
    ArrChangeFactory(account=account, effective_date=date(2025, 4, 1), arr=Decimal(24000))

    html = staff_client.get(reverse("pages:scoreboard")).content.decode()

    section = html[html.index('id="section-cohorts"') :]
    row = section[section.index('<th scope="row">2025-Q1</th>') :]
    row = row[: row.index("</tr>")]
    # Starting ARR 12,000; at 3 months (2025-06-30) NRR = 24,000 / 12,000.
    assert "$12,000" in row
    assert '<td class="num">200%</td>' in row


def test_scoreboard_queries_do_not_grow_with_accounts(staff_client, django_assert_num_queries):
    from tests.accounts.factories import ArrChangeFactory

    gold = TierFactory(rank=1, name="Gold")
    health = model("health")

    def add(n):
        for i in range(n):
            account = AccountFactory(tier=gold)
            ArrChangeFactory(account=account, arr=Decimal(1000 * (i + 1)))
            score(account, health, "55", "yellow")

    add(3)
    with CaptureQueriesContext(connection) as first:
        staff_client.get(reverse("pages:scoreboard"))
    add(10)
    cache.clear()  # computed again, not read from the scoreboard's cache
    with django_assert_num_queries(len(first.captured_queries)):
        staff_client.get(reverse("pages:scoreboard"))


def test_scoreboard_keeps_rollups_for_a_few_minutes(staff_client):
    from tests.accounts.factories import ArrChangeFactory

    gold = TierFactory(rank=1, name="Gold")
    ArrChangeFactory(account=AccountFactory(tier=gold), arr=Decimal(1000))
    first = staff_client.get(reverse("pages:scoreboard")).content.decode()
    ArrChangeFactory(account=AccountFactory(tier=gold), arr=Decimal(5000))

    again = staff_client.get(reverse("pages:scoreboard")).content.decode()
    cache.clear()
    fresh = staff_client.get(reverse("pages:scoreboard")).content.decode()

    assert "$1,000" in first and "$6,000" not in again and "$6,000" in fresh
    assert "refreshed every 5 minutes" in fresh
