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

Later parts of the product (signals, scores, playbooks, tasks) add their own phases to
`DemoBuilder.build()`.
"""

from collections import Counter
from datetime import date

from .builder import DemoBuilder
from .data import DEMO_PASSWORD, DEMO_USERNAME, HISTORY_MONTHS, MIN_ACCOUNTS

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "HISTORY_MONTHS",
    "MIN_ACCOUNTS",
    "DemoBuilder",
    "seed",
]


def seed(*, seed: int = 42, accounts: int = 300, today: date | None = None) -> Counter:
    """Load the demo data set; returns what was created, by kind."""
    return DemoBuilder(seed=seed, accounts=accounts, today=today).build()
