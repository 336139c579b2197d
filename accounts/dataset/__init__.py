"""Large, reproducible data sets for measuring the app (`manage.py generate_dataset`, DESIGN §10).

Unlike the demo (`accounts.demo`: a few hundred accounts worth reading), a data set is
about size and shape: 100,000 accounts with heavy-tailed activity, 300,000 contacts,
millions of signals. Everything is drawn from `random.Random(seed)` in a fixed order, so
a seed always gives the same rows; times are offsets from the hour the run starts, so a
data set always looks current (its "last 30 days" are full).

Speed comes from the bulk path (`abx_site.common.bulk`: `COPY` on PostgreSQL, large
`executemany` batches in one transaction on SQLite) with ids given explicitly, so that
later tables can point at earlier rows without reading them back. The builder writes
what `save()`/`clean()` would have normalised (lower-case emails, registrable domains,
buying roles from the persona rules) itself.

Higher apps add their tables the way they add demo data: a phase registered with
`register_phase` in their `AppConfig.ready()` receives the `Dataset` (sizes, the seed,
the accounts as planned) after the account graph is loaded. Phases run in registration
order, which follows INSTALLED_APPS (signals before the scores that read them).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .graph import Dataset, build_graph

__all__ = ["PRESETS", "Dataset", "Sizes", "generate", "register_phase"]


@dataclass(frozen=True)
class Sizes:
    """How much of each thing a data set holds."""

    accounts: int = 100_000
    contacts: int = 300_000
    signals: int = 2_000_000
    days: int = 180
    deals: int = 20_000
    arr_customers: int = 10_000
    arr_months: int = 24
    playbooks: int = 50


PRESETS = {
    # DESIGN §10's bench size.
    "default": Sizes(),
    # Few accounts, many signals each: where rollups matter.
    "dense": Sizes(
        accounts=10_000,
        contacts=30_000,
        signals=5_000_000,
        deals=2_000,
        arr_customers=1_000,
    ),
    "small": Sizes(
        accounts=10_000,
        contacts=30_000,
        signals=200_000,
        deals=2_000,
        arr_customers=1_000,
    ),
    # The smoke test's size: every table, in a second or two.
    "tiny": Sizes(
        accounts=300, contacts=900, signals=6_000, days=60, deals=60, arr_customers=30, playbooks=9
    ),
}

# A phase takes the `Dataset` and returns what it created, by kind.
DatasetPhase = Callable[[Dataset], Counter]
PHASES: list[DatasetPhase] = []


def register_phase(phase: DatasetPhase) -> DatasetPhase:
    """Add a phase that runs after the account graph is loaded (idempotent per function)."""
    if phase not in PHASES:
        PHASES.append(phase)
    return phase


def generate(*, sizes: Sizes, seed: int = 1, log: Callable[[str], None] | None = None) -> Counter:
    """Load a data set of these sizes into an empty database; returns the rows by kind.

    Each part commits on its own, so a large load never holds SQLite's write lock for
    the whole run. Raises ValueError when accounts already exist: the generated domains,
    emails and identifiers would collide with theirs.
    """
    dataset = build_graph(sizes=sizes, seed=seed, log=log)
    counts = Counter(dataset.counts)
    for phase in PHASES:
        counts.update(phase(dataset))
    return counts
