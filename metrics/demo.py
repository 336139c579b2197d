"""Demo scores and snapshots: the demo accounts' scores now, and the daily snapshots of
the last weeks rebuilt from their signals and ARR history, so trends and backtests show
something on the first run.

Registered as a demo phase (`accounts.demo.register_phase`) in `MetricsConfig.ready()`;
it runs after the signals phase (INSTALLED_APPS order).
"""

from collections import Counter
from datetime import date, timedelta

from .models import AccountSnapshot
from .services import scores_recompute, snapshots_backfill, snapshots_take

# Enough days for the 30-day trends and `health_change_30d`.
HISTORY_DAYS = 35


def seed_scores(*, seed: int, today: date) -> Counter:
    result = scores_recompute(snapshot=False)
    snapshots_backfill(start=today - timedelta(days=HISTORY_DAYS), end=today - timedelta(days=1))
    snapshots_take(day=today)
    return Counter(
        {"account scores": result.scores, "account snapshots": AccountSnapshot.objects.count()}
    )
