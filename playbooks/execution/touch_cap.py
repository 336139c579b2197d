"""The per-account touch cap: at most ABX_TOUCH_CAP touches in any 7 days (DESIGN §6).

A touch is a step that reaches the account's people: a campaign enrollment (email, ads,
events, direct mail, sequences). Internal tasks and alerts are not touches. A step over
the cap is deferred until the oldest touch in the window ages out, and skipped with the
reason `touch_cap` once it has waited ABX_DEFER_DAYS.
"""

from datetime import datetime, timedelta

from django.conf import settings

from ..choices import StepKind
from ..choices_execution import StepRunStatus, StepSkipReason
from ..models_execution import StepRun
from .steps import StepDeferred

__all__ = ["TOUCH_KINDS", "WINDOW", "check", "touches"]

WINDOW = timedelta(days=7)
TOUCH_KINDS = (StepKind.ENROLL_CAMPAIGN,)


def touches(*, account_id: int, now: datetime) -> list[datetime]:
    """When the account's touches of the last 7 days happened, oldest first."""
    return list(
        StepRun.objects.filter(
            activation__account_id=account_id,
            kind__in=TOUCH_KINDS,
            status=StepRunStatus.DONE,
            finished_at__gt=now - WINDOW,
        )
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
    )


def check(*, account_id: int, now: datetime) -> None:
    """Raise StepDeferred when one more touch would pass the cap."""
    cap = settings.ABX_TOUCH_CAP
    recent = touches(account_id=account_id, now=now)
    if len(recent) < cap:
        return
    # Room frees when enough of the oldest touches leave the window.
    frees_at = recent[len(recent) - cap] + WINDOW
    raise StepDeferred(
        StepSkipReason.TOUCH_CAP,
        until=frees_at,
        give_up_after=timedelta(days=settings.ABX_DEFER_DAYS),
    )
