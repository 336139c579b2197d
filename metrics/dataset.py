"""The scores of a generated data set (`manage.py generate_dataset`, DESIGN §10).

Registered as a data set phase in `MetricsConfig.ready()`, after the signals: every
account's four scores computed from the generated signals and ARR, and today's snapshot,
so that playbooks conditioned on scores and bands match what they would in production.
"""

from collections import Counter

from django.db import connection

from .models import AccountSnapshot
from .services import scores_recompute


def scores_phase(dataset) -> Counter:
    # The earlier phases loaded every table in bulk: without statistics PostgreSQL's
    # planner takes them for nearly empty and would nest loops over a million signals.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result = scores_recompute()
    return Counter(
        {"account scores": result.scores, "account snapshots": AccountSnapshot.objects.count()}
    )
