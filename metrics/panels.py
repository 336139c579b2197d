"""What measurement shows on the account graph's pages: the four scores with band,
30-day trend and breakdown, and the health trend, on the account page; score bands by
tier on the scoreboard; the health band as a column and a filter of the account list.

Reads only metrics' own tables (current scores and daily snapshots); each function runs
a fixed number of queries whatever the data size.
"""

from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Tier
from accounts.web import registry
from accounts.web.selectors import month_ends

from . import revenue, scoreboard
from .models import AccountScore, AccountSnapshot, ScoreBand

# The order the four shipped models read in; models RevOps adds follow by name.
MODEL_ORDER = {"fit": 0, "intent": 1, "engagement": 2, "health": 3}
HEALTH = "health"
TREND_DAYS = 30
KNOWN_BANDS = {"green", "yellow", "red"}


def band_css(band: str) -> str:
    """The CSS class of a band: its own colour for the shipped bands, grey otherwise
    (the band's name is always written beside it)."""
    return band if band in KNOWN_BANDS else "grey"


def snapshot_series(*, account, start: date, end: date) -> dict[date, dict]:
    """Each day's scores from `start` to `end`, forward-filled: a day without a snapshot
    is as the day before (DESIGN §5). Two queries: the window, and the last one before."""
    rows = list(
        AccountSnapshot.objects.filter(account=account, day__gte=start, day__lte=end)
        .order_by("day")
        .values_list("day", "scores")
    )
    before = (
        AccountSnapshot.objects.filter(account=account, day__lt=start)
        .order_by("-day")
        .values_list("scores", flat=True)
        .first()
    )
    by_day = dict(rows)
    current = before or {}
    series = {}
    day = start
    while day <= end:
        current = by_day.get(day, current)
        series[day] = current
        day += timedelta(days=1)
    return series


def _number(value):
    return None if value is None else float(value)


def _scores(account, request):
    scores = sorted(
        AccountScore.objects.filter(account=account).select_related("model"),
        key=lambda s: (MODEL_ORDER.get(s.model.key, 99), s.model.name),
    )
    today = timezone.localdate()
    ends = month_ends(today)
    series = snapshot_series(account=account, start=ends[0].replace(day=1), end=today)
    trend_days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    cards = []
    for s in scores:
        trend = [_number(series[d].get(s.model.key)) for d in trend_days]
        first = next((v for v in trend if v is not None), None)
        cards.append(
            {
                "score": s,
                "css": band_css(s.band),
                "trend": trend,
                "trend_label": f"{s.model.name}, last {TREND_DAYS} days",
                "change": None
                if first is None or s.score is None
                else round(float(s.score) - first, 1),
                "components": (s.breakdown or {}).get("components", []),
                "note": (s.breakdown or {}).get("note", ""),
            }
        )
    health = [
        (day.strftime("%b %y"), _number(series.get(day, {}).get(HEALTH)))
        for day in ends
        if day in series
    ]
    return {
        "cards": cards,
        "health_points": health if any(v is not None for _, v in health) else [],
        "trend_days": TREND_DAYS,
    }


def band_matrix():
    """Live accounts' current bands counted by score model and tier: one GROUP BY."""
    counts = (
        AccountScore.objects.filter(account__merged_into__isnull=True)
        .values("model__key", "model__name", "account__tier__name", "account__tier__rank", "band")
        .annotate(n=Count("id"))
        .order_by()
    )
    bands = {}
    for model_key, band, min_score in ScoreBand.objects.values_list(
        "model__key", "name", "min_score"
    ):
        bands.setdefault(model_key, []).append((min_score, band))
    models: dict = {}
    for c in counts:
        key, name, band, n = c["model__key"], c["model__name"], c["band"], c["n"]
        tier, rank = c["account__tier__name"], c["account__tier__rank"]
        model = models.setdefault(key, {"key": key, "name": name, "tiers": {}})
        row = model["tiers"].setdefault((rank is None, rank or 0, tier or "No tier"), {})
        row[band or "none"] = row.get(band or "none", 0) + n
    result = []
    for key, model in sorted(models.items(), key=lambda kv: (MODEL_ORDER.get(kv[0], 99), kv[0])):
        order = [b for _, b in sorted(bands.get(key, []), reverse=True)]
        rows = []
        for (_, _, tier), counts_by_band in sorted(model["tiers"].items()):
            names = order + sorted(set(counts_by_band) - set(order))
            segments = [
                ("No score" if b == "none" else b.title(), counts_by_band.get(b, 0), band_css(b))
                for b in names
            ]
            rows.append(
                {
                    "tier": tier,
                    "segments": segments,
                    "total": sum(counts_by_band.values()),
                    "title": f"{model['name']} bands, {tier}",
                }
            )
        result.append({"name": model["name"], "rows": rows})
    return result


GROUPING_LABELS = {
    "tier": "Tier",
    "stage": "Stage",
    "owner": "Owner",
    "industry": "Industry",
    "partner": "Partner",
    "motion": "Motion in play",
}
COHORT_MONTHS = (3, 6, 12, 24)
# Rollups and cohorts read every account's history (seconds at 100,000 accounts) and
# change with ARR and deals, which move daily: the page keeps them this long.
SCOREBOARD_CACHE_SECONDS = 300


def _cached(name, compute):
    """`compute()` kept for SCOREBOARD_CACHE_SECONDS, with the time it was computed."""
    key = f"abx:scoreboard:{name}:{timezone.localdate().isoformat()}"
    return cache.get_or_set(
        key, lambda: {"value": compute(), "at": timezone.now()}, SCOREBOARD_CACHE_SECONDS
    )


def _rollup(request):
    """The scoreboard figures grouped by `?group_by=` (tier by default): accounts, ARR,
    NRR and GRR over 12 months, pipeline, won, average health and its bands."""
    names = scoreboard.grouping_names()
    group_by = request.GET.get("group_by", "tier")
    if group_by not in names:
        group_by = "tier"
    cached = _cached(f"rollup:{group_by}", lambda: scoreboard.rollup(group_by=group_by))
    result = cached["value"]
    groups = result["groups"]
    if group_by == "tier":
        # Tiers read by rank, not by name; accounts without a tier last.
        rank = dict(Tier.objects.values_list("name", "rank"))
        groups = sorted(groups, key=lambda g: (g["key"] is None, rank.get(g["key"], 0)))
    order = ["green", "yellow", "red"]
    rows = []
    for group in [*groups, {**result["total"], "key": "All accounts", "is_total": True}]:
        health = group["scores"].get(HEALTH, {"average": None, "bands": {}})
        bands = health["bands"]
        band_names = order + sorted(set(bands) - set(order))
        rows.append(
            {
                **group,
                "label": group["key"] if group["key"] is not None else "None",
                "health": health["average"],
                "segments": [
                    ("No score" if b == "none" else b.title(), bands.get(b, 0), band_css(b))
                    for b in band_names
                ],
                "bands_title": f"Health bands, {group['key'] or 'none'}",
            }
        )
    return {
        "rows": rows,
        "group_by": group_by,
        "groupings": [(n, GROUPING_LABELS.get(n, n.title())) for n in names],
        "note": result["note"],
        "period_start": result["period_start"],
        "computed_at": cached["at"],
    }


def _cohorts(request):
    """Cohorts by the quarter of their first ARR: starting ARR, and NRR and LTV a few
    months on (DESIGN §5), the latest cohorts first."""
    cached = _cached("cohorts", revenue.cohorts)
    rows = []
    for cohort in reversed(cached["value"]):
        by_month = {m["months_since"]: m for m in cohort["months"]}
        latest = cohort["months"][-1] if cohort["months"] else None
        rows.append(
            {
                **cohort,
                "at": [by_month.get(n) for n in COHORT_MONTHS],
                "latest": latest,
            }
        )
    chart = [
        (row["cohort"], round(float(row["latest"]["nrr"]) * 100, 1))
        for row in reversed(rows)
        if row["latest"] and row["latest"]["nrr"] is not None
    ]
    return {"rows": rows, "months": COHORT_MONTHS, "chart": chart, "computed_at": cached["at"]}


def _scoreboard_bands(request):
    return {"models": band_matrix()}


def _health_subquery(field):
    return Subquery(
        AccountScore.objects.filter(account=OuterRef("pk"), model__key=HEALTH).values(field)[:1]
    )


def _health_column(queryset):
    return queryset.annotate(
        health_score=_health_subquery("score"), health_band=_health_subquery("band")
    )


def _health_choices():
    return [
        (name, name.title())
        for name in ScoreBand.objects.filter(model__key=HEALTH)
        .order_by("-min_score")
        .values_list("name", flat=True)
    ]


def _health_filter(queryset, value):
    scored = AccountScore.objects.filter(account=OuterRef("pk"), model__key=HEALTH, band=value)
    return queryset.filter(Exists(scored))


def register():
    registry.register_account_panel(
        "scores",
        order=1,
        title="Scores",
        template="metrics/panels/scores.html",
        context=_scores,
    )
    registry.register_scoreboard_section(
        "rollup",
        order=5,
        title="Rollup",
        template="metrics/sections/rollup.html",
        context=_rollup,
    )
    registry.register_scoreboard_section(
        "cohorts",
        order=20,
        title="Cohorts: NRR and LTV by quarter of first ARR",
        template="metrics/sections/cohorts.html",
        context=_cohorts,
    )
    registry.register_scoreboard_section(
        "score-bands",
        order=10,
        title="Score bands by tier",
        template="metrics/sections/bands.html",
        context=_scoreboard_bands,
    )
    registry.register_account_column(
        "health",
        order=10,
        title="Health",
        annotate=_health_column,
        template="metrics/columns/health.html",
        sort_field="health_score",
    )
    registry.register_account_filter(
        "health_band",
        order=10,
        label="Health band",
        choices=_health_choices,
        apply=_health_filter,
    )
