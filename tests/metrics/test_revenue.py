"""Revenue metrics against figures computed by hand (DESIGN §5)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.choices import AccountEventKind, DealKind, DealStatus, PartnerInfluence
from accounts.models import Account, AccountEvent, ArrChange, Deal
from metrics import revenue
from tests.accounts.factories import AccountFactory, PartnerFactory, TierFactory

pytestmark = pytest.mark.django_db

START, END = date(2025, 6, 30), date(2026, 6, 30)
D = Decimal


def arr(account, day, amount):
    ArrChange.objects.create(account=account, effective_date=day, arr=D(amount))


@pytest.fixture
def graph():
    """A parent A, its child B, B's child C, and D on its own."""
    a = AccountFactory(name="A")
    b = AccountFactory(name="B", parent=a)
    c = AccountFactory(name="C", parent=b)
    d = AccountFactory(name="D")
    arr(a, date(2025, 1, 1), 1000)
    arr(a, date(2025, 9, 1), 1500)  # expansion 500
    arr(a, date(2026, 3, 1), 0)  # churn 1500
    arr(a, date(2026, 5, 1), 800)  # reactivation 800 (churn and reactivation in one period)
    arr(b, date(2025, 8, 1), 2000)  # new 2000 (no ARR at the start)
    arr(b, date(2026, 6, 30), 2500)  # on the end day: in the period, expansion 500
    arr(c, date(2025, 6, 30), 300)  # on the start day: not a movement, ARR(start) = 300
    arr(c, date(2026, 1, 1), 200)  # contraction 100
    arr(d, date(2024, 1, 1), 5000)
    arr(d, date(2026, 2, 1), 6000)  # expansion 1000
    arr(d, date(2026, 7, 1), 9000)  # after the period
    return a, b, c, d


def test_account_figures_never_include_children(graph):
    a, b, c, d = graph
    figures = revenue.arr_figures_by_account([a.pk, b.pk, c.pk, d.pk], start=START, end=END)
    fa, fb, fc, fd = (figures[x.pk] for x in (a, b, c, d))
    assert (fa.arr_start, fa.arr_end, fa.nrr, fa.grr) == (1000, 800, D("0.8"), D("0.8"))
    assert fa.movements == {
        "new": 0, "expansion": 500, "contraction": 0, "churn": 1500, "reactivation": 800,
    }  # fmt: skip
    assert (fb.arr_start, fb.arr_end, fb.nrr, fb.grr) == (0, 2500, None, None)
    assert fb.movements["new"] == 2000 and fb.movements["expansion"] == 500
    assert fc.nrr == D("0.6667") and fc.grr == D("0.6667")
    assert fc.movements["contraction"] == 100 and fc.movements["new"] == 0
    assert (fd.arr_end, fd.nrr, fd.grr) == (6000, D("1.2"), D("1"))


def test_group_figures_count_each_account_once(graph):
    figures = revenue.arr_figures_by_account([x.pk for x in graph], start=START, end=END)
    total = revenue.group_arr_figures(list(figures.values()))
    # Base: A 1000 + C 300 + D 5000 = 6300 (B had no ARR at the start).
    # End of those: 800 + 200 + 6000 = 7000; gross: 800 + 200 + 5000 = 6000.
    assert total.nrr == D("1.1111")
    assert total.grr == D("0.9524")
    assert total.arr_start == 6300 and total.arr_end == 800 + 2500 + 200 + 6000
    assert total.movements == {
        "new": 2000, "expansion": 2000, "contraction": 100, "churn": 1500, "reactivation": 800,
    }  # fmt: skip


def test_parent_with_children_is_its_whole_subtree(graph):
    a, b, c, _ = graph
    figures = revenue.arr_figures_by_account([a.pk], start=START, end=END, with_children=True)
    fa = figures[a.pk]
    # Subtree ARR by change day: 1300 on 2025-06-30, 3300, 3800, 3700, 2200, 3000, 3500.
    assert (fa.arr_start, fa.arr_end) == (1300, 3500)
    assert fa.nrr == D("2.6923") and fa.grr == D("1")
    assert fa.movements == {
        "new": 0, "expansion": 2000 + 500 + 800 + 500, "contraction": 100 + 1500,
        "churn": 0, "reactivation": 0,
    }  # fmt: skip
    assert revenue.subtrees([a.pk, b.pk, c.pk]) == {
        a.pk: sorted([a.pk, b.pk, c.pk]), b.pk: sorted([b.pk, c.pk]), c.pk: [c.pk],
    }  # fmt: skip


def test_arr_on_a_date_is_the_last_change_on_or_before_it(graph):
    a = graph[0]
    history = revenue.histories([a.pk])[a.pk]
    assert history.on(date(2024, 12, 31)) == 0
    assert history.on(date(2025, 1, 1)) == 1000
    assert history.on(date(2026, 4, 30)) == 0
    assert history.on(date(2026, 5, 1)) == 800


def deal(account, amount, status, kind=DealKind.NEW_BUSINESS, closed=None, influence="none"):
    partner = PartnerFactory() if influence != PartnerInfluence.NONE else None
    Deal.objects.create(
        account=account, name="d", kind=kind, status=status, amount=D(amount),
        created_date=date(2025, 1, 1), close_date=closed, partner_influence=influence,
        partner=partner,
    )  # fmt: skip


def test_pipeline_and_won_by_kind_and_partner(graph, django_assert_num_queries):
    a, b, _, d = graph
    deal(a, "100.10", DealStatus.OPEN, influence=PartnerInfluence.SOURCED)
    deal(a, "50", DealStatus.OPEN, kind=DealKind.EXPANSION, influence=PartnerInfluence.INFLUENCED)
    deal(a, "1000", DealStatus.WON, closed=date(2026, 6, 30))  # on the end day: in
    deal(a, "700", DealStatus.WON, kind=DealKind.RENEWAL, closed=date(2025, 6, 30))  # out
    deal(a, "999", DealStatus.LOST, closed=date(2026, 1, 1))
    deal(b, "19.99", DealStatus.OPEN)
    with django_assert_num_queries(1):
        own = revenue.deal_figures([a.pk, b.pk, d.pk], start=START, end=END)
    assert own[a.pk]["pipeline"] == {
        "total": D("150.10"),
        "by_kind": {"new_business": D("100.10"), "expansion": D("50")},
        "partner_sourced": D("100.10"),
        "partner_influenced": D("50"),
    }
    assert own[a.pk]["won"]["total"] == D("1000")
    assert own[a.pk]["won"]["by_kind"] == {"new_business": D("1000")}
    assert own[d.pk]["pipeline"]["total"] == 0
    tree = revenue.deal_figures([a.pk], start=START, end=END, with_children=True)
    assert tree[a.pk]["pipeline"]["total"] == D("170.09")
    total = revenue.group_deal_figures(list(own.values()))
    assert total["pipeline"]["total"] == D("170.09")
    assert total["pipeline"]["by_kind"]["new_business"] == D("120.09")


# Cohorts ----------------------------------------------------------------------------


def test_cohort_worked_example_from_the_design():
    # ARR 12,000 from 2025-01-10, 24,000 from 2025-04-01. Cohort 2025-Q1; starting ARR =
    # ARR on 2025-03-31 = 12,000. At 2025-06-30: NRR = 2.0; LTV = (12,000 x 3 + 24,000 x 3)
    # / 12 = 9,000 (month ends Jan-Jun).
    account = AccountFactory()
    arr(account, date(2025, 1, 10), 12000)
    arr(account, date(2025, 4, 1), 24000)
    [cohort] = revenue.cohorts(as_of=date(2025, 6, 30))
    assert cohort["cohort"] == "2025-Q1"
    assert cohort["starting_arr"] == 12000
    assert [m["month_end"] for m in cohort["months"]] == [
        date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 30),
    ]  # fmt: skip
    june = cohort["months"][-1]
    assert june["nrr"] == D("2")
    assert june["ltv"] == D("9000")
    assert june["arr"] == 24000 and june["active_accounts"] == 1


def test_cohort_with_a_churned_account_and_a_later_cohort():
    e, f, g = AccountFactory(), AccountFactory(), AccountFactory()
    arr(e, date(2025, 1, 10), 12000)
    arr(e, date(2025, 4, 1), 24000)
    arr(f, date(2025, 3, 15), 6000)
    arr(f, date(2025, 5, 20), 0)  # churned
    arr(g, date(2025, 4, 1), 0)  # a zero first: not yet a customer
    arr(g, date(2025, 5, 1), 3000)  # first ARR > 0 in Q2
    AccountFactory()  # never paid: in no cohort
    q1, q2 = revenue.cohorts(as_of=date(2025, 6, 30))
    assert (q1["cohort"], q1["accounts"], q1["starting_arr"]) == ("2025-Q1", 2, 18000)
    april, may, june = q1["months"]
    assert (april["arr"], april["active_accounts"], april["nrr"]) == (30000, 2, D("1.6667"))
    # LTV at April: E (12,000 x 3 + 24,000) / 12 = 5,000; F (6,000 Mar + 6,000 Apr) / 12.
    assert april["ltv"] == D("6000")
    # May: F churned on 05-20; LTV E (12,000 x 3 + 24,000 x 2) / 12 + F 1,000.
    assert (may["arr"], may["active_accounts"], may["ltv"]) == (24000, 1, D("8000"))
    assert (june["arr"], june["active_accounts"], june["nrr"]) == (24000, 1, D("1.3333"))
    assert june["ltv"] == D("10000") and june["ltv_per_account"] == D("5000")
    assert (q2["cohort"], q2["starting_arr"], q2["months"]) == ("2025-Q2", 3000, [])


# Stage funnel -----------------------------------------------------------------------


def stage_event(account, new, at):
    AccountEvent.objects.create(
        account=account, kind=AccountEventKind.STAGE_CHANGED, new_value=new, occurred_at=at
    )


def test_stage_funnel():
    tier = TierFactory(rank=1, name="Strategic")
    x, y, z = AccountFactory(tier=tier), AccountFactory(tier=tier), AccountFactory()
    stage_event(x, "engaged", datetime(2026, 1, 1, tzinfo=UTC))
    stage_event(x, "opportunity", datetime(2026, 1, 11, tzinfo=UTC))
    stage_event(x, "customer", datetime(2026, 2, 10, tzinfo=UTC))
    stage_event(y, "engaged", datetime(2026, 1, 5, tzinfo=UTC))
    stage_event(z, "engaged", datetime(2025, 1, 5, tzinfo=UTC))  # before the period
    funnel = revenue.stage_funnel(start=date(2025, 12, 31), end=date(2026, 6, 30))
    assert len(funnel) == 1
    strategic = {s["stage"]: s for s in funnel[0]["stages"]}
    assert funnel[0]["tier"] == "Strategic"
    assert strategic["prospect"]["entered"] == 0
    assert strategic["engaged"] == {
        "stage": "engaged", "entered": 2, "converted_to_next": 1, "conversion": D("0.5"),
        "median_days_in_stage": 10.0,
    }  # fmt: skip
    assert strategic["opportunity"]["median_days_in_stage"] == 30.0
    assert strategic["opportunity"]["conversion"] == D("1")
    assert strategic["customer"]["entered"] == 1
    assert strategic["customer"]["conversion"] is None


def test_queries_do_not_grow_with_accounts(django_assert_num_queries):
    for index in range(4):
        account = AccountFactory()
        arr(account, date(2025, 1, 1 + index), 1000)
    ids = list(Account.objects.values_list("pk", flat=True))
    with django_assert_num_queries(2):  # accounts' hierarchy, ARR changes
        revenue.arr_figures_by_account(ids, start=START, end=END, with_children=True)
    with django_assert_num_queries(2):  # account ids, ARR changes
        revenue.cohorts(as_of=END)
