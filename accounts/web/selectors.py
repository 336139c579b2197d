"""Reads behind the account pages. Each runs a constant number of queries."""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from ..choices import BuyingRole, DealStatus, Stage
from ..models import Account, AccountDomain, ArrChange, Contact, Deal, Tier
from ..selectors import account_list

# Lifecycle order, so "sort by stage" reads prospect -> churned rather than A-Z.
STAGE_ORDER = Case(
    *[When(stage=value, then=Value(i)) for i, value in enumerate(Stage.values)],
    output_field=IntegerField(),
)

SORTS = {
    "name": [F("name").asc(), F("id").asc()],
    "tier": [F("tier__rank").asc(nulls_last=True), F("name").asc(), F("id").asc()],
    "stage": [STAGE_ORDER.asc(), F("name").asc(), F("id").asc()],
    "arr": [F("arr").asc(), F("name").asc(), F("id").asc()],
    "renewal": [F("renewal_date").asc(nulls_last=True), F("name").asc(), F("id").asc()],
}


def one_year_before(day: date) -> date:
    """The same day a year earlier (29 February -> 28 February)."""
    year = day.year - 1
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def month_ends(today: date, months: int = 12) -> list[date]:
    """The last `months` month ends up to today; the current month's end is today."""
    ends = []
    year, month = today.year, today.month
    for _ in range(months):
        end = date(year, month, calendar.monthrange(year, month)[1])
        ends.append(min(end, today))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return ends[::-1]


def account_rows(
    *,
    user,
    q: str = "",
    tier: str = "",
    stage: str = "",
    owner: str = "",
    mine: bool = False,
    sort: str = "name",
) -> QuerySet[Account]:
    """The account list: live accounts, searched by name or any domain, filtered, sorted.

    An unknown sort or filter value is ignored rather than refused: these come from
    links people bookmark and edit.
    """
    rows = account_list()
    if q:
        domains = AccountDomain.objects.filter(account=OuterRef("pk"), domain__icontains=q)
        rows = rows.filter(Q(name__icontains=q) | Exists(domains))
    if tier == "none":
        rows = rows.filter(tier__isnull=True)
    elif tier.isdigit():
        rows = rows.filter(tier_id=int(tier))
    if stage in Stage.values:
        rows = rows.filter(stage=stage)
    if owner.isdigit():
        rows = rows.owned_by(get_user_model()(pk=int(owner)))
    if mine:
        rows = rows.owned_by(user)
    descending = sort.startswith("-")
    order = SORTS.get(sort.lstrip("-"), SORTS["name"])
    if descending:
        order = [expr.copy().reverse_ordering() if i == 0 else expr for i, expr in enumerate(order)]
    return rows.order_by(*order)


def owner_choices() -> list:
    """Staff users who hold a role on at least one account."""
    return list(
        get_user_model()
        .objects.filter(account_roles__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def tier_choices() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def account_page_get(*, pk: int) -> Account:
    """One account for its page (merged ones included, so the page can point on):
    tier, partner, parent, team, primary domain, `arr` today and `arr_year_ago`."""
    start = one_year_before(timezone.localdate())
    latest = (
        ArrChange.objects.filter(account=OuterRef("pk"), effective_date__lte=start)
        .order_by("-effective_date")
        .values("arr")[:1]
    )
    return account_list(include_merged=True).annotate(arr_year_ago=Subquery(latest)).get(pk=pk)


def nrr(arr_now: Decimal, arr_start: Decimal | None) -> Decimal | None:
    """NRR = ARR(end) / ARR(start), defined only when ARR(start) > 0 (DESIGN §5)."""
    if not arr_start or Decimal(arr_start) <= 0:
        return None
    return Decimal(arr_now) / Decimal(arr_start)


def arr_series(*, account: Account, today: date | None = None) -> list[tuple[date, Decimal]]:
    """ARR at each of the last 12 month ends (the last point is today), in one query."""
    today = today or timezone.localdate()
    ends = month_ends(today)
    changes = list(
        ArrChange.objects.filter(account=account, effective_date__lte=today)
        .order_by("effective_date")
        .values_list("effective_date", "arr")
    )
    series, i, current = [], 0, Decimal(0)
    for end in ends:
        while i < len(changes) and changes[i][0] <= end:
            current = changes[i][1]
            i += 1
        series.append((end, current))
    return series


@dataclass
class Committee:
    required: list[tuple[str, str, int]]  # (role, label, contacts in it)
    covered: int
    roles: list[tuple[str, str, list[Contact], int]]  # (role, label, shown, total)
    size: int

    @property
    def missing(self):
        return [(role, label) for role, label, count in self.required if not count]

    @property
    def coverage(self) -> Decimal | None:
        if not self.required:
            return None
        return Decimal(self.covered) / Decimal(len(self.required))


def committee(*, account: Account, per_role: int = 6) -> Committee:
    """The buying committee: contacts per role (up to `per_role` shown, the most senior
    and most recently engaged first, with the role's full count) and the tier's required
    roles covered or missing. One query, whatever the number of contacts: windows over
    the role rank the people and count them."""
    seniority = Case(
        When(seniority="c_level", then=Value(0)),
        When(seniority="vp", then=Value(1)),
        When(seniority="director", then=Value(2)),
        When(seniority="manager", then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    by_role = [F("buying_role")]
    ranked = (
        Contact.objects.filter(account=account)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=by_role,
                order_by=[seniority.asc(), F("last_engaged_at").desc(nulls_last=True), F("id")],
            ),
            in_role=Window(Count("id"), partition_by=by_role),
        )
        .filter(rank__lte=per_role)
        .order_by("buying_role", "rank")
    )
    shown: dict[str, list[Contact]] = {}
    counts: dict[str, int] = {}
    for contact in ranked:
        shown.setdefault(contact.buying_role, []).append(contact)
        counts[contact.buying_role] = contact.in_role
    labels = dict(BuyingRole.choices)
    required_roles = [
        r for r in (account.tier.required_roles if account.tier else []) if r in labels
    ]
    required = [(role, labels[role], counts.get(role, 0)) for role in required_roles]
    roles = [
        (role, label, shown.get(role, []), counts.get(role, 0))
        for role, label in BuyingRole.choices
        if counts.get(role)
    ]
    return Committee(
        required=required,
        covered=sum(1 for *_, n in required if n),
        roles=roles,
        size=sum(n for role, n in counts.items() if role != BuyingRole.UNKNOWN),
    )


def account_deals(*, account: Account, limit: int = 20) -> list[Deal]:
    """Open deals first, then the most recent ones."""
    status_order = Case(
        When(status=DealStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(
        Deal.objects.filter(account=account)
        .select_related("partner")
        .order_by(status_order, "-created_date", "-id")[:limit]
    )


def account_children(*, account: Account, limit: int = 50) -> list[Account]:
    return list(
        Account.objects.active()
        .filter(parent=account)
        .select_related("tier")
        .order_by("name")[:limit]
    )


def stage_matrix() -> list[dict]:
    """Live accounts counted by tier and stage, one GROUP BY (the scoreboard's accounts
    section). Rows are tiers by rank, then accounts without a tier."""
    counts = (
        Account.objects.active().values_list("tier_id", "stage").annotate(n=Count("id")).order_by()
    )
    tiers = {t.pk: t for t in Tier.objects.order_by("rank")}
    grid: dict = {}
    for tier_id, stage, n in counts:
        grid.setdefault(tier_id, {})[stage] = n
    rows = []
    for key in [*tiers, None]:
        if key not in grid and key is not None:
            grid[key] = {}
        if key not in grid:
            continue
        by_stage = grid[key]
        rows.append(
            {
                "tier": tiers.get(key),
                "stages": [
                    (value, label, by_stage.get(value, 0)) for value, label in Stage.choices
                ],
                "total": sum(by_stage.values()),
            }
        )
    return rows
