"""The demo data set that `manage.py seed_demo` loads: a realistic, deterministic account graph.

Everything is drawn from one `random.Random(seed)`, in a fixed order, so the same seed
gives the same companies, people, deals and ARR. Dates are offsets from today (the
anchor): the demo always looks current, with 24 months of ARR history ending this
month, renewals ahead and funnel events behind. Only the dates move from day to day;
names, counts and amounts depend on the seed alone.

The big tables are written with `bulk_create` (it skips model `save()` and `clean()`),
so the builder itself normalises what those would: lower-case emails, registrable
domains, IP range bounds. Persona rules then fill buying roles in one set-based pass,
exactly as they do for imported contacts.

Higher apps (signals, metrics, playbooks) add their own data after the account graph:
each registers a phase with `register_phase` in its `AppConfig.ready()`, so this lower
app never imports them. Phases run in registration order, which follows
INSTALLED_APPS, so the signals exist before the scores that read them.
"""

from collections import Counter
from collections.abc import Callable
from datetime import date

from django.utils import timezone

from .builder import DemoBuilder
from .data import DEMO_PASSWORD, DEMO_USERNAME, HISTORY_MONTHS, MIN_ACCOUNTS

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "HISTORY_MONTHS",
    "MIN_ACCOUNTS",
    "DemoBuilder",
    "register_phase",
    "seed",
]

# A phase takes keyword arguments `seed` and `today` and returns what it created, by kind.
DemoPhase = Callable[..., Counter]
PHASES: list[DemoPhase] = []


def register_phase(phase: DemoPhase) -> DemoPhase:
    """Add a phase that runs after the account graph is loaded (idempotent per function)."""
    if phase not in PHASES:
        PHASES.append(phase)
    return phase


def seed(*, seed: int = 42, accounts: int = 300, today: date | None = None) -> Counter:
    """Load the demo data set; returns what was created, by kind."""
    today = today or timezone.localdate()
    counts = DemoBuilder(seed=seed, accounts=accounts, today=today).build()
    for phase in PHASES:
        counts.update(phase(seed=seed, today=today))
    return counts
