"""`manage.py setup_playbook_schedules`: the periodic evaluation, every
ABX_EVALUATION_MINUTES (idempotent: run it after changing the setting)."""

from django.core.management.base import BaseCommand

from playbooks.schedules import evaluation_schedule_ensure


class Command(BaseCommand):
    help = "Create or update the schedule that evaluates playbooks every ABX_EVALUATION_MINUTES."

    def handle(self, *args, **options):
        schedule, created = evaluation_schedule_ensure()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} '{schedule.name}': every {schedule.minutes} minute(s).")
