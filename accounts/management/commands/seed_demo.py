"""`manage.py seed_demo`: load the demo data set (see accounts/demo/ for what it holds)."""

import time

from django.core.management.base import BaseCommand, CommandError

from accounts import demo
from accounts.models import Account


class Command(BaseCommand):
    help = (
        "Load a realistic, deterministic demo data set: tiers, persona rules, partners, "
        "staff users, accounts with domains, contacts, deals and 24 months of ARR. "
        "Dates are offsets from today; everything else depends on --seed only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--accounts",
            type=int,
            default=300,
            help=f"How many accounts to create (default 300, at least {demo.MIN_ACCOUNTS}).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds accounts (used by `make run`).",
        )

    def handle(self, *args, seed, accounts, if_empty, **options):
        if Account.objects.exists():
            if if_empty:
                self.stdout.write("Accounts already exist: the demo data was not loaded.")
                return
            # The demo's domains, emails and identifiers would collide with a second copy.
            raise CommandError(
                "The database already holds accounts; the demo loads into an empty account "
                "graph. Use --if-empty to skip quietly."
            )
        if accounts < demo.MIN_ACCOUNTS:
            raise CommandError(f"--accounts must be at least {demo.MIN_ACCOUNTS}.")
        started = time.monotonic()
        counts = demo.seed(seed=seed, accounts=accounts)
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{count} {label}" for label, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded (seed {seed}) in {elapsed:.1f}s: {summary}.")
        )
        self.stdout.write(f"Log in as {demo.DEMO_USERNAME} / {demo.DEMO_PASSWORD}.")
