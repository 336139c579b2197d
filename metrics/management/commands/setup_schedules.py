from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.models import Schedule

# name, task, minutes (a setting), what it does
SCHEDULES = [
    (
        "metrics.scores_recompute",
        "metrics.tasks.scores_recompute",
        "ABX_SCORES_MINUTES",
        "Recompute every account's scores and today's snapshot.",
    ),
]


class Command(BaseCommand):
    help = (
        "Create or update the background schedules of the measurement layer (score "
        "recompute every ABX_SCORES_MINUTES). Safe to run again: it never duplicates one."
    )

    def handle(self, *args, **options):
        for name, func, setting, _ in SCHEDULES:
            minutes = getattr(settings, setting)
            _, created = Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": Schedule.MINUTES,
                    "minutes": minutes,
                    "repeats": -1,
                },
            )
            verb = "Created" if created else "Updated"
            self.stdout.write(f"{verb} schedule {name}: every {minutes} minutes.")
