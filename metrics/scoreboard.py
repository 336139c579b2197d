"""Scoreboards (DESIGN §5): one account's figures together, and the same figures grouped.

Higher apps add what they own without this app importing them:
- `register_section(name, fn)`: `fn(account_ids) -> {account id: data}` adds a section
  to account scoreboards (playbooks: active plays, open tasks);
- `register_grouping(name, fn)`: `fn(account ids queryset) -> {account id: [keys]}` adds
  a multi-valued rollup grouping (playbooks: motion). Such groupings do not sum to the
  total, and the rollup says so.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Least
from django.utils import timezone

from accounts.choices import BuyingRole, TeamRole
from accounts.selectors import account_get, account_set, contact_list, team_member_list

from . import features, revenue
from .features.catalog import arr_on
from .models import AccountScore, AccountSnapshot

MONEY = DecimalField(max_digits=20, decimal_places=2)
SECTIONS: dict[str, Callable] = {}
GROUPINGS: dict[str, Callable] = {}
TREND_DAYS = 30


def register_section(name: str, fn: Callable) -> None:
    SECTIONS[name] = fn


def register_grouping(name: str, fn: Callable) -> None:
    GROUPINGS[name] = fn


# One account ------------------------------------------------------------------------


def account_ltv(history: revenue.History, on: date) -> Decimal:
    """Cumulative revenue: ARR(month end) / 12 over every month end from the first one on
    or after the first ARR, up to `on`."""
    first = history.first_positive()
    if first is None:
        return Decimal(0)
    total = sum((history.on(m) / 12 for m in revenue.month_ends(first, on)), Decimal(0))
    return total.quantize(Decimal("0.01"))


def _trend(snapshots, today: date) -> dict[str, list]:
    """Per model, the daily score over the last TREND_DAYS days (a day without a snapshot
    is as the day before)."""
    days = [today - timedelta(days=n) for n in range(TREND_DAYS, -1, -1)]
    keys = {k for s in snapshots for k in s.scores}
    series = {k: [] for k in keys}
    ordered = sorted(snapshots, key=lambda s: s.day)
    for key in keys:
        index, current = 0, None
        for day in days:
            while index < len(ordered) and ordered[index].day <= day:
                current = ordered[index].scores.get(key)
                index += 1
            series[key].append({"day": day, "score": current})
    return series


def account_scoreboard(*, account_id: int, with_children: bool = False) -> dict:
    """Everything about one account's performance, each figure explainable."""
    account = account_get(pk=account_id)
    today = timezone.now().date()
    start, end = revenue.default_period(today)
    history = revenue.histories([account.pk], with_children=with_children)[account.pk]
    figures = revenue.arr_figures(history, start, end)
    deals = revenue.deal_figures([account.pk], start=start, end=end, with_children=with_children)
    scores = list(
        AccountScore.objects.filter(account=account).select_related("model").order_by("model__key")
    )
    trend_start = today - timedelta(days=TREND_DAYS)
    before = (
        AccountSnapshot.objects.filter(account=account, day__lt=trend_start)
        .order_by("-day")
        .values("pk")[:1]
    )
    snapshots = list(
        AccountSnapshot.objects.filter(account=account).filter(
            Q(day__gte=trend_start) | Q(pk__in=Subquery(before))
        )
    )
    trend = _trend(snapshots, today)
    contacts = list(
        contact_list()
        .filter(account=account)
        .values_list("buying_role", "first_seen_at", "created_at")
    )
    team = {m.role: m.user.get_username() for m in account.team.all()}
    data = {
        "account": {
            "id": account.pk,
            "name": account.name,
            "domain": account.primary_domain,
            "tier": account.tier.name if account.tier else None,
            "stage": account.stage,
            "industry": account.industry,
            "parent_id": account.parent_id,
            "partner": account.partner.name if account.partner else None,
            "owners": {role: team.get(role) for role in TeamRole.values},
        },
        "revenue": {
            "with_children": with_children,
            "period_start": start,
            "period_end": end,
            "arr": figures.arr_end,
            "arr_at_start": figures.arr_start,
            "nrr": figures.nrr,
            "grr": figures.grr,
            "movements": figures.movements,
            "pipeline": deals[account.pk]["pipeline"],
            "won": deals[account.pk]["won"],
            "ltv": account_ltv(history, today),
        },
        "scores": [_score_entry(s, trend.get(s.model.key, [])) for s in scores],
        "committee": _committee(account, contacts, today),
    }
    for name, fn in SECTIONS.items():
        data[name] = fn([account.pk]).get(account.pk, [])
    return data


def _score_entry(score: AccountScore, trend: list) -> dict:
    first = next((p["score"] for p in trend if p["score"] is not None), None)
    change = None
    if score.score is not None and first is not None:
        change = round(float(score.score) - first, 2)
    return {
        "model": score.model.key,
        "name": score.model.name,
        "score": score.score,
        "band": score.band or None,
        "change_30d": change,
        "trend": trend,
        "breakdown": score.breakdown,
        "computed_at": score.computed_at,
    }


def _committee(account, contacts, today) -> dict:
    roles = {role for role, _, _ in contacts if role != BuyingRole.UNKNOWN}
    required = list(account.tier.required_roles) if account.tier else []
    since = timezone.now() - timedelta(days=30)
    growth = sum(
        1
        for role, first_seen, created in contacts
        if role != BuyingRole.UNKNOWN and (first_seen or created) >= since
    )
    return {
        "size": sum(1 for role, _, _ in contacts if role != BuyingRole.UNKNOWN),
        "roles_covered": sorted(roles),
        "roles_required": required,
        "roles_missing": [r for r in required if r not in roles],
        "growth_30d": growth,
    }


# Many accounts ----------------------------------------------------------------------


def _owner_expression(prefix: str = ""):
    members = team_member_list().filter(account=OuterRef(f"{prefix}pk"), role=TeamRole.AE)
    return Subquery(members.values("user__username")[:1], output_field=CharField())


def scoreboard_list(*, tier=None, stage=None, owner=None, band=None, band_model="health"):
    """Accounts for the compact scoreboards, with their tier and scores by model; a page
    of them gets its ARR, pipeline and owner from `scoreboard_figures`."""
    accounts = account_set().select_related("tier")
    if tier:
        accounts = accounts.filter(tier__name=tier)
    if stage:
        accounts = accounts.filter(stage=stage)
    if owner:
        accounts = accounts.filter(
            pk__in=team_member_list()
            .filter(role=TeamRole.AE, user__username=owner)
            .values("account_id")
        )
    if band:
        accounts = accounts.filter(
            pk__in=AccountScore.objects.filter(model__key=band_model, band=band).values(
                "account_id"
            )
        )
    return accounts.prefetch_related(
        Prefetch(
            "scores",
            queryset=AccountScore.objects.select_related("model").order_by("model__key"),
            to_attr="score_list",
        )
    ).order_by("name", "pk")


def scoreboard_figures(accounts: list) -> list:
    """Set `arr`, `open_pipeline` and `owner_ae` on a page of `scoreboard_list`, in one
    query over those accounts only (the features' frames then read their rows alone,
    not the whole filtered list's)."""
    figures = {
        pk: rest
        for pk, *rest in features.annotate(
            account_set().filter(pk__in=[account.pk for account in accounts]),
            [
                ("arr", "arr", {}),
                ("open_pipeline", "open_pipeline", {}),
                ("owner_ae", "owner_ae", {}),
            ],
        ).values_list("pk", "arr", "open_pipeline", "owner_ae")
    }
    for account in accounts:
        account.arr, account.open_pipeline, account.owner_ae = figures[account.pk]
    return accounts


ATTRIBUTE_GROUPINGS = {
    "tier": lambda prefix: F(f"{prefix}tier__name"),
    "stage": lambda prefix: F(f"{prefix}stage"),
    "industry": lambda prefix: F(f"{prefix}industry"),
    "partner": lambda prefix: F(f"{prefix}partner__name"),
    "owner": lambda prefix: _owner_expression(prefix),
}


def grouping_names() -> list[str]:
    return [*ATTRIBUTE_GROUPINGS, *GROUPINGS]


def _empty_group():
    return {
        "accounts": 0,
        "arr": Decimal(0),
        "retained_base": Decimal(0),
        "retained_end": Decimal(0),
        "retained_gross": Decimal(0),
        "pipeline": Decimal(0),
        "won_12m": Decimal(0),
        "scores": defaultdict(lambda: {"count": 0, "total": 0.0, "bands": defaultdict(int)}),
    }


def rollup(*, group_by: str) -> dict:
    """The scoreboard figures grouped by an account attribute (or a registered grouping).

    Each account counts once, by its own figures (children are not added to parents).
    Set-based: one query for the revenue figures (summed per group by the database for
    an attribute), one for the scores.
    """
    accounts = account_set()
    multi = group_by in GROUPINGS
    if multi:
        keys_of = GROUPINGS[group_by](accounts.values("pk"))
        key_expression = None
    else:
        key_expression = ATTRIBUTE_GROUPINGS[group_by]("")
    today = timezone.now().date()
    rows = features.annotate(
        accounts,
        [
            ("r_arr", "arr", {}),
            ("r_pipeline", "open_pipeline", {}),
            ("r_won", "won_12m", {}),
        ],
        expressions={"r_start": arr_on(revenue.default_period(today)[0])},
    )
    groups = defaultdict(_empty_group)
    total = _empty_group()
    account_keys = {}
    if multi:
        for pk, arr_now, arr_start, pipeline, won in rows.values_list(
            "pk", "r_arr", "r_start", "r_pipeline", "r_won"
        ):
            keys = account_keys[pk] = keys_of.get(pk, [])
            for target in [total, *(groups[k] for k in keys)]:
                target["accounts"] += 1
                target["arr"] += arr_now
                target["pipeline"] += pipeline
                target["won_12m"] += won
                if arr_start > 0:
                    target["retained_base"] += arr_start
                    target["retained_end"] += arr_now
                    target["retained_gross"] += min(arr_now, arr_start)
    else:
        # One row per group, summed by the database: 100,000 accounts in Python cost
        # more than the query.
        started = Q(r_start__gt=0)
        zero = Value(Decimal(0), output_field=MONEY)
        grouped = (
            rows.annotate(r_key=key_expression)
            .values("r_key")
            .annotate(
                g_accounts=Count("pk"),
                g_arr=Sum("r_arr", output_field=MONEY),
                g_pipeline=Sum("r_pipeline", output_field=MONEY),
                g_won=Sum("r_won", output_field=MONEY),
                g_base=Sum(Case(When(started, then="r_start"), default=zero), output_field=MONEY),
                g_end=Sum(Case(When(started, then="r_arr"), default=zero), output_field=MONEY),
                g_gross=Sum(
                    Case(When(started, then=Least("r_arr", "r_start")), default=zero),
                    output_field=MONEY,
                ),
            )
            .order_by()
            .values_list(
                "r_key", "g_accounts", "g_arr", "g_pipeline", "g_won", "g_base", "g_end", "g_gross"
            )
        )
        for key, *figures in grouped:
            figures = _figures(*figures)
            _add_figures(groups[key], figures)
            _add_figures(total, figures)
    _add_scores(groups, total, account_keys if multi else None, group_by)
    result_groups = [
        _present(key, groups[key]) for key in sorted(groups, key=lambda k: (k is None, str(k)))
    ]
    note = (
        f"An account can be in several {group_by} groups (or none): groups do not sum to the total."
        if multi
        else "Each account is in exactly one group, by its own figures: groups sum to the total."
    )
    return {
        "group_by": group_by,
        "sums_to_total": not multi,
        "note": note,
        "groups": result_groups,
        "total": _present(None, total),
        "period_start": revenue.default_period(today)[0],
        "period_end": today,
    }


def _figures(accounts, arr, pipeline, won, base, end, gross) -> dict:
    return {
        "accounts": accounts,
        "arr": Decimal(arr or 0),
        "pipeline": Decimal(pipeline or 0),
        "won_12m": Decimal(won or 0),
        "retained_base": Decimal(base or 0),
        "retained_end": Decimal(end or 0),
        "retained_gross": Decimal(gross or 0),
    }


def _add_figures(target, figures) -> None:
    for name, value in figures.items():
        target[name] += value


def _add_scores(groups, total, account_keys, group_by):
    scores = AccountScore.objects.filter(account__merged_into__isnull=True).order_by()
    if account_keys is None:
        grouped = (
            scores.annotate(g=ATTRIBUTE_GROUPINGS[group_by]("account__"))
            .values("g", "model__key", "band")
            .annotate(n=Count("pk"), total=Sum("score"))
        )
        for row in grouped:
            for target in (total, groups[row["g"]]):
                _add_score(target, row)
    else:
        for account_id, key, band, score in scores.values_list(
            "account_id", "model__key", "band", "score"
        ):
            row = {"model__key": key, "band": band, "n": 1, "total": score}
            _add_score(total, row)
            for group in account_keys.get(account_id, []):
                _add_score(groups[group], row)


def _add_score(target, row):
    entry = target["scores"][row["model__key"]]
    if row["total"] is not None:
        entry["count"] += row["n"]
        entry["total"] += float(row["total"])
    entry["bands"][row["band"] or "none"] += row["n"]


def _present(key, group) -> dict:
    base = group["retained_base"]
    return {
        "key": key,
        "accounts": group["accounts"],
        "arr": group["arr"],
        "nrr": revenue._ratio(group["retained_end"], base),
        "grr": revenue._ratio(group["retained_gross"], base),
        "pipeline": group["pipeline"],
        "won_12m": group["won_12m"],
        "scores": {
            model: {
                "average": round(entry["total"] / entry["count"], 2) if entry["count"] else None,
                "bands": dict(entry["bands"]),
            }
            for model, entry in sorted(group["scores"].items())
        },
    }


__all__ = ["account_scoreboard", "rollup", "scoreboard_figures", "scoreboard_list"]
