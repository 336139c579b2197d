"""The periodic evaluation schedule (django-q2), kept in step with the settings.

`evaluation_schedule_ensure` runs after every `migrate` (post_migrate) and from
`manage.py setup_playbook_schedules`, so the interval follows `ABX_EVALUATION_MINUTES`
without a migration per value.
"""

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

EVALUATION_SCHEDULE = "abx-evaluate-playbooks"


def evaluation_schedule_ensure() -> tuple[Schedule, bool]:
    minutes = max(1, int(settings.ABX_EVALUATION_MINUTES))
    schedule = Schedule.objects.filter(name=EVALUATION_SCHEDULE).first()
    if schedule is None:
        schedule = Schedule.objects.create(
            name=EVALUATION_SCHEDULE,
            func="playbooks.tasks.evaluation_task",
            schedule_type=Schedule.MINUTES,
            minutes=minutes,
            repeats=-1,
            next_run=timezone.now(),
        )
        return schedule, True
    if schedule.minutes != minutes or schedule.func != "playbooks.tasks.evaluation_task":
        schedule.minutes = minutes
        schedule.func = "playbooks.tasks.evaluation_task"
        schedule.schedule_type = Schedule.MINUTES
        schedule.save(update_fields=["minutes", "func", "schedule_type"])
    return schedule, False


def ensure_after_migrate(sender, **kwargs) -> None:
    if sender.name == "playbooks":
        evaluation_schedule_ensure()
