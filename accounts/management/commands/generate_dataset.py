import time
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.dataset import PRESETS, generate


class Command(BaseCommand):
    help = (
        "Load a large, reproducible data set into an empty database, for measuring "
        "(DESIGN §10). Defaults: 100,000 accounts, 300,000 contacts, 2,000,000 signals "
        "over 180 days, 20,000 deals, 24 months of ARR for 10,000 customers. "
        "--preset dense: 10,000 accounts with 5,000,000 signals."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default="default",
            help="Start from these sizes; the options below override them.",
        )
        parser.add_argument("--dense", action="store_true", help="Same as --preset dense.")
        parser.add_argument("--accounts", type=int)
        parser.add_argument("--contacts", type=int)
        parser.add_argument("--signals", type=int)
        parser.add_argument("--days", type=int, help="Signals spread over this many days.")
        parser.add_argument("--deals", type=int)
        parser.add_argument("--arr-customers", type=int, help="Customers with ARR history.")
        parser.add_argument("--arr-months", type=int, help="Months of ARR history.")
        parser.add_argument("--playbooks", type=int, help="Active playbooks.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data set.")

    def handle(self, *args, preset, dense, seed, **options):
        self.verbosity = options["verbosity"]
        sizes = PRESETS["dense" if dense else preset]
        overrides = {
            name: options[name]
            for name in (
                "accounts",
                "contacts",
                "signals",
                "days",
                "deals",
                "arr_customers",
                "arr_months",
                "playbooks",
            )
            if options.get(name) is not None
        }
        for name, value in overrides.items():
            if value < 0 or (name in ("days", "arr_months") and value < 1):
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        sizes = replace(sizes, **overrides)
        if sizes.arr_customers > sizes.accounts:
            raise CommandError("--arr-customers cannot exceed --accounts.")
        started = time.perf_counter()
        try:
            counts = generate(sizes=sizes, seed=seed, log=self._log)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._analyze()
        elapsed = time.perf_counter() - started
        for kind, count in counts.items():
            self.stdout.write(f"  {kind}: {count:,}")
        self.stdout.write(self.style.SUCCESS(f"Data set (seed {seed}) loaded in {elapsed:.1f} s."))

    def _log(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"  {message}")

    def _analyze(self) -> None:
        """Fresh planner statistics, so the first queries on the new rows use the indexes."""
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self._log(f"analyze: {time.perf_counter() - started:.1f} s")
