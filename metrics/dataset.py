"""The scores of a generated data set (`manage.py generate_dataset`, DESIGN §10).

Registered as a data set phase in `MetricsConfig.ready()`, after the signals: every
account's four scores computed from the generated signals and ARR, and today's snapshot,
so that playbooks conditioned on scores and bands match what they would in production.
"""

from collections import Counter

from .models import AccountSnapshot
from .services import scores_recompute


def scores_phase(dataset) -> Counter:
    result = scores_recompute()
    return Counter(
        {"account scores": result.scores, "account snapshots": AccountSnapshot.objects.count()}
    )
