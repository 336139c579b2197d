"""Revenue metrics, exactly as DESIGN §5 defines them (selectors: reads only).

For an account and a period `(start, end]` (default: the 12 months up to today), with
ARR(d) the account's ARR on day d (the last ARR change on or before d, 0 before the
first):

- NRR = ARR(end) / ARR(start), only when ARR(start) > 0; over a group, the sum of
  ARR(end) over the sum of ARR(start), over the accounts with ARR(start) > 0.
- GRR = min(ARR(end), ARR(start)) / ARR(start), summed the same way.
- Movements, from consecutive ARR changes effective in the period: new (0 -> x, the
  first time), expansion, contraction (to > 0), churn (x -> 0), reactivation (0 -> x
  after a churn); each summed as a positive amount.
- Pipeline: open deal amounts; won: deals won with a close date in the period; both
  by deal kind, with partner-sourced and partner-influenced amounts.
- Parents: an account's own figures never include its children; `with_children`
  treats each account's whole subtree as one (its members' ARR added day by day).
  Group figures count each account once, by its own figures.

Every function reads a constant number of queries (the ARR histories of all the
accounts at once) and computes in Python with Decimal: money is never a float.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db.models import BigIntegerField, F, Q, Sum
from django.db.models.functions import Cast, Round
from django.utils import timezone

from accounts.choices import AccountEventKind, DealStatus, PartnerInfluence, Stage
from accounts.selectors import account_event_list, account_set, arr_change_list, deal_list

from .dates import add_months, month_end, quarter_end, quarter_label

ZERO = Decimal(0)
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
FUNNEL_STAGES = [Stage.PROSPECT, Stage.ENGAGED, Stage.OPPORTUNITY, Stage.CUSTOMER]


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def default_period(as_of: date | None = None) -> tuple[date, date]:
    end = as_of or timezone.now().date()
    return add_months(end, -12), end


# ARR histories ----------------------------------------------------------------------


class History:
    """One account's (or subtree's) ARR changes, in order: [(day, arr)]."""

    def __init__(self, changes: list[tuple[date, Decimal]]):
        self.changes = sorted(changes)

    def on(self, day: date) -> Decimal:
        value = ZERO
        for effective, arr in self.changes:
            if effective > day:
                break
            value = arr
        return value

    def first_positive(self) -> date | None:
        return next((d for d, arr in self.changes if arr > 0), None)

    def movements(self, start: date, end: date) -> dict[str, Decimal]:
        totals = dict.fromkeys(MOVEMENTS, ZERO)
        previous, ever_paid = ZERO, False
        for effective, arr in self.changes:
            if start < effective <= end:
                if previous == 0 and arr > 0:
                    totals["reactivation" if ever_paid else "new"] += arr
                elif previous > 0 and arr == 0:
                    totals["churn"] += previous
                elif arr > previous:
                    totals["expansion"] += arr - previous
                elif arr < previous:
                    totals["contraction"] += previous - arr
            if effective > end:
                break
            ever_paid = ever_paid or arr > 0
            previous = arr
        return totals


def _merge(histories: list[History]) -> History:
    """A subtree's history: on every change day of any member, the members' sum."""
    days = sorted({d for h in histories for d, _ in h.changes})
    return History([(d, sum((h.on(d) for h in histories), ZERO)) for d in days])


def histories(account_ids, *, with_children: bool = False) -> dict[int, History]:
    """ARR history per account id (its subtree's, `with_children`); two queries."""
    account_ids = list(account_ids)
    members = subtrees(account_ids) if with_children else {a: [a] for a in account_ids}
    wanted = {m for group in members.values() for m in group}
    changes = defaultdict(list)
    for account_id, effective, arr in (
        arr_change_list()
        .filter(account_id__in=wanted)
        .values_list("account_id", "effective_date", "arr")
        .iterator(chunk_size=5000)
    ):
        changes[account_id].append((effective, Decimal(arr)))
    own = {a: History(changes.get(a, [])) for a in wanted}
    if not with_children:
        return {a: own[a] for a in account_ids}
    return {a: _merge([own[m] for m in group]) for a, group in members.items()}


def subtrees(account_ids) -> dict[int, list[int]]:
    """Each account with all its descendants (any depth), from one query."""
    children = defaultdict(list)
    for pk, parent_id in account_set().exclude(parent=None).values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    result = {}
    for root in account_ids:
        seen, todo = {root}, [root]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        result[root] = sorted(seen)
    return result


# Account and group figures ----------------------------------------------------------


@dataclass
class ArrFigures:
    arr_start: Decimal = ZERO
    arr_end: Decimal = ZERO
    nrr: Decimal | None = None
    grr: Decimal | None = None
    movements: dict = field(default_factory=lambda: dict.fromkeys(MOVEMENTS, ZERO))
    # the sums behind NRR/GRR: accounts with ARR(start) > 0 only
    retained_base: Decimal = ZERO
    retained_end: Decimal = ZERO
    retained_gross: Decimal = ZERO


def arr_figures(history: History, start: date, end: date) -> ArrFigures:
    figures = ArrFigures(arr_start=history.on(start), arr_end=history.on(end))
    figures.movements = history.movements(start, end)
    if figures.arr_start > 0:
        figures.retained_base = figures.arr_start
        figures.retained_end = figures.arr_end
        figures.retained_gross = min(figures.arr_end, figures.arr_start)
        figures.nrr = _ratio(figures.arr_end, figures.arr_start)
        figures.grr = _ratio(figures.retained_gross, figures.arr_start)
    return figures


def group_arr_figures(per_account: list[ArrFigures]) -> ArrFigures:
    total = ArrFigures()
    for f in per_account:
        total.arr_start += f.arr_start
        total.arr_end += f.arr_end
        total.retained_base += f.retained_base
        total.retained_end += f.retained_end
        total.retained_gross += f.retained_gross
        for key in MOVEMENTS:
            total.movements[key] += f.movements[key]
    total.nrr = _ratio(total.retained_end, total.retained_base)
    total.grr = _ratio(total.retained_gross, total.retained_base)
    return total


def arr_figures_by_account(
    account_ids, *, start: date, end: date, with_children: bool = False
) -> dict[int, ArrFigures]:
    found = histories(account_ids, with_children=with_children)
    return {a: arr_figures(h, start, end) for a, h in found.items()}


# Deals ------------------------------------------------------------------------------


def _cents(rows) -> Decimal:
    return Decimal(rows or 0) / 100


def deal_figures(account_ids, *, start: date, end: date, with_children: bool = False) -> dict:
    """Per account id: open pipeline and won in `(start, end]`, by kind, with partner
    sourced and influenced amounts. Sums are exact integer cents from the database."""
    account_ids = list(account_ids)
    members = subtrees(account_ids) if with_children else {a: [a] for a in account_ids}
    owner = defaultdict(list)
    for root, group in members.items():
        for member in group:
            owner[member].append(root)
    grouped = (
        deal_list()
        .order_by()
        .filter(account_id__in=list(owner))
        .filter(
            Q(status=DealStatus.OPEN)
            | Q(status=DealStatus.WON, close_date__gt=start, close_date__lte=end)
        )
        .values("account_id", "status", "kind", "partner_influence")
        .annotate(cents=Sum(Cast(Round(F("amount") * 100), BigIntegerField())))
    )
    result = {a: _empty_deals() for a in account_ids}
    for row in grouped:
        amount = _cents(row["cents"])
        key = "pipeline" if row["status"] == DealStatus.OPEN else "won"
        for root in owner[row["account_id"]]:
            part = result[root][key]
            part["total"] += amount
            part["by_kind"][row["kind"]] = part["by_kind"].get(row["kind"], ZERO) + amount
            if row["partner_influence"] != PartnerInfluence.NONE:
                part[f"partner_{row['partner_influence']}"] += amount
    return result


def _empty_deals():
    def part():
        return {
            "total": ZERO,
            "by_kind": {},
            "partner_sourced": ZERO,
            "partner_influenced": ZERO,
        }

    return {"pipeline": part(), "won": part()}


def group_deal_figures(per_account: list[dict]) -> dict:
    total = _empty_deals()
    for figures in per_account:
        for key in ("pipeline", "won"):
            for name in ("total", "partner_sourced", "partner_influenced"):
                total[key][name] += figures[key][name]
            for kind, amount in figures[key]["by_kind"].items():
                total[key]["by_kind"][kind] = total[key]["by_kind"].get(kind, ZERO) + amount
    return total


# Cohorts ----------------------------------------------------------------------------


def month_ends(first: date, last: date) -> list[date]:
    """Month ends from the first on or after `first` up to `last`."""
    ends, current = [], month_end(first)
    while current <= last:
        ends.append(current)
        current = month_end(add_months(date(current.year, current.month, 1), 1))
    return ends


def cohorts(*, accounts=None, as_of: date | None = None) -> list[dict]:
    """Accounts grouped by the calendar quarter of their first ARR > 0.

    Starting ARR is the cohort's ARR at the end of that quarter. For each month end m
    after it (up to `as_of`): active accounts (ARR(m) > 0), ARR(m), NRR(m) = ARR(m) /
    starting ARR, and LTV = cumulative revenue: the sum of ARR(month end) / 12 over
    every month end from the first one on or after each account's first ARR, up to m.
    """
    as_of = as_of or timezone.now().date()
    accounts = account_set() if accounts is None else accounts
    found = histories(accounts.values_list("pk", flat=True))
    members = defaultdict(list)
    for history in found.values():
        first = history.first_positive()
        if first is not None and first <= as_of:
            members[quarter_end(first)].append(history)
    result = []
    for q_end in sorted(members):
        group = members[q_end]
        starting = sum((h.on(q_end) for h in group), ZERO)
        revenue_to_date = ZERO
        months = []
        # Revenue accrues from each account's first month end; rows start after the quarter.
        for m in month_ends(min(h.first_positive() for h in group), as_of):
            arr_m = ZERO
            active = 0
            for h in group:
                value = h.on(m)
                arr_m += value
                active += value > 0
                if m >= month_end(h.first_positive()):
                    revenue_to_date += value / 12
            if m > q_end:
                months.append(
                    {
                        "month_end": m,
                        "months_since": (m.year - q_end.year) * 12 + m.month - q_end.month,
                        "active_accounts": active,
                        "arr": arr_m,
                        "nrr": _ratio(arr_m, starting),
                        "ltv": revenue_to_date.quantize(Decimal("0.01")),
                        "ltv_per_account": (revenue_to_date / len(group)).quantize(Decimal("0.01")),
                    }
                )
        result.append(
            {
                "cohort": quarter_label(q_end),
                "quarter_end": q_end,
                "accounts": len(group),
                "starting_arr": starting,
                "months": months,
            }
        )
    return result


# Stage funnel -----------------------------------------------------------------------


def stage_funnel(*, start: date, end: date, accounts=None) -> list[dict]:
    """Per tier (today's tier; tiers keep no history) and stage, from stage-change events
    in `(start, end]`: accounts entering the stage, how many of them went on to the next
    stage (by `end`), and the median days they spent in the stage (of those who left)."""
    accounts = account_set() if accounts is None else accounts
    events = (
        account_event_list()
        .filter(
            account__in=accounts.values("pk"),
            kind=AccountEventKind.STAGE_CHANGED,
            occurred_at__date__lte=end,
        )
        .order_by("account_id", "occurred_at", "pk")
        .values_list("account_id", "account__tier__name", "new_value", "occurred_at")
    )
    by_account = defaultdict(list)
    tiers = {}
    for account_id, tier, stage, at in events:
        by_account[account_id].append((stage, at))
        tiers[account_id] = tier or ""
    order = {s: i for i, s in enumerate(FUNNEL_STAGES)}
    rows = defaultdict(lambda: {"entered": set(), "converted": set(), "days": []})
    for account_id, changes in by_account.items():
        tier = tiers[account_id]
        for index, (stage, at) in enumerate(changes):
            if not (start < at.date() <= end) or stage not in order:
                continue
            row = rows[(tier, stage)]
            row["entered"].add(account_id)
            later = changes[index + 1 :]
            if later:
                row["days"].append((later[0][1] - at) / timedelta(days=1))
            next_stage = FUNNEL_STAGES[order[stage] + 1] if order[stage] + 1 < 4 else None
            if next_stage and any(s == next_stage for s, _ in later):
                row["converted"].add(account_id)
    result = []
    for tier in sorted({t for t, _ in rows}):
        stages = []
        for stage in FUNNEL_STAGES:
            row = rows.get((tier, stage))
            entered = len(row["entered"]) if row else 0
            converted = len(row["converted"]) if row else 0
            stages.append(
                {
                    "stage": stage,
                    "entered": entered,
                    "converted_to_next": converted,
                    "conversion": _ratio(Decimal(converted), Decimal(entered))
                    if stage != Stage.CUSTOMER
                    else None,
                    "median_days_in_stage": round(median(row["days"]), 1)
                    if row and row["days"]
                    else None,
                }
            )
        result.append({"tier": tier or None, "stages": stages})
    return result
