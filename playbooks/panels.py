"""What playbooks show on the account graph's pages: the account's plays, open tasks
and campaigns; the task inbox; "motion" and "has open tasks" filters of the list;
playbook effectiveness (lift over the holdout) on the scoreboard.

Read-only: completing or dismissing a task is the execution layer's service; its form
joins the inbox when that service lands.
"""

import math

from django.core.cache import cache
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.choices import Stage
from accounts.web import registry

from . import scoreboard
from .choices import OPEN_STATUSES, ActivationStatus, Motion, OutcomeKind
from .choices_execution import OPEN_TASK_STATUSES, MembershipStatus
from .models import Activation, CampaignMembership, Task

# Overdue first: the earliest due date leads; undated tasks come last.
DUE_ORDER = [F("due_date").asc(nulls_last=True), F("id").asc()]

SHOWN = 20
INBOX_SIZE = 100


def _plays(account, request):
    activations = list(
        Activation.objects.filter(account=account, status__in=OPEN_STATUSES)
        .select_related("playbook")
        .order_by("-started_at", "-id")[:SHOWN]
    )
    tasks = list(
        Task.objects.filter(account=account, status__in=OPEN_TASK_STATUSES)
        .select_related("assignee", "activation__playbook")
        .order_by(*DUE_ORDER)[:SHOWN]
    )
    campaigns = list(
        CampaignMembership.objects.filter(account=account, contact__isnull=True)
        .exclude(status=MembershipStatus.REMOVED)
        .select_related("campaign")
        .order_by("campaign__name")[:SHOWN]
    )
    return {
        "activations": activations,
        "tasks": tasks,
        "campaigns": campaigns,
        "today": timezone.localdate(),
        "holdout": ActivationStatus.HOLDOUT,
    }


def _inbox(request):
    tasks = list(
        Task.objects.filter(assignee=request.user, status__in=OPEN_TASK_STATUSES)
        .select_related("account", "activation__playbook")
        .order_by(*DUE_ORDER)[: INBOX_SIZE + 1]
    )
    return {
        "tasks": tasks[:INBOX_SIZE],
        "more": len(tasks) > INBOX_SIZE,
        "today": timezone.localdate(),
    }


def _motion_filter(queryset, value):
    if value not in Motion.values:
        return queryset
    open_plays = Activation.objects.filter(
        account=OuterRef("pk"), status=ActivationStatus.ACTIVE, playbook__motion=value
    )
    return queryset.filter(Exists(open_plays))


def _open_tasks_filter(queryset, value):
    open_tasks = Task.objects.filter(account=OuterRef("pk"), status__in=OPEN_TASK_STATUSES)
    if value == "yes":
        return queryset.filter(Exists(open_tasks))
    if value == "no":
        return queryset.exclude(Exists(open_tasks))
    return queryset


# Effectiveness reads every activation and the outcome events since the oldest one:
# the scoreboard keeps it as long as its other rollups.
EFFECTIVENESS_CACHE_SECONDS = 300
INTERVAL_WIDTH, INTERVAL_HEIGHT, INTERVAL_PAD = 180, 18, 8


def _points(value) -> str:
    """A difference of rates in percentage points, signed: 0.0833 -> "+8.3"."""
    return f"{value * 100:+.1f}".replace("-", "\u2212")


def _outcome_text(outcome: dict) -> str:
    text = OutcomeKind(outcome["kind"]).label
    if outcome["kind"] == OutcomeKind.STAGE_REACHED and outcome["stage"]:
        text = f"{Stage(outcome['stage']).label} reached"
    return f"{text} within {outcome['window_days']} days"


def _verdict(entry) -> tuple[str, str]:
    """(text, badge class): what the interval says, in words."""
    lift = entry["lift"]
    if lift is None:
        if not entry["holdout"]["total"] and not entry["playbook"].holdout_percent:
            return "No control group", "neutral"
        return "Not measured yet", "neutral"
    if lift["low"] > 0:
        return "Lifts the outcome", "ok"
    if lift["high"] < 0:
        return "Lowers the outcome", "missing"
    return "No clear effect", "neutral"


def _interval(lift: dict, scale: float) -> dict:
    """The lift and its interval drawn on a shared axis from -scale to +scale."""
    span = INTERVAL_WIDTH - 2 * INTERVAL_PAD

    def x(value):
        clipped = max(-scale, min(scale, value))
        return round(INTERVAL_PAD + (clipped + scale) / (2 * scale) * span, 1)

    return {
        "zero": x(0),
        "low": x(lift["low"]),
        "high": x(lift["high"]),
        "point": x(lift["difference"]),
        "mid": INTERVAL_HEIGHT / 2,
    }


def _effectiveness_rows() -> dict:
    entries = scoreboard.playbooks_effectiveness()
    widest = max(
        (max(abs(e["lift"]["low"]), abs(e["lift"]["high"])) for e in entries if e["lift"]),
        default=0.0,
    )
    # One axis for every row, rounded up to whole tens of points, so rows compare.
    scale = min(1.0, max(0.1, math.ceil(widest * 10 - 1e-9) / 10))
    rows = []
    for entry in entries:
        playbook, lift = entry["playbook"], entry["lift"]
        verdict, css = _verdict(entry)
        row = {
            "name": playbook.name,
            "motion": playbook.get_motion_display(),
            "outcome": _outcome_text(entry["outcome"]),
            "treated": entry["treated"],
            "holdout": entry["holdout"],
            "pending": entry["pending"],
            "verdict": verdict,
            "verdict_css": css,
            "lift": None,
        }
        if lift is not None:
            text = (
                f"{_points(lift['difference'])} points "
                f"(95% interval {_points(lift['low'])} to {_points(lift['high'])})"
            )
            row["lift"] = {**lift, "text": text, "svg": _interval(lift, scale)}
        rows.append(row)
    return {
        "rows": rows,
        "scale": round(scale * 100),
        "has_interval": any(row["lift"] for row in rows),
        "at": timezone.now(),
    }


def _effectiveness(request):
    """Every playbook's treated and holdout outcome rates and the lift (DESIGN §6)."""
    key = f"abx:scoreboard:playbook-effectiveness:{timezone.localdate().isoformat()}"
    cached = cache.get_or_set(key, _effectiveness_rows, EFFECTIVENESS_CACHE_SECONDS)
    return {**cached, "width": INTERVAL_WIDTH, "height": INTERVAL_HEIGHT}


def register():
    registry.register_scoreboard_section(
        "playbook-effectiveness",
        order=30,
        title="Playbook effectiveness: lift over the holdout",
        template="playbooks/sections/effectiveness.html",
        context=_effectiveness,
    )
    registry.register_account_panel(
        "plays",
        order=5,
        title="Plays and open tasks",
        template="playbooks/panels/plays.html",
        context=_plays,
    )
    registry.register_task_section(
        "inbox",
        order=10,
        title="Open tasks",
        template="playbooks/sections/inbox.html",
        context=_inbox,
    )
    registry.register_account_filter(
        "motion",
        order=20,
        label="Motion in play",
        choices=lambda: list(Motion.choices),
        apply=_motion_filter,
    )
    registry.register_account_filter(
        "open_tasks",
        order=30,
        label="Open tasks",
        choices=lambda: [("yes", "Has open tasks"), ("no", "No open tasks")],
        apply=_open_tasks_filter,
    )
