"""Raw signals are kept `ABX_SIGNAL_RETENTION_DAYS` (default 730), then purged (DESIGN §9).

What a signal added up to outlives it: the daily rollups (`AccountSignalDaily`) and the
scores read from them are left untouched, so an account's history of counts and sums
stays whole. The review queue follows: an open entry whose waiting signals all went is
removed, the others count what is left.

The horizon is a UTC midnight: whole days go, so a day with any signal left still has
all of them, and a rollup recomputed from the signals of such a day stays right.

The purge deletes in short chunks, one type at a time, each walking the
`(type, occurred_at)` index, and each chunk commits on its own: on SQLite the single
writer is never held long, and ingest goes on between chunks. It runs daily at
`PURGE_AT` (UTC) as a django-q2 schedule, created after every `migrate`.
"""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from .models import Signal, SignalType
from .queue import identities_refresh

PURGE_CHUNK = 2_000
PURGE_SCHEDULE = "abx-signal-retention-purge"
PURGE_TASK = "signals.tasks.signals_retention_purge_task"
PURGE_AT = time(3, 30)  # UTC, after the webhook receipt purge at 03:00


def retention_horizon(*, now: datetime | None = None, days: int | None = None) -> datetime:
    """The UTC midnight before which raw signals are purged."""
    days = settings.ABX_SIGNAL_RETENTION_DAYS if days is None else days
    moment = (now or timezone.now()) - timedelta(days=days)
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def signals_retention_purge(
    *, now: datetime | None = None, days: int | None = None, chunk: int = PURGE_CHUNK
) -> int:
    """Delete the signals that occurred before the retention horizon; returns how many."""
    horizon = retention_horizon(now=now, days=days)
    deleted = 0
    for type_id in SignalType.objects.order_by("pk").values_list("pk", flat=True):
        old = Signal.objects.filter(type_id=type_id, occurred_at__lt=horizon)
        while True:
            rows = list(
                old.order_by("occurred_at").values_list("pk", "account_id", "review_key")[:chunk]
            )
            if not rows:
                break
            with transaction.atomic():
                Signal.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
            waiting = {key for _, account_id, key in rows if account_id is None and key}
            if waiting:
                identities_refresh(keys=waiting)
            deleted += len(rows)
    return deleted


def retention_schedule_ensure() -> tuple[Schedule, bool]:
    """The daily purge's schedule: created once, its task kept current (idempotent)."""
    now = timezone.now()
    first = datetime.combine(now.astimezone(UTC).date(), PURGE_AT, tzinfo=UTC)
    if first <= now:
        first += timedelta(days=1)
    schedule, created = Schedule.objects.get_or_create(
        name=PURGE_SCHEDULE,
        defaults={
            "func": PURGE_TASK,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": first,
        },
    )
    if not created and (schedule.func, schedule.schedule_type) != (PURGE_TASK, Schedule.DAILY):
        schedule.func, schedule.schedule_type, schedule.repeats = PURGE_TASK, Schedule.DAILY, -1
        schedule.save(update_fields=["func", "schedule_type", "repeats"])
    return schedule, created


def ensure_after_migrate(sender, **kwargs) -> None:
    if sender.name == "signals":
        retention_schedule_ensure()
