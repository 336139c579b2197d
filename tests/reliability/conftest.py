"""Reliability tests (DESIGN §9): the product's own processes, hurt on purpose.

They are transactional (`serialized_rollback`): the spawned processes commit in their own
connections, and at the end the database is emptied and the migrations' data (teams,
sources, signal types, schedules) reloaded, so the tests after them find it as it was.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule


@pytest.fixture(autouse=True)
def only_queued_tasks(transactional_db):
    """The workers run what a test queues and nothing else: the periodic schedules the
    migrations create (evaluation, sweeps, digest, purge) are put a year off."""
    Schedule.objects.update(next_run=timezone.now() + timedelta(days=365))
