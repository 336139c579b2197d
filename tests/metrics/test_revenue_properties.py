"""Hypothesis property tests of the revenue metrics (DESIGN §5) over generated ARR
histories, stored through the accounts service and read back by metrics.revenue.

Each property is checked against a plain reading of the definitions (ARR on a day is
the last change on or before it, 0 before the first), never against the code's own
helpers."""

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from accounts.services import arr_change_record
from metrics import revenue
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

DAY0 = date(2024, 1, 1)
ZERO = Decimal(0)
# ARR amounts in cents, with 0 often enough to churn and reactivate.
MONEY = st.one_of(st.just(ZERO), st.integers(1, 50_000_000).map(lambda cents: Decimal(cents) / 100))
# A history: day offset from DAY0 -> ARR from that day on (one change per day).
HISTORY = st.dictionaries(st.integers(0, 800), MONEY, max_size=6)
HISTORIES = st.lists(HISTORY, min_size=1, max_size=4)
PERIOD = st.tuples(st.integers(-20, 820), st.integers(-20, 820)).map(sorted)
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def day(offset: int) -> date:
    return DAY0 + timedelta(days=offset)


def stored(history: dict[int, Decimal], **account) -> Account:
    """An account whose ARR history is `history`, written through the service."""
    created = AccountFactory(**account)
    for offset, amount in history.items():
        arr_change_record(account=created, effective_date=day(offset), arr=amount)
    return created


def arr_on(history: dict[int, Decimal], offset: int) -> Decimal:
    earlier = [d for d in history if d <= offset]
    return history[max(earlier)] if earlier else ZERO


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator / denominator).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def movements_by_hand(history: dict[int, Decimal], start: int, end: int) -> dict:
    """Each change in (start, end] against the ARR just before it."""
    totals = dict.fromkeys(revenue.MOVEMENTS, ZERO)
    days = sorted(history)
    for index, offset in enumerate(days):
        if not start < offset <= end:
            continue
        before = history[days[index - 1]] if index else ZERO
        after = history[offset]
        paid_earlier = any(history[d] > 0 for d in days[:index])
        if before == 0 and after > 0:
            totals["reactivation" if paid_earlier else "new"] += after
        elif before > 0 and after == 0:
            totals["churn"] += before
        elif after > before:
            totals["expansion"] += after - before
        else:
            totals["contraction"] += before - after
    return totals


def reconciles(figures) -> bool:
    m = figures.movements
    return (
        figures.arr_start
        + m["new"]
        + m["expansion"]
        - m["contraction"]
        - m["churn"]
        + m["reactivation"]
        == figures.arr_end
    )


@PROPERTY
@given(histories=HISTORIES, period=PERIOD)
def test_account_and_group_figures_follow_the_definitions(histories, period):
    # given accounts with generated ARR histories, and a period (start, end]
    start, end = period
    accounts = [stored(h) for h in histories]

    # when
    figures = revenue.arr_figures_by_account(
        [a.pk for a in accounts], start=day(start), end=day(end)
    )
    group = revenue.group_arr_figures([figures[a.pk] for a in accounts])

    # then each account's figures read its history as the definitions say
    for account, history in zip(accounts, histories, strict=True):
        f = figures[account.pk]
        assert (f.arr_start, f.arr_end) == (arr_on(history, start), arr_on(history, end))
        assert f.movements == movements_by_hand(history, start, end)
        assert reconciles(f), (history, period, f)
        assert all(amount >= 0 for amount in f.movements.values())
        if f.arr_start == 0:
            assert (f.nrr, f.grr) == (None, None)
        else:
            assert f.nrr == ratio(f.arr_end, f.arr_start)
            assert f.grr == ratio(min(f.arr_end, f.arr_start), f.arr_start)
            assert 0 <= f.grr <= 1
            assert f.grr <= f.nrr
        # "new" is the first 0 -> x ever: never once the account has paid
        if any(a > 0 for d, a in history.items() if d <= start):
            assert f.movements["new"] == 0
    # ... and the group's figures are its members' sums, its ratios over the retained base
    members = [figures[a.pk] for a in accounts]
    assert group.arr_start == sum((f.arr_start for f in members), ZERO)
    assert group.arr_end == sum((f.arr_end for f in members), ZERO)
    for kind in revenue.MOVEMENTS:
        assert group.movements[kind] == sum((f.movements[kind] for f in members), ZERO)
    assert reconciles(group)
    base = [f for f in members if f.arr_start > 0]
    if not base:
        assert (group.nrr, group.grr) == (None, None)
    else:
        starting = sum((f.arr_start for f in base), ZERO)
        assert group.nrr == ratio(sum((f.arr_end for f in base), ZERO), starting)
        assert group.grr == ratio(sum((min(f.arr_start, f.arr_end) for f in base), ZERO), starting)
        assert 0 <= group.grr <= 1
        assert group.grr <= group.nrr


@st.composite
def trees(draw):
    """Histories with a parent for each account but the first (an earlier one: no loops)."""
    histories = draw(st.lists(HISTORY, min_size=2, max_size=5))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, len(histories))]
    return histories, parents


@PROPERTY
@given(tree=trees(), period=PERIOD)
def test_every_account_with_children_rolls_up_its_whole_subtree(tree, period):
    # given a hierarchy whose members each have an ARR history
    histories, parents = tree
    start, end = period
    accounts = []
    for history, parent in zip(histories, parents, strict=True):
        accounts.append(stored(history, parent=accounts[parent] if parent is not None else None))
    ids = [a.pk for a in accounts]

    def subtree(index: int) -> list[int]:
        below = [i for i, p in enumerate(parents) if p == index]
        return [index, *(j for i in below for j in subtree(i))]

    # when
    rolled = revenue.arr_figures_by_account(ids, start=day(start), end=day(end), with_children=True)
    own = revenue.arr_figures_by_account(ids, start=day(start), end=day(end))

    # then each account's figures "with children" are those of its subtree's summed ARR
    for index, account in enumerate(accounts):
        members = subtree(index)
        f = rolled[account.pk]
        expected_start = sum((arr_on(histories[i], start) for i in members), ZERO)
        expected_end = sum((arr_on(histories[i], end) for i in members), ZERO)
        assert (f.arr_start, f.arr_end) == (expected_start, expected_end)
        assert reconciles(f)
        if expected_start > 0:
            assert f.nrr == ratio(expected_end, expected_start)
            assert 0 <= f.grr <= 1 and f.grr <= f.nrr
        # ... while its own figures never include its children
        assert (own[account.pk].arr_start, own[account.pk].arr_end) == (
            arr_on(histories[index], start),
            arr_on(histories[index], end),
        )
    # ... and the root's subtree is everyone
    root = rolled[accounts[0].pk]
    assert root.arr_end == sum((own[pk].arr_end for pk in ids), ZERO)


def month_end_by_hand(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def quarter_end_by_hand(d: date) -> date:
    return month_end_by_hand(date(d.year, 3 * ((d.month - 1) // 3) + 3, 1))


@PROPERTY
@given(histories=HISTORIES, as_of=st.integers(0, 820))
def test_cohorts_follow_the_definitions(histories, as_of):
    # given
    accounts = [stored(h) for h in histories]
    as_of_day = day(as_of)

    # when
    found = revenue.cohorts(
        accounts=Account.objects.filter(pk__in=[a.pk for a in accounts]), as_of=as_of_day
    )

    # then every account that paid by `as_of` is in the cohort of its first paid quarter
    firsts = {}
    for index, history in enumerate(histories):
        paid = [d for d, amount in history.items() if amount > 0]
        if paid and day(min(paid)) <= as_of_day:
            firsts[index] = day(min(paid))
    by_quarter = {}
    for index, first in firsts.items():
        by_quarter.setdefault(quarter_end_by_hand(first), []).append(index)
    assert [c["quarter_end"] for c in found] == sorted(by_quarter)
    for cohort in found:
        members = by_quarter[cohort["quarter_end"]]
        assert cohort["accounts"] == len(members)
        q_end = (cohort["quarter_end"] - DAY0).days
        starting = sum((arr_on(histories[i], q_end) for i in members), ZERO)
        assert cohort["starting_arr"] == starting
        # ... with a row per month end after the quarter, up to as_of
        ends = []
        current = month_end_by_hand(cohort["quarter_end"] + timedelta(days=1))
        while current <= as_of_day:
            ends.append(current)
            current = month_end_by_hand(current + timedelta(days=1))
        assert [row["month_end"] for row in cohort["months"]] == ends
        for row in cohort["months"]:
            m = (row["month_end"] - DAY0).days
            values = [arr_on(histories[i], m) for i in members]
            assert row["arr"] == sum(values, ZERO)
            assert row["active_accounts"] == sum(1 for v in values if v > 0)
            assert row["nrr"] == (ratio(row["arr"], starting) if starting else None)
            # LTV: ARR / 12 at every month end from each member's first one, up to m
            # (exactly, to the cent)
            ltv = Fraction(0)
            for i in members:
                current = month_end_by_hand(firsts[i])
                while current <= row["month_end"]:
                    ltv += Fraction(arr_on(histories[i], (current - DAY0).days)) / 12
                    current = month_end_by_hand(current + timedelta(days=1))
            assert abs(Fraction(row["ltv"]) - ltv) <= Fraction(1, 200)
        ltvs = [row["ltv"] for row in cohort["months"]]
        assert ltvs == sorted(ltvs)  # revenue to date only grows
