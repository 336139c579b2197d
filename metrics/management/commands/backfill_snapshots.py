from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.services import snapshots_backfill


class Command(BaseCommand):
    help = (
        "Rebuild the daily account snapshots of past days from the signals, ARR history, "
        "deals and stage events (for a new installation). Days already there are replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="How many days back (90).")
        parser.add_argument(
            "--until", type=date.fromisoformat, help="Last day (default: yesterday, UTC)."
        )

    def handle(self, *args, days, until, **options):
        if not 1 <= days <= 1000:
            raise CommandError("--days must be from 1 to 1000.")
        end = until or timezone.now().date() - timedelta(days=1)
        start = end - timedelta(days=days - 1)
        written = snapshots_backfill(start=start, end=end)
        self.stdout.write(f"Snapshots rebuilt from {start} to {end}: {written} rows written.")
