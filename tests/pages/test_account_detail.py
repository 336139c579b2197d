"""The account 360 page: header, committee, ARR, deals, hierarchy, signal timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import BuyingRole, DealStatus, Seniority, Stage, TeamRole
from accounts.web import selectors
from signals.models import AccountSignalDaily
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)
from tests.signals.factories import SignalFactory

pytestmark = pytest.mark.django_db


def url(account):
    return reverse("pages:account-detail", args=[account.pk])


@pytest.fixture
def acme():
    tier = TierFactory(
        rank=1,
        name="Strategic",
        required_roles=[BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION, BuyingRole.ECONOMIC_BUYER],
    )
    account = AccountFactory(name="Acme", tier=tier, stage=Stage.CUSTOMER)
    AccountDomainFactory(account=account, domain="acme.io")
    return account


def test_only_staff_see_it(client, plain_user, acme):
    assert client.get(url(acme)).status_code == 302
    client.force_login(plain_user)
    assert client.get(url(acme)).status_code == 403


def test_unknown_account_is_404(staff_client):
    assert staff_client.get(reverse("pages:account-detail", args=[999999])).status_code == 404


def test_merged_account_leads_to_its_survivor(staff_client, acme):
    loser = AccountFactory(name="Old Acme", merged_into=acme)
    response = staff_client.get(url(loser))
    assert response.status_code == 302 and response.url == url(acme)


def test_header_shows_tier_stage_owners_arr_and_nrr(staff_client, acme):
    today = timezone.localdate()
    # 100,000 before the start of the 12 months, 130,000 now: NRR 130%.
    ArrChangeFactory(account=acme, effective_date=today - timedelta(days=500), arr=Decimal(100000))
    ArrChangeFactory(account=acme, effective_date=today - timedelta(days=30), arr=Decimal(130000))
    acme.renewal_date = today + timedelta(days=90)
    acme.save()
    TeamMemberFactory(
        account=acme,
        user=UserFactory(username="ann", first_name="Ann", last_name="Lee"),
        role=TeamRole.AE,
    )

    response = staff_client.get(url(acme))

    html = response.content.decode()
    assert "<h1>Acme</h1>" in html
    assert "Strategic · 1:1" in html or "Strategic · 1:many" in html
    assert "Customer" in html
    assert "$130,000" in html and "130%" in html and "from $100,000" in html
    assert "Account executive</span> · Ann Lee" in html
    assert response.context["nrr"] == Decimal("1.3")


def test_nrr_is_undefined_without_arr_a_year_ago(staff_client, acme):
    ArrChangeFactory(
        account=acme, effective_date=timezone.localdate() - timedelta(days=20), arr=Decimal(5000)
    )
    response = staff_client.get(url(acme))
    assert response.context["nrr"] is None
    assert b"no ARR a year ago" in response.content


def test_account_page_and_admin_link_both_ways(staff_client, superuser, acme):
    admin_change = reverse("admin:accounts_account_change", args=[acme.pk])
    assert admin_change in staff_client.get(url(acme)).content.decode()
    assert acme.get_absolute_url() == url(acme)
    staff_client.force_login(superuser)
    change_page = staff_client.get(admin_change).content.decode()
    # The admin's "View on site" goes through its redirect view to the account page.
    view_on_site = reverse("admin:view_on_site", args=[_account_ct(), acme.pk])
    assert view_on_site in change_page
    assert staff_client.get(view_on_site).url.endswith(url(acme))


def _account_ct():
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import Account

    return ContentType.objects.get_for_model(Account).pk


def test_committee_shows_required_roles_covered_and_missing(staff_client, acme):
    ContactFactory(
        account=acme, name="Dana CEO", title="CEO", buying_role=BuyingRole.DECISION_MAKER
    )
    ContactFactory(account=acme, name="Carl", buying_role=BuyingRole.CHAMPION)
    ContactFactory(account=acme, name="Ursula", buying_role=BuyingRole.USER)
    ContactFactory(account=acme, name="Nobody", buying_role=BuyingRole.UNKNOWN)

    response = staff_client.get(url(acme))

    html = response.content.decode()
    assert "2 of 3 covered" in html
    assert "✓ Decision maker" in html and "✓ Champion" in html
    assert "✗ Economic buyer missing" in html
    # Known buyers leave out the contacts whose role is unknown.
    assert "3 known buyers" in html
    assert "Dana CEO" in html and "CEO" in html


def test_committee_draws_the_most_senior_few_per_role():
    tier = TierFactory(rank=1, required_roles=[BuyingRole.INFLUENCER])
    account = AccountFactory(tier=tier)
    for i in range(8):
        ContactFactory(account=account, name=f"Ic {i}", buying_role=BuyingRole.INFLUENCER)
    ContactFactory(
        account=account, name="The VP", buying_role=BuyingRole.INFLUENCER, seniority=Seniority.VP
    )
    account.refresh_from_db()

    c = selectors.committee(account=account, per_role=3)

    ((role, _label, shown, total),) = c.roles
    assert (role, total, len(shown)) == (BuyingRole.INFLUENCER, 9, 3)
    assert shown[0].name == "The VP"
    assert c.coverage == 1 and c.missing == []


def test_arr_series_gives_the_arr_at_each_month_end():
    from datetime import date

    account = AccountFactory()
    ArrChangeFactory(account=account, effective_date=date(2025, 3, 10), arr=Decimal(12000))
    ArrChangeFactory(account=account, effective_date=date(2025, 9, 1), arr=Decimal(24000))
    ArrChangeFactory(account=account, effective_date=date(2025, 12, 20), arr=Decimal(0))

    series = selectors.arr_series(account=account, today=date(2025, 12, 15))

    assert series[0] == (date(2025, 1, 31), Decimal(0))
    assert series[2] == (date(2025, 3, 31), Decimal(12000))
    assert series[7] == (date(2025, 8, 31), Decimal(12000))
    assert series[8] == (date(2025, 9, 30), Decimal(24000))
    # The last point is today; a change after today does not count yet.
    assert series[-1] == (date(2025, 12, 15), Decimal(24000))
    assert len(series) == 12


def test_one_year_before_handles_leap_days():
    from datetime import date

    assert selectors.one_year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    assert selectors.one_year_before(date(2025, 7, 4)) == date(2024, 7, 4)


def test_deals_open_first_and_hierarchy(staff_client, acme):
    DealFactory(account=acme, name="Old win", status=DealStatus.WON, close_date="2025-01-10")
    DealFactory(account=acme, name="Expansion 2026", amount=Decimal("45000"))
    parent = AccountFactory(name="Acme Holdings")
    acme.parent = parent
    acme.save()
    AccountFactory(name="Acme EMEA", parent=acme)

    response = staff_client.get(url(acme))

    html = response.content.decode()
    assert html.index("Expansion 2026") < html.index("Old win")
    assert "$45,000" in html
    assert "Acme Holdings" in html and "Acme EMEA" in html


def make_signals(account, n, start=None):
    start = start or timezone.now() - timedelta(hours=n + 1)
    return [
        SignalFactory(account=account, occurred_at=start + timedelta(hours=i), topic=f"page-{i}")
        for i in range(n)
    ]


def test_signal_timeline_pages_with_a_cursor_without_javascript(staff_client, acme):
    make_signals(acme, 25)

    first = staff_client.get(url(acme)).content.decode()

    assert "page-24" in first and "page-5" in first and "page-4" not in first
    marker = "?signals_cursor="
    start = first.index(url(acme) + marker)
    more = first[start : first.index('"', start)].replace("&amp;", "&")
    second = staff_client.get(more).content.decode()
    assert "page-4" in second and "page-0" in second and "page-5" not in second
    assert "Older signals" not in second
    assert "Latest signals" in second


def test_signal_timeline_fragment_for_htmx(staff_client, acme):
    signals = make_signals(acme, 22)
    from signals.panels import encode_cursor

    fragment = reverse("pages:account-panel", args=[acme.pk, "signals"])
    response = staff_client.get(
        fragment, {"signals_cursor": encode_cursor(signals[5])}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and "<thead>" not in html
    assert "page-4" in html and "page-0" in html and "page-5" not in html


def test_a_mangled_cursor_shows_the_latest_signals(staff_client, acme):
    make_signals(acme, 3)
    html = staff_client.get(url(acme), {"signals_cursor": "%%%not-base64"}).content.decode()
    assert "page-2" in html


def test_unknown_panel_is_404(staff_client, acme):
    assert (
        staff_client.get(reverse("pages:account-panel", args=[acme.pk, "nope"])).status_code == 404
    )


def test_weekly_signal_chart_reads_the_rollup(staff_client, acme):
    today = timezone.now().date()
    signal = make_signals(acme, 1)[0]
    AccountSignalDaily.objects.create(account=acme, type=signal.type, day=today, count=7)
    AccountSignalDaily.objects.create(
        account=acme, type=signal.type, day=today - timedelta(days=1), count=2
    )
    from signals.panels import weekly_counts

    weeks = weekly_counts(account=acme, today=today)
    assert len(weeks) == 12
    assert weeks[-1][1] == 9 and sum(n for _, n in weeks) == 9
    assert b"Signals per week, last 12 weeks" in staff_client.get(url(acme)).content


def grow(account, size, offset=0):
    """Give the account `size` more of everything the page shows."""
    for i in range(offset, offset + size):
        ContactFactory(account=account, buying_role=list(BuyingRole.values)[i % 8])
        DealFactory(account=account)
        AccountFactory(parent=account)
        ArrChangeFactory(
            account=account,
            effective_date=timezone.localdate() - timedelta(days=30 * i),
            arr=Decimal(1000 * i),
        )
    make_signals(account, size, start=timezone.now() - timedelta(days=offset + 2))


def test_page_runs_a_constant_number_of_queries(staff_client, acme, django_assert_num_queries):
    # given an account with 3 of everything, measured once; then 40 more of everything
    TeamMemberFactory(account=acme, user=UserFactory(username="owner"))
    grow(acme, 3)
    with CaptureQueriesContext(connection) as small:
        staff_client.get(url(acme))
    grow(acme, 40, offset=3)
    # when the page renders again, then it runs exactly as many queries: the accounts'
    # own panels (account, team, committee x2, ARR, signals x2, deals, contacts,
    # children, with session and user) and one to three per panel higher apps add,
    # within the budget of DESIGN §10.
    with django_assert_num_queries(len(small.captured_queries)):
        response = staff_client.get(url(acme))
    assert response.status_code == 200
    assert len(small.captured_queries) <= 20
